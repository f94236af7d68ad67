import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banking import accountnumbers
from core.models import Bank


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
    # Keyed digest of the 4-digit PIN (see core.crypto.keyed_digest).
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
        # 거래내역조회 pages by (created_at, id) within an account (banking.selectors.history_page).
        indexes = [models.Index(fields=["account", "created_at", "id"], name="ledger_account_keyset")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.amount:,}"

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == self.Direction.CREDIT else -self.amount


class Transfer(models.Model):
    """One completed 계좌이체, with the evidence that the customer approved it.

    Written only by banking.services.transfer, in the same transaction as
    its ledger rows. A signed transfer keeps the exact bytes signed (a copy
    of its challenge's text), the signature and the signer's certificate;
    the one-to-one link to the challenge makes the database itself refuse
    a second transfer paid with the same signature.
    """

    class Status(models.TextChoices):
        COMPLETED = "completed", _("이체 완료")

    reference = models.UUIDField(_("이체 번호"), default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("보낸 고객"), on_delete=models.PROTECT, related_name="transfers"
    )
    from_account = models.ForeignKey(
        DepositAccount, verbose_name=_("출금계좌"), on_delete=models.PROTECT, related_name="outgoing_transfers"
    )
    to_account = models.ForeignKey(
        DepositAccount, verbose_name=_("입금계좌"), on_delete=models.PROTECT, related_name="incoming_transfers"
    )
    to_bank = models.ForeignKey(Bank, verbose_name=_("입금은행"), on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(_("이체금액"))
    fee = models.BigIntegerField(_("수수료"), default=0)
    memo_mine = models.CharField(_("내 통장 표시"), max_length=20, blank=True)
    memo_theirs = models.CharField(_("받는 분 통장 표시"), max_length=20, blank=True)
    recipient_name = models.CharField(_("받는 분"), max_length=40)  # masked: 홍*동
    status = models.CharField(_("상태"), max_length=12, choices=Status.choices, default=Status.COMPLETED)
    movement = models.UUIDField(_("거래 번호"))
    created_at = models.DateTimeField(_("이체일시"), default=timezone.now, db_index=True)
    # Evidence of the customer's approval (DESIGN.md §3 "Receipts").
    challenge = models.OneToOneField(
        "certificates.Challenge",
        verbose_name=_("서명 요청"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer",
    )
    signed_bytes = models.BinaryField(_("서명 원문"), blank=True, default=b"", editable=False)
    signature = models.BinaryField(_("전자서명"), blank=True, default=b"", editable=False)
    signature_scheme = models.CharField(_("서명 방식"), max_length=10, blank=True)
    signer_certificate = models.ForeignKey(
        "certificates.Certificate",
        verbose_name=_("서명 인증서"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signed_transfers",
    )
    verified_at = models.DateTimeField(_("서명 검증 일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("계좌이체")
        verbose_name_plural = _("계좌이체")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="transfer_fee_not_negative"),
            models.CheckConstraint(condition=~Q(from_account=models.F("to_account")), name="transfer_between_two_accounts"),
            # A signed transfer carries all of its evidence, or none of it.
            models.CheckConstraint(
                condition=Q(challenge__isnull=True, signer_certificate__isnull=True, verified_at__isnull=True)
                | Q(challenge__isnull=False, signer_certificate__isnull=False, verified_at__isnull=False),
                name="transfer_evidence_complete",
            ),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d} {self.amount:,}원 → {self.recipient_name}"

    @property
    def signed(self) -> bool:
        return self.challenge_id is not None

    @property
    def signed_text(self) -> str:
        return bytes(self.signed_bytes).decode("utf-8")

    @property
    def total(self) -> int:
        return self.amount + self.fee


class FavouriteRecipient(models.Model):
    """자주 쓰는 계좌: a receiving account the customer saved to fill the form."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("고객"), on_delete=models.CASCADE, related_name="favourite_recipients"
    )
    account = models.ForeignKey(DepositAccount, verbose_name=_("계좌"), on_delete=models.CASCADE, related_name="+")
    nickname = models.CharField(_("별칭"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now)

    class Meta:
        verbose_name = _("자주 쓰는 계좌")
        verbose_name_plural = _("자주 쓰는 계좌")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "account"], name="favourite_once_per_customer")]

    def __str__(self):
        return self.nickname or str(self.account)


class RecipientLookupLimit(models.Model):
    """수취인 조회 failures of one customer in the current window.

    Kept in the database, not in a worker's memory or the browser session,
    so that every web worker and every session of the customer count the
    same failures (DESIGN.md §4). Written only by
    banking.services.recipient_find.
    """

    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("고객"), on_delete=models.CASCADE, related_name="recipient_lookup_limit"
    )
    window_started_at = models.DateTimeField(_("집계 시작 일시"))
    failures = models.PositiveIntegerField(_("조회 실패 횟수"), default=0)

    class Meta:
        verbose_name = _("수취인 조회 제한")
        verbose_name_plural = _("수취인 조회 제한")

    def __str__(self):
        return f"{self.customer_id}: {self.failures}"
