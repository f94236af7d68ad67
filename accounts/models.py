from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from django_otp.models import CooldownMixin, SideChannelDevice, ThrottlingMixin

from accounts.rrn import mask
from core import crypto
from core.phone import mask_phone

RRN_PURPOSE = "rrn"


class CustomerManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, password=None, **fields):
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("name", username)
        return self.create_user(username, password, **fields)


class Customer(AbstractBaseUser, PermissionsMixin):
    """A person with an internet-banking ID at one bank, or a staff member.

    Each bank issues its own login IDs, so `login_id` is unique per bank and
    the unique `username` is derived (`<bank code>:<login id>`). Staff have
    no bank. The same person at several banks shares `rrn_index`, a keyed
    digest of the RRN; the RRN itself is stored only encrypted.
    """

    username = models.CharField(_("사용자 이름"), max_length=40, unique=True)
    bank = models.ForeignKey(
        "core.Bank",
        verbose_name=_("은행"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    login_id = models.CharField(_("아이디"), max_length=20, blank=True)
    name = models.CharField(_("이름"), max_length=30)
    rrn_ciphertext = models.TextField(blank=True, editable=False)
    rrn_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    rrn_masked = models.CharField(_("주민등록번호"), max_length=14, blank=True, editable=False)
    phone = models.CharField(_("휴대폰 번호"), max_length=11, blank=True)
    email = models.EmailField(_("이메일"), blank=True)
    is_staff = models.BooleanField(_("직원"), default=False)
    is_active = models.BooleanField(_("사용 중"), default=True)
    date_joined = models.DateTimeField(_("가입일시"), default=timezone.now)
    signup_completed_at = models.DateTimeField(_("가입 완료 일시"), null=True, blank=True)
    failed_login_count = models.PositiveSmallIntegerField(_("연속 로그인 실패"), default=0)
    login_locked_at = models.DateTimeField(_("로그인 잠금 일시"), null=True, blank=True)
    identity_failed_count = models.PositiveSmallIntegerField(_("연속 본인확인 실패"), default=0)
    identity_locked_at = models.DateTimeField(_("본인확인 잠금 일시"), null=True, blank=True)

    objects = CustomerManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("고객")
        verbose_name_plural = _("고객")
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "login_id"], condition=Q(bank__isnull=False), name="login_id_unique_per_bank"
            ),
            models.UniqueConstraint(
                fields=["bank", "rrn_index"],
                condition=Q(bank__isnull=False) & ~Q(rrn_index=""),
                name="one_customer_per_person_per_bank",
            ),
            models.CheckConstraint(condition=Q(is_staff=True) | Q(bank__isnull=False), name="customer_has_bank"),
        ]

    def __str__(self):
        if self.bank_id:
            return f"{self.name} ({self.login_id})"
        return self.username

    @staticmethod
    def username_for(bank, login_id: str) -> str:
        return f"{bank.code}:{login_id}"

    @staticmethod
    def rrn_index_for(digits: str) -> str:
        """The keyed digest an RRN is found by (across banks), never the RRN itself."""
        return crypto.keyed_digest(digits, purpose=RRN_PURPOSE)

    def set_rrn(self, digits: str) -> None:
        self.rrn_ciphertext = crypto.encrypt_field(digits, purpose=RRN_PURPOSE)
        self.rrn_index = self.rrn_index_for(digits)
        self.rrn_masked = mask(digits)

    def rrn_matches(self, digits: str) -> bool:
        if not self.rrn_index:
            return False
        return crypto.digests_match(self.rrn_index, self.rrn_index_for(digits))

    def decrypted_rrn(self) -> str:
        """The plain RRN, for the rare flow that needs it (VID in certificates)."""
        return crypto.decrypt_field(self.rrn_ciphertext, purpose=RRN_PURPOSE)

    @property
    def login_locked(self) -> bool:
        return self.login_locked_at is not None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class PhoneDevice(ThrottlingMixin, CooldownMixin, SideChannelDevice):
    """The customer's mobile phone as a django-otp side-channel device.

    A 6-digit code is sent by SMS; it expires, is single use and is compared
    in constant time. Wrong codes are counted (`throttling_failure_count`)
    and after CERTBANK_SMS_MAX_FAILURES the code is discarded, so that a new
    one must be requested (accounts.services.sms_code_verify). There is no
    wait between tries: a mistyped code followed by the right one passes.
    """

    number = models.CharField(_("휴대폰 번호"), max_length=11)
    # What the current code was sent for (a verification grant, sign-up, a
    # transfer): it completes only that, never another flow or session.
    bound_to = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("휴대폰 인증 장치")
        verbose_name_plural = _("휴대폰 인증 장치")

    def get_throttle_factor(self):
        return 0  # the count discards the code; no exponential wait (django-otp's default)

    def get_cooldown_duration(self):
        return settings.CERTBANK_SMS_RESEND_COOLDOWN

    def code_usable(self, now) -> bool:
        return bool(self.token) and self.valid_until is not None and now < self.valid_until

    def code_matches(self, code: str) -> bool:
        # SECURITY: constant-time comparison; django-otp's base class uses ==.
        return bool(self.token) and constant_time_compare(str(code), self.token)


