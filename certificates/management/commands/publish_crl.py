from django.core.management.base import BaseCommand

from certificates import ca


class Command(BaseCommand):
    help = "Sign and publish a new CRL of the issuing CA (run from cron, more often than CERTBANK_CRL_VALIDITY_HOURS)."

    def handle(self, *args, **options):
        publication = ca.crl_publish()
        self.stdout.write(
            f"CRL #{publication.number}: {publication.entries} entries, next update {publication.next_update:%Y-%m-%dT%H:%M:%SZ}"
        )
