"""Chain the audit rows committed but not sealed yet (cron, every minute).

Every audited change seals after its commit; this is the backstop for a
process that died between its commit and its seal."""

from django.core.management.base import BaseCommand

from audit.services import audit_seal, audit_unsealed_tail


class Command(BaseCommand):
    help = "커밋되었으나 아직 봉인되지 않은 감사 기록을 해시 체인에 잇습니다."

    def handle(self, *args, **options):
        sealed = audit_seal()
        # What is left was committed just now, or is refused by the sealer (its
        # own digest fails): verify_audit_log tells them apart.
        self.stdout.write(f"봉인 {sealed}건, 남은 봉인 대기 {audit_unsealed_tail().count}건")
