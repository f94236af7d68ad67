from django.core.management.base import BaseCommand

from certificates.services import copy_sessions_purge


class Command(BaseCommand):
    help = "Delete expired 인증서 복사 sessions and their relay ciphertext (run from cron every few minutes)."

    def handle(self, *args, **options):
        deleted = copy_sessions_purge()
        self.stdout.write(f"purged {deleted} expired copy session(s)")
