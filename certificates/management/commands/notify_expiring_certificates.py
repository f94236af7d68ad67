from django.core.management.base import BaseCommand

from certificates.services import expiry_notices_send


class Command(BaseCommand):
    help = "Send certificate expiry notices 30, 7 and 1 days before expiry (idempotent; run hourly from cron)."

    def handle(self, *args, **options):
        sent = expiry_notices_send()
        self.stdout.write(f"만료 안내 {sent}건 발송")
