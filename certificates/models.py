"""Certificates issued by the Certbank CA, where they are registered, the
per-bank certificate-login lock, and signing challenges."""

import base64

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CertificateQuerySet(models.QuerySet):
    """Expiry is derived from not_after, never flipped by a job (STYLE.md)."""

    def current(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Certificate.Status.VALID, not_before__lte=now, not_after__gt=now)

    def expired(self, now=None):
        return self.filter(not_after__lte=now or timezone.now())


class Certificate(models.Model):
    class Kind(models.TextChoices):
        JOINT = "joint", _("공동인증서")
        FINANCIAL = "financial", _("금융인증서")

    class Status(models.TextChoices):
        VALID = "valid", _("유효")
        SUSPENDED = "suspended", _("효력정지")
        REVOKED = "revoked", _("폐기")

    class RevocationReason(models.TextChoices):
        # RFC 5280 §5.3.1 CRLReason names.
        UNSPECIFIED = "unspecified", _("사유 없음")
        KEY_COMPROMISE = "key_compromise", _("분실·유출")
        SUPERSEDED = "superseded", _("갱신·재발급")
        CESSATION_OF_OPERATION = "cessation_of_operation", _("해지")
        CERTIFICATE_HOLD = "certificate_hold", _("효력정지")

    serial = models.CharField(_("일련번호"), max_length=40, unique=True)  # lower-case hex
    kind = models.CharField(_("구분"), max_length=10, choices=Kind.choices)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("발급 고객"),
        on_delete=models.PROTECT,
        related_name="issued_certificates",
    )
    # The person across banks (keyed digest of the RRN, as Customer.rrn_index).
    person_index = models.CharField(max_length=64, db_index=True, editable=False)
    issuing_bank = models.ForeignKey("core.Bank", verbose_name=_("발급 은행"), on_delete=models.PROTECT)
    subject = models.CharField(_("주체"), max_length=255)
    der = models.BinaryField(editable=False)
    fingerprint = models.CharField(_("지문(SHA-256)"), max_length=64, unique=True)
    not_before = models.DateTimeField(_("유효기간 시작"))
    not_after = models.DateTimeField(_("만료일시"), db_index=True)
    status = models.CharField(_("상태"), max_length=10, choices=Status.choices, default=Status.VALID)
    status_changed_at = models.DateTimeField(_("상태 변경 일시"), null=True, blank=True)
    revocation_reason = models.CharField(_("폐기·정지 사유"), max_length=30, choices=RevocationReason.choices, blank=True)
    revoked_at = models.DateTimeField(_("폐기 일시"), null=True, blank=True)
    created_at = models.DateTimeField(_("발급일시"), default=timezone.now)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("인증서")
        verbose_name_plural = _("인증서")
        ordering = ["-created_at", "-id"]
        # Staff roles (Django groups): 창구 직원 (teller) may suspend and
        # restore; 보안 책임자 (security officer) may also revoke.
        permissions = [
            ("suspend_certificate", _("인증서 효력정지·효력회복")),
            ("revoke_certificate", _("인증서 폐기")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="revoked") | Q(revoked_at__isnull=False), name="revoked_certificate_has_time"
            ),
            models.CheckConstraint(condition=Q(not_after__gt=models.F("not_before")), name="certificate_validity_order"),
            # DESIGN.md §2, held by the database whatever the code does: at most
            # one 공동인증서 not yet revoked (valid or suspended, expired or not)
            # per customer per issuing bank, and one 금융인증서 per person.
            models.UniqueConstraint(
                fields=["holder", "issuing_bank"],
                condition=Q(kind="joint", status__in=["valid", "suspended"]),
                name="one_live_joint_certificate_per_holder_bank",
                violation_error_message=_("이 은행에 이미 유효하거나 효력정지된 공동인증서가 있습니다."),
            ),
            models.UniqueConstraint(
                fields=["person_index"],
                condition=Q(kind="financial", status__in=["valid", "suspended"]),
                name="one_live_financial_certificate_per_person",
                violation_error_message=_("이미 유효하거나 효력정지된 금융인증서가 있습니다."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.subject}"

    @property
    def common_name(self) -> str:
        first = self.subject.split(",", 1)[0]
        return first.split("=", 1)[1] if "=" in first else first

    @property
    def holder_name(self) -> str:
        return self.common_name.split("()", 1)[0]

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.not_after


class CertificateRegistration(models.Model):
    """A certificate usable at a bank for one of that bank's customers.

    The issuing bank registers it at issuance; other banks after 타행/타기관
    인증서 등록 (a later issue)."""

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="registrations")
    bank = models.ForeignKey("core.Bank", verbose_name=_("은행"), on_delete=models.PROTECT)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("고객"), on_delete=models.PROTECT)
    registered_at = models.DateTimeField(_("등록일시"), default=timezone.now)

    class Meta:
        verbose_name = _("인증서 등록")
        verbose_name_plural = _("인증서 등록")
        constraints = [
            models.UniqueConstraint(fields=["certificate", "bank"], name="certificate_registered_once_per_bank"),
        ]

    def __str__(self):
        return f"{self.certificate.serial} @ {self.bank.code}"


