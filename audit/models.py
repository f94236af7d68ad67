"""The audit log: one row for every security or money event.

Rows are written by `audit.services.audit_record` inside the same
transaction as the change they describe, and never updated or deleted,
except that the sealer fills in a row's place in the chain once.

The log is append-only and hash-chained, without a lock in the request
path (issue 13):

- a writer appends its row with a random nonce and the row's own keyed
  digest (HMAC-SHA256 under CERTBANK_INDEX_KEY), and takes no lock;
- after commit, a sealer (`audit.services.audit_seal`, one at a time,
  never waited for) gives committed unsealed rows the next sequence
  numbers and the chain hash over the row and the row before it;
- `python manage.py verify_audit_log` walks the sealed chain (an edited,
  inserted, deleted or reordered row breaks it at that point), checks each
  unsealed row's own digest, and reports the unsealed tail and its age.

The key lives outside the database, so someone who can only write the
database can neither recompute the chain after an edit nor forge a row the
sealer would accept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    SIGNUP_STARTED = "signup_started", _("가입 신청")
    SIGNUP_COMPLETED = "signup_completed", _("가입 완료")
    LOGIN_SUCCEEDED = "login_succeeded", _("로그인 성공")
    LOGIN_FAILED = "login_failed", _("로그인 실패")
    LOGIN_LOCKED = "login_locked", _("로그인 잠금")
    LOGIN_UNLOCKED = "login_unlocked", _("로그인 잠금 해제")
    LOGOUT = "logout", _("로그아웃")
    SESSION_EXPIRED = "session_expired", _("자동 로그아웃")
    PASSWORD_RESET = "password_reset", _("비밀번호 재설정")
    SMS_SENT = "sms_sent", _("SMS 인증번호 발송")
    SMS_FAILED = "sms_failed", _("SMS 인증 실패")
    OTP_ENROLLED = "otp_enrolled", _("OTP 등록")
    OTP_FAILED = "otp_failed", _("OTP 인증 실패")
    IDENTITY_VERIFIED = "identity_verified", _("본인확인 성공")
    IDENTITY_FAILED = "identity_failed", _("본인확인 실패")
    ACCOUNT_OPENED = "account_opened", _("계좌 개설")
    ACCOUNT_PIN_FAILED = "account_pin_failed", _("계좌 비밀번호 오류")
    ACCOUNT_PIN_LOCKED = "account_pin_locked", _("계좌 비밀번호 잠금")
    MONEY_MOVED = "money_moved", _("입출금")
    STAFF_UNLOCKED_LOGIN = "staff_unlocked_login", _("직원 로그인 잠금 해제")
    STAFF_EDITED_CUSTOMER = "staff_edited_customer", _("직원 고객정보 변경")
    CERTIFICATE_ISSUED = "certificate_issued", _("인증서 발급")
    CERTIFICATE_STATUS_CHANGED = "certificate_status_changed", _("인증서 상태 변경")
    CERTIFICATE_REFUSED = "certificate_refused", _("인증서·전자서명 거부")
    CERTIFICATE_LOGIN_SUCCEEDED = "certificate_login_succeeded", _("인증서 로그인 성공")
    CERTIFICATE_LOGIN_LOCKED = "certificate_login_locked", _("인증서 로그인 잠금")  # history only: nothing locks now
    CERTIFICATE_LOGIN_UNLOCKED = "certificate_login_unlocked", _("인증서 로그인 잠금 해제")  # history only: nothing locks now
    CERTIFICATE_LOGIN_ALERTED = "certificate_login_alerted", _("인증서 로그인 실패 반복 알림")
    CERTIFICATE_RENEWED = "certificate_renewed", _("인증서 갱신")
    CERTIFICATE_EXPIRY_NOTICE = "certificate_expiry_notice", _("인증서 만료 안내")
    CERTIFICATE_REGISTERED = "certificate_registered", _("타행/타기관 인증서 등록")
    CERTIFICATE_UNREGISTERED = "certificate_unregistered", _("타행/타기관 인증서 등록 해제")
    CLOUD_DEVICE_REGISTERED = "cloud_device_registered", _("금융인증서 이용기기 등록")
    CLOUD_DEVICE_REMOVED = "cloud_device_removed", _("금융인증서 이용기기 삭제")
    CLOUD_KEY_RELEASED = "cloud_key_released", _("금융인증서 이용(PIN 확인)")
    CLOUD_PIN_FAILED = "cloud_pin_failed", _("금융인증서 PIN 오류")
    CLOUD_LOCKED = "cloud_locked", _("금융인증서 잠금")
    CLOUD_PIN_CHANGED = "cloud_pin_changed", _("금융인증서 PIN 변경")
    TRANSFER_COMPLETED = "transfer_completed", _("계좌이체")
    TRANSFER_REFUSED = "transfer_refused", _("계좌이체 거절")
    TRANSFER_REPLAYED = "transfer_replayed", _("계좌이체 중복 요청(기존 이체 반환)")
    FAVOURITE_ADDED = "favourite_added", _("자주 쓰는 계좌 등록")
    FAVOURITE_REMOVED = "favourite_removed", _("자주 쓰는 계좌 삭제")
    RECIPIENT_LOOKUP_LOCKED = "recipient_lookup_locked", _("수취인 조회 제한")
    VERIFICATION_STARTED = "verification_started", _("본인확인 시작")
    VERIFICATION_USED = "verification_used", _("본인확인 사용")
    DEVICE_DESIGNATED = "device_designated", _("단말기 지정")
    DEVICE_RELEASED = "device_released", _("단말기 지정 해제")
    CERTIFICATE_COPY_OPENED = "certificate_copy_opened", _("인증서 복사 시작")
    CERTIFICATE_COPY_JOINED = "certificate_copy_joined", _("인증서 복사 보내는 기기 연결")
    CERTIFICATE_COPY_REVEALED = "certificate_copy_revealed", _("인증서 복사 확인 코드 표시")
    CERTIFICATE_COPY_REVEAL_REFUSED = "certificate_copy_reveal_refused", _("인증서 복사 키 불일치(거부)")
    CERTIFICATE_COPY_UPLOADED = "certificate_copy_uploaded", _("인증서 복사 전송")
    CERTIFICATE_COPY_DOWNLOADED = "certificate_copy_downloaded", _("인증서 복사 완료")
    CERTIFICATE_COPY_CANCELLED = "certificate_copy_cancelled", _("인증서 복사 취소")
    CERTIFICATE_COPY_LOOKUP_LOCKED = "certificate_copy_lookup_locked", _("인증서 복사 번호 입력 제한")
    CERTIFICATE_COPY_OPEN_LIMITED = "certificate_copy_open_limited", _("인증서 복사 시작 횟수 제한")
    DATA_GENERATED = "data_generated", _("측정용 데이터 생성")


# The `prev_hash` of the first row: there is no row before it.
GENESIS_HASH = "0" * 64


class AppendOnlyViolation(Exception):
    """An attempt to change or remove an audit row, or to add one outside audit_record and audit_append."""


class AuditEventQuerySet(models.QuerySet):
    # SECURITY: the audit log is append-only. These refuse the ORM's bulk
    # paths; the database itself is not stopped (a raw UPDATE still works),
    # which is what the hash chain is there to detect.
    def update(self, **kwargs):
        raise AppendOnlyViolation("audit rows are never updated")

    def delete(self):
        raise AppendOnlyViolation("audit rows are never deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyViolation("audit rows are never updated")

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.check_new()
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(models.Model):
    # Position in the hash chain: 1, 2, 3 ... without gaps, in sealing order,
    # assigned by the sealer. A missing number is a deleted row; NULL is a
    # row not sealed yet.
    sequence = models.PositiveBigIntegerField(_("순번"), unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("일시"), default=timezone.now, db_index=True)
    action = models.CharField(_("구분"), max_length=40, choices=Action.choices, db_index=True)
    bank = models.ForeignKey("core.Bank", verbose_name=_("은행"), null=True, blank=True, on_delete=models.PROTECT)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("고객"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    # The staff member who acted, when it was not the customer.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("처리 직원"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_actions",
    )
    ip_address = models.GenericIPAddressField(_("IP 주소"), null=True, blank=True)
    # Never an RRN, password, PIN or code: identifiers and reasons only.
    detail = models.JSONField(_("내용"), default=dict, blank=True)
    # Random, unique and in both digests: a copy of a row is not a new event.
    # NULL only on rows written before rows were sealed after commit.
    nonce = models.CharField(_("고유값"), max_length=32, unique=True, null=True, blank=True, editable=False)
    # Hex HMAC-SHA256 of this row's content and nonce, written with the row:
    # what the sealer checks before it chains a row ("" on the older rows).
    row_digest = models.CharField(_("기록 해시"), max_length=64, blank=True, default="")
    # Set by the sealer: the previous row's hash (GENESIS_HASH for the first)
    # and the HMAC-SHA256 of this row's content, sequence, nonce and prev_hash.
    prev_hash = models.CharField(_("이전 해시"), max_length=64, blank=True, default="")
    hash = models.CharField(_("해시"), max_length=64, blank=True, default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("감사 기록")
        verbose_name_plural = _("감사 기록")
        ordering = ["-created_at", "-id"]
        # Related-object access and Django internals go through the same
        # refusing queryset.
        base_manager_name = "objects"
        # The sealer's worklist: the few rows not chained yet.
        indexes = [models.Index(fields=["id"], condition=Q(sequence__isnull=True), name="audit_unsealed")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        self.check_new()
        super().save(*args, **kwargs)

    def check_new(self) -> None:
        """Refuse a row that audit_record (or audit_event) did not make: new, unsealed, with its own digest."""
        if not self._state.adding:
            raise AppendOnlyViolation("audit rows are never updated")
        if self.sequence is not None or self.hash or self.prev_hash or not (self.nonce and self.row_digest):
            raise AppendOnlyViolation("audit rows are added by audit.services.audit_record, unsealed")

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation("audit rows are never deleted")


class AuditChainHead(models.Model):
    """The end of the sealed audit chain: one row, locked only by the sealer.

    The sealer takes it with SKIP LOCKED (PostgreSQL): one sealer at a time,
    and no one ever waits for it; SQLite's IMMEDIATE transactions serialize
    sealers already. The head also lets the verifier notice rows cut off the
    end of the chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(_("마지막 순번"), default=0)
    hash = models.CharField(_("마지막 해시"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("감사 기록 체인 끝")
        verbose_name_plural = _("감사 기록 체인 끝")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self):
        return f"{self.sequence} {self.hash[:12]}"
