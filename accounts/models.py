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

    def set_rrn(self, digits: str) -> None:
        self.rrn_ciphertext = crypto.encrypt_field(digits, purpose=RRN_PURPOSE)
        self.rrn_index = crypto.keyed_digest(digits, purpose=RRN_PURPOSE)
        self.rrn_masked = mask(digits)

    def rrn_matches(self, digits: str) -> bool:
        if not self.rrn_index:
            return False
        return crypto.digests_match(self.rrn_index, crypto.keyed_digest(digits, purpose=RRN_PURPOSE))

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

    A 6-digit code is sent by SMS; it expires, is single use, is compared in
    constant time, and after CERTBANK_SMS_MAX_FAILURES wrong tries it is
    discarded so that a new one must be requested.
    """

    number = models.CharField(_("휴대폰 번호"), max_length=11)

    class Meta:
        verbose_name = _("휴대폰 인증 장치")
        verbose_name_plural = _("휴대폰 인증 장치")

    def get_throttle_factor(self):
        return settings.CERTBANK_SMS_THROTTLE_FACTOR

    def get_cooldown_duration(self):
        return settings.CERTBANK_SMS_RESEND_COOLDOWN

    def verify_token(self, token):
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        now = timezone.now()
        # SECURITY: constant-time comparison; django-otp's base class uses ==.
        if self.token and self.valid_until and now < self.valid_until and constant_time_compare(str(token), self.token):
            self.token = None
            self.valid_until = now
            self.throttle_reset(commit=False)
            self.cooldown_reset(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=False)
        if self.throttling_failure_count >= settings.CERTBANK_SMS_MAX_FAILURES:
            # SECURITY: a discarded code cannot be guessed any further.
            self.token = None
        self.save()
        return False


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