class Challenge(models.Model):
    """Bytes the server asks a certificate holder to sign, once.

    Bound to a bank, a purpose and the session that asked for it; expires
    after CERTBANK_CHALLENGE_SECONDS. Consumed by a conditional UPDATE that
    only one request can win (certificates.challenges.challenge_consume).
    """

    class Purpose(models.TextChoices):
        LOGIN = "login", _("로그인")
        ISSUE = "issue", _("인증서 발급")
        RENEW = "renew", _("인증서 갱신")
        REGISTER = "register", _("타행/타기관 인증서 등록")
        TRANSFER = "transfer", _("계좌이체")

    token = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    bank = models.ForeignKey("core.Bank", on_delete=models.PROTECT)
    # SHA-256 of the session key: a database reader learns no live session.
    session_digest = models.CharField(max_length=64)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    to_sign = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("서명 요청")
        verbose_name_plural = _("서명 요청")
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.token[:8]}…"


class CrlPublication(models.Model):
    """Each CRL the issuing CA signed (RFC 5280 §5.2.3: the CRL number only grows)."""

    number = models.PositiveBigIntegerField(_("CRL 번호"), unique=True)
    this_update = models.DateTimeField(_("발행 일시"))
    next_update = models.DateTimeField(_("다음 발행 예정"))
    der = models.BinaryField(editable=False)
    entries = models.PositiveIntegerField(_("폐기 목록 수"), default=0)

    class Meta:
        verbose_name = _("인증서 폐기 목록(CRL)")
        verbose_name_plural = _("인증서 폐기 목록(CRL)")
        ordering = ["-number"]

    def __str__(self):
        return f"CRL #{self.number} {self.this_update:%Y-%m-%d %H:%M}"


class ExpiryNotice(models.Model):
    """One expiry notice sent for a certificate (30, 7 or 1 days before):
    the unique constraint makes the hourly job idempotent."""

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="expiry_notices")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("만료 안내")
        verbose_name_plural = _("만료 안내")
        constraints = [
            models.UniqueConstraint(fields=["certificate", "days_before"], name="one_expiry_notice_per_step"),
        ]

    def __str__(self):
        return f"{self.certificate.serial} D-{self.days_before}"


class CloudDevice(models.Model):
    """A browser registered (이용기기 등록) to reach one person's 금융인증서 cloud.

    The cloud belongs to the person (keyed RRN digest, as Certificate.person_index),
    not to one bank's login: a device registered through any bank reaches the
    person's 금융인증서 at every bank. At most CERTBANK_CLOUD_MAX_DEVICES each.
    """

    person_index = models.CharField(max_length=64, db_index=True, editable=False)
    # SHA-256 of the browser's device token (accounts.device): a dump names no live device.
    device_digest = models.CharField(max_length=64, editable=False)
    label = models.CharField(_("기기"), max_length=100)
    registered_through = models.ForeignKey("core.Bank", verbose_name=_("등록 은행"), on_delete=models.PROTECT)
    registered_at = models.DateTimeField(_("등록일시"), default=timezone.now)
    last_used_at = models.DateTimeField(_("최근 이용일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("금융인증서 이용기기")
        verbose_name_plural = _("금융인증서 이용기기")
        ordering = ["registered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person_index", "device_digest"], name="cloud_device_once_per_person"),
        ]

    def __str__(self):
        return f"{self.label} ({self.registered_at:%Y-%m-%d})"


