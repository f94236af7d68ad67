"""Walk the audit log's hash chain and report the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "감사 기록의 해시 체인을 검증하고 첫 번째 끊어진 연결을 보고합니다."

    def handle(self, *args, **options):
        ok, checked, first_break = audit_chain_verify()
        if not ok:
            ident = first_break["id"] if first_break["id"] is not None else "없음"
            raise CommandError(f"첫 번째 끊어진 연결: 순번 {first_break['sequence']} (id {ident}): {first_break['message']}")
        self.stdout.write(self.style.SUCCESS(f"감사 기록 {checked}건 검증 완료: 이상 없음"))
