import time

from django.core.management.base import BaseCommand, CommandError

from flows.generate import generate


class Command(BaseCommand):
    help = (
        "Build a large bank for measuring: customers with an account each and ledger rows "
        "(default 100,000 and 1,000,000), balances equal to ledgers (flows/generate.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--ledger-rows", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument("--deep", type=int, default=8, help="customers with long histories (the first ones made)")
        parser.add_argument("--deep-share", type=float, default=0.2, help="share of the transfers a deep customer sends")
        parser.add_argument("--password", default="", help="lets the deep customers log in with this password")
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            summary = self._generate(options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self._report(summary, started)

    def _generate(self, options):
        return generate(
            customers=options["customers"],
            ledger_rows=options["ledger_rows"],
            seed=options["seed"],
            deep=options["deep"],
            deep_share=options["deep_share"],
            password=options["password"],
            days=options["days"],
            progress=self.stdout.write,
        )

    def _report(self, summary, started):
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.customers:,} customers, {summary.ledger_rows:,} ledger rows, {summary.transfers:,} transfers "
                f"in {time.perf_counter() - started:.0f} s; balances equal ledgers on all {summary.balances_checked:,} "
                "accounts touched"
            )
        )
        if summary.deep_login_ids:
            self.stdout.write("deep histories: " + " ".join(summary.deep_login_ids))
