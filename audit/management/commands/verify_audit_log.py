"""Walk the audit log's hash chain and report the first broken link, and the rows waiting to be sealed."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify, audit_unsealed_tail


class Command(BaseCommand):
    help = "감사 기록의 해시 체인을 검증하고 첫 번째 끊어진 연결과 봉인 대기 기록을 보고합니다."

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-unsealed-age",
            type=float,
            default=300.0,
            help="봉인 대기 기록이 이보다 오래되면(초) 실패로 보고합니다 (기본 300).",
        )

    def handle(self, *args, **options):
        ok, checked, first_break = audit_chain_verify()
        if not ok:
            ident = first_break["id"] if first_break["id"] is not None else "없음"
            raise CommandError(f"첫 번째 끊어진 연결: 순번 {first_break['sequence']} (id {ident}): {first_break['message']}")
        tail = audit_unsealed_tail()
        age = tail.age_seconds()
        if tail.count and age > options["max_unsealed_age"]:
            raise CommandError(
                f"봉인 대기 기록 {tail.count}건 중 가장 오래된 것이 {age:.0f}초 전 기록입니다 "
                f"(허용 {options['max_unsealed_age']:.0f}초): manage.py seal_audit_log 가 돌고 있는지 확인하세요."
            )
        self.stdout.write(self.style.SUCCESS(f"감사 기록 {checked}건 검증 완료: 이상 없음"))
        self.stdout.write(f"봉인 대기 {tail.count}건" + (f", 가장 오래된 것 {age:.1f}초 전" if tail.count else ""))