class CloudKey(models.Model):
    """The cloud-kept private key of one 금융인증서 (DESIGN.md "Cloud certificate").

    `wrapped_key` is what the browser made: the PKCS#8 key (with R) under
    AES-GCM whose key is derived from the PIN *and* the per-certificate
    server secret. That secret is stored only sealed (AES-GCM under
    CERTBANK_FIELD_KEY, bound to the serial), and the PIN only as a keyed
    digest of the browser's PBKDF2 verifier. A database dump therefore holds
    neither the secret nor anything to test PIN guesses against.
    """

    certificate = models.OneToOneField(Certificate, on_delete=models.PROTECT, related_name="cloud_key")
    wrapped_key = models.BinaryField(editable=False)
    wrap_salt = models.BinaryField(editable=False)
    verifier_salt = models.BinaryField(editable=False)
    verifier_digest = models.CharField(max_length=64, editable=False)
    sealed_secret = models.TextField(editable=False)
    iterations = models.PositiveIntegerField()
    failed_pins = models.PositiveSmallIntegerField(_("연속 PIN 오류"), default=0)
    locked_at = models.DateTimeField(_("잠금 일시"), null=True, blank=True)
    updated_at = models.DateTimeField(_("변경 일시"), default=timezone.now)

    class Meta:
        verbose_name = _("금융인증서 클라우드 키")
        verbose_name_plural = _("금융인증서 클라우드 키")

    def __str__(self):
        return f"cloud key {self.certificate.serial}"

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

    @property
    def verifier_salt_b64(self) -> str:
        """The salt the browser needs to derive the PIN verifier (not a secret)."""
        return base64.b64encode(bytes(self.verifier_salt)).decode("ascii")


class CopySession(models.Model):
    """인증서 복사: a short-lived relay between two devices (DESIGN.md §3 "Device copy").

    Protocol v2 (certificates/services/copy.py explains why in this order):
    the receiving device opens it with a commitment to its ECDH P-256 public
    key and shows the token (as a QR link) and the number; the sending device
    joins with its own public key; the receiver then reveals the key it
    committed to; both show a confirmation code, and only after the person has
    compared them does the sender upload the certificate and its key file
    sealed for the receiver (AES-GCM); the receiver downloads once. The server
    never holds anything usable: the relay blob is end-to-end encrypted, and
    the key inside it is still encrypted under the certificate password. The
    ciphertext is emptied on download, expiry or cancellation.
    """

    token = models.CharField(max_length=64, unique=True)
    # 8 digits, shown as "1234 5678". Unique across all rows (expired rows are
    # purged), so a number names exactly one live session.
    number = models.CharField(max_length=8, unique=True)
    bank = models.ForeignKey("core.Bank", on_delete=models.PROTECT)
    # SHA-256 of the receiver's session key (as Challenge.session_digest).
    receiver_session_digest = models.CharField(max_length=64)
    # SHA-256("certbank-copy-commit-v1" || 0x00 || receiver_public_key), 32 bytes, from the start.
    receiver_commitment = models.BinaryField(editable=False, default=b"")
    # Raw uncompressed P-256 points, 65 bytes: the sender's from the join, the
    # receiver's only from the reveal (it must match the commitment).
    receiver_public_key = models.BinaryField(editable=False, default=b"")
    sender_public_key = models.BinaryField(editable=False, default=b"")
    # SHA-256 of the session key of the browser that joined (only it may read the reveal and upload).
    sender_session_digest = models.CharField(max_length=64, default="", blank=True)
    ciphertext = models.BinaryField(editable=False, default=b"")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    joined_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("인증서 복사")
        verbose_name_plural = _("인증서 복사")
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            # The steps happen in order: join, reveal, upload, download.
            models.CheckConstraint(
                condition=Q(revealed_at__isnull=True) | Q(joined_at__isnull=False), name="copy_reveal_after_join"
            ),
            models.CheckConstraint(
                condition=Q(uploaded_at__isnull=True) | Q(revealed_at__isnull=False), name="copy_upload_after_reveal"
            ),
            models.CheckConstraint(
                condition=Q(downloaded_at__isnull=True) | Q(uploaded_at__isnull=False), name="copy_download_after_upload"
            ),
        ]

    def __str__(self):
        return f"{self.number[:4]} {self.number[4:]}"

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class CopyClientCounter(models.Model):
    """인증서 복사 events counted per client network (an IPv4 address, an IPv6
    /64) in a fixed window: wrong numbers, and sessions opened. Kept in the
    database so that every web worker sees the same count, and a fresh
    cookie does not reset it (the per-browser-session count lives in the
    Django session as well)."""

    class Kind(models.TextChoices):
        LOOKUP_FAILURE = "lookup_failure", _("인증번호 오류")
        OPEN = "open", _("복사 시작")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    client = models.CharField(max_length=64)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("인증서 복사 횟수 제한")
        verbose_name_plural = _("인증서 복사 횟수 제한")
        constraints = [models.UniqueConstraint(fields=["kind", "client"], name="copy_counter_once_per_client")]
        indexes = [models.Index(fields=["window_started_at"])]

    def __str__(self):
        return f"{self.kind} {self.client}: {self.count}"