class DesignatedDevice(models.Model):
    """단말기 지정: a browser the customer designated for transfers (at most
    CERTBANK_DESIGNATED_DEVICES_MAX). Transfers of 3,000,000원 or more a day
    from any other device need the extra SMS check (DESIGN.md §1).

    Only the digest of the device token is kept (accounts.device)."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("고객"), on_delete=models.CASCADE, related_name="designated_devices"
    )
    token_digest = models.CharField(max_length=64, editable=False)
    name = models.CharField(_("단말기 이름"), max_length=40)
    created_at = models.DateTimeField(_("지정일시"), default=timezone.now)

    class Meta:
        verbose_name = _("지정 단말기")
        verbose_name_plural = _("지정 단말기")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "token_digest"], name="device_designated_once_per_customer"),
        ]

    def __str__(self):
        return self.name


class VerificationGrant(models.Model):
    """A step-up verification (본인확인, OTP, SMS) for one purpose: a proof that
    the service needing it consumes once (accounts.verification).

    Who: the customer the verified identity is (for flows that start logged
    out, found by the bank and the RRN the person typed), with the person's
    keyed RRN digest. Each factor that passed has its time; the grant expires
    after CERTBANK_VERIFICATION_MINUTES and is bound to the browser session
    that made it. `consumed_at` is set by a conditional UPDATE in the same
    transaction as the change the grant allowed.
    """

    class Purpose(models.TextChoices):
        ISSUE = "issue", _("인증서 발급·재발급")
        REVOKE = "revoke", _("인증서 폐기")
        RESTORE = "restore", _("인증서 효력회복")
        REGISTER = "register", _("타행/타기관 인증서 등록")
        CLOUD_DEVICE = "cloud_device", _("금융인증서 이용기기 등록")
        UNLOCK = "unlock", _("비밀번호 재설정·잠금 해제")
        DESIGNATE = "designate", _("단말기 지정")

    token = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(_("용도"), max_length=20, choices=Purpose.choices)
    bank = models.ForeignKey("core.Bank", verbose_name=_("은행"), on_delete=models.PROTECT)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("고객"), on_delete=models.PROTECT, related_name="verification_grants"
    )
    person_index = models.CharField(max_length=64, editable=False)
    # SHA-256 of the browser session's key: a database reader learns no live session.
    session_digest = models.CharField(max_length=64, editable=False)
    # What the flow chose before verifying (certificate kind, reissue reason, serial).
    detail = models.JSONField(_("내용"), default=dict, blank=True)
    login_at = models.DateTimeField(_("로그인 세션"), null=True, blank=True)
    identity_at = models.DateTimeField(_("본인확인(주민등록번호·계좌)"), null=True, blank=True)
    account_pin_at = models.DateTimeField(_("계좌 비밀번호"), null=True, blank=True)
    otp_at = models.DateTimeField(_("OTP"), null=True, blank=True)
    sms_at = models.DateTimeField(_("휴대폰 인증"), null=True, blank=True)
    created_at = models.DateTimeField(_("시작 일시"), default=timezone.now)
    expires_at = models.DateTimeField(_("만료 일시"))
    consumed_at = models.DateTimeField(_("사용 일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("본인확인 기록")
        verbose_name_plural = _("본인확인 기록")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="grant_expires_after_start"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.token[:8]}…"
