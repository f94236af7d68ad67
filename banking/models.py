from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from banking import accountnumbers


class Bank(models.Model):
    code = models.CharField(_("은행 코드"), max_length=3, unique=True)
    slug = models.SlugField(_("주소 이름"), unique=True)
    name_ko = models.CharField(_("은행 이름"), max_length=40)
    name_en = models.CharField(_("영문 이름"), max_length=60)
    colour = models.CharField(_("대표 색"), max_length=7)
    account_grouping = models.CharField(_("계좌번호 표기"), max_length=20, default="3-2-7-1")

    class Meta:
        verbose_name = _("은행")
        verbose_name_plural = _("은행")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{3}$"), name="bank_code_three_digits"),
            models.CheckConstraint(condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="bank_colour_hex"),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_ko


class DepositAccount(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("고객 계좌")
        # The bank's own side of a movement (welcome deposits, fees). It may
        # run negative: that is the bank's expense, not a customer overdraft.
        INTERNAL = "internal", _("은행 내부 계정")

    bank = models.ForeignKey(Bank, verbose_name=_("은행"), on_delete=models.PROTECT, related_name="accounts")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("예금주"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deposit_accounts",
    )
    kind = models.CharField(_("구분"), max_length=10, choices=Kind.choices, default=Kind.CUSTOMER)
    number = models.CharField(_("계좌번호"), max_length=accountnumbers.LENGTH, unique=True)
    product_name = models.CharField(_("상품명"), max_length=40)
    balance = models.BigIntegerField(_("잔액"), default=0)
    # Keyed digest of the 4-digit PIN (see accounts.crypto.keyed_digest).
    pin_digest = models.CharField(max_length=64, blank=True, editable=False)
    pin_failed_count = models.PositiveSmallIntegerField(_("비밀번호 오류 횟수"), default=0)
    pin_locked_at = models.DateTimeField(_("비밀번호 잠금 일시"), null=True, blank=True)
    opened_at = models.DateTimeField(_("개설일시"), default=timezone.now)

    class Meta:
        verbose_name = _("예금 계좌")
        verbose_name_plural = _("예금 계좌")
        ordering = ["bank__code", "opened_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0) | Q(kind="internal"), name="customer_balance_not_negative"),
            models.CheckConstraint(condition=Q(kind="internal") | Q(owner__isnull=False), name="customer_account_has_owner"),
        ]

    def __str__(self):
        return f"{self.bank.name_ko} {self.display_number}"

    @property
    def display_number(self) -> str:
        return accountnumbers.display(self.number, self.bank.account_grouping)

    @property
    def pin_locked(self) -> bool:
        return self.pin_locked_at is not None


class LedgerEntry(models.Model):
    class Direction(models.TextChoices):
        DEBIT = "debit", _("출금")
        CREDIT = "credit", _("입금")

    account = models.ForeignKey(DepositAccount, verbose_name=_("계좌"), on_delete=models.PROTECT, related_name="entries")
    # Both legs of one movement share this identifier.
    movement = models.UUIDField(_("거래 번호"), db_index=True)
    direction = models.CharField(_("구분"), max_length=6, choices=Direction.choices)
    amount = models.BigIntegerField(_("금액"))
    balance_after = models.BigIntegerField(_("거래 후 잔액"))
    description = models.CharField(_("적요"), max_length=60)
    counterparty = models.CharField(_("상대"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("거래일시"), default=timezone.now)

    class Meta:
        verbose_name = _("거래 내역")
        verbose_name_plural = _("거래 내역")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.amount:,}"

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == self.Direction.CREDIT else -self.amount
