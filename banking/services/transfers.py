"""계좌이체: the limits, the OTP and extra-SMS rules, and the signed flow.

`transfer` is the one function that moves a customer's money to another
account (DESIGN.md §2); `transfer_signed` is how the web flow calls it.
"""

import datetime
import zoneinfo
from dataclasses import asdict, dataclass
from functools import cached_property

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import Sum
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.device import device_digest
from accounts.models import DesignatedDevice
from audit.models import Action
from audit.services import audit_append, audit_event
from banking.exceptions import (
    DailyLimitExceeded,
    EvidenceRequired,
    InsufficientFundsForTransfer,
    InvalidAmount,
    RecipientNotFound,
    SameAccount,
    TransferLimitExceeded,
    WithdrawalAccountInvalid,
)
from banking.models import DepositAccount, Transfer
from banking.money import korean_number
from banking.services.ledger import Leg, accounts_lock, ledger_post
from banking.services.recipients import mask_name, recipient_find, recipient_lookup
from core.models import Bank
from core.notify import notify_customer

# Amounts are whole won (int); the day of the daily limit is the Asia/Seoul day.
_KST = datetime.timezone(datetime.timedelta(hours=9), "KST")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@dataclass(frozen=True)
class TransferEvidence:
    """What proves the customer approved a transfer: a verified signature.

    The challenge and certificate are certificates.Challenge and
    certificates.Certificate rows; banking keeps only their keys and bytes
    (Transfer's foreign keys name them by label), so it imports nothing of
    the certificates app, which checked them (flows.transfers)."""

    challenge: models.Model
    certificate: models.Model
    signature: bytes
    scheme: str
    verified_at: datetime.datetime


@dataclass(frozen=True)
class TransferDraft:
    """What the customer entered and saw on the review page."""

    from_account_id: int
    to_bank_code: str
    to_number: str
    amount: int
    memo_mine: str
    memo_theirs: str
    at: datetime.datetime  # the 일시 on the review text

    def as_session(self) -> dict:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_session(cls, data: dict) -> "TransferDraft":
        values = dict(data)
        values["at"] = datetime.datetime.fromisoformat(values["at"])
        return cls(**values)


def transfer_fee(*, from_bank: Bank, to_bank: Bank) -> int:
    return 0 if from_bank.pk == to_bank.pk else int(settings.CERTBANK_TRANSFER_FEE_OTHER_BANK)


def _seoul_midnight(now: datetime.datetime) -> datetime.datetime:
    return now.astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)


def transferred_today(*, customer, now: datetime.datetime | None = None) -> int:
    """The customer's transfers today (Asia/Seoul calendar day), fees excluded."""
    now = now or timezone.now()
    total = Transfer.objects.filter(
        customer=customer, status=Transfer.Status.COMPLETED, created_at__gte=_seoul_midnight(now), created_at__lte=now
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def device_is_designated(*, customer, device_token: str) -> bool:
    if not device_token:
        return False
    return DesignatedDevice.objects.filter(customer=customer, token_digest=device_digest(device_token)).exists()


@dataclass(frozen=True)
class TransferRequirements:
    otp: bool  # the OTP code must be entered
    sms: bool  # the extra SMS check must be passed


class TransferRules:
    """What the transfer rules read about one customer at one moment, each
    read once however many rules use it: the security grade (a confirmed OTP
    device) and today's total. Unlocked, for pages that show them; a
    transfer uses CustomerHold, which reads them under the customer's lock."""

    def __init__(self, *, customer, now: datetime.datetime | None = None):
        self.customer = customer
        self.now = now or timezone.now()

    @cached_property
    def grade(self) -> str:
        """The security grade for limits: OTP holders get the higher one."""
        has_otp = TOTPDevice.objects.filter(user=self.customer, confirmed=True).exists()
        return "otp" if has_otp else "basic"

    @cached_property
    def today(self) -> int:
        return transferred_today(customer=self.customer, now=self.now)

    def limits(self) -> tuple[int, int]:
        """(per transfer, per day) for the customer's grade."""
        once, day = settings.CERTBANK_TRANSFER_LIMITS[self.grade]
        return int(once), int(day)

    def limits_check(self, *, amount: int) -> None:
        once, day = self.limits()
        if amount > once:
            raise TransferLimitExceeded(limit=once)
        if self.today + amount > day:
            raise DailyLimitExceeded(limit=day, remaining=max(0, day - self.today))

    def requirements(self, *, amount: int, device_token: str) -> TransferRequirements:
        """What a transfer of `amount` needs besides the certificate signature."""
        otp = self.grade == "otp" and amount > settings.CERTBANK_TRANSFER_OTP_THRESHOLD
        reaches = self.today + amount >= settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD
        sms = reaches and not device_is_designated(customer=self.customer, device_token=device_token)
        return TransferRequirements(otp=otp, sms=sms)


class CustomerHold(TransferRules):
    """The customer's row locked in the current transaction (customer_hold),
    and the rules read under that lock.

    SECURITY: while the hold lasts no other transfer of this customer can
    commit, so what the rules read (today's total) stays true until this
    transaction's transfer commits: parallel requests cannot each pass a
    limit that together they cross."""

    def __init__(self, *, customer):
        if not connection.in_atomic_block:
            raise TransactionManagementError("customer_hold() needs a transaction.atomic() block")
        # FOR NO KEY UPDATE: it excludes the other transfers, but not the
        # foreign-key checks of rows that merely name the customer (an audit
        # row, a favourite), which FOR UPDATE would block for nothing
        # (tests/banking/test_transfer_locks.py).
        locked = get_user_model().objects.select_for_update(of=("self",), no_key=True).select_related("bank").get(pk=customer.pk)
        super().__init__(customer=locked)  # `now` after the lock: every transfer committed before it is in `today`

        # Pending until the (sub)transaction that took the lock ends: commit
        # and rollback both drop it, as they drop the lock.
        def marker() -> None:
            pass

        self._marker = marker
        transaction.on_commit(marker)

    def check(self, *, customer) -> None:
        """Refuse unless this is `customer`'s lock and still held."""
        held = any(callback is self._marker for _savepoints, callback, _robust in connection.run_on_commit)
        if not held or customer.pk != self.customer.pk:
            raise TransactionManagementError("a CustomerHold is used only for its customer, in the transaction that took it")


def customer_hold(*, customer) -> CustomerHold:
    """Lock `customer`'s row for a transfer, in the current transaction: the
    first lock a transfer takes (then the accounts, then nothing else)."""
    return CustomerHold(customer=customer)


def transfer_grade(*, customer) -> str:
    """The security grade for limits: OTP holders get the higher one."""
    return TransferRules(customer=customer).grade


def transfer_limits(*, customer) -> tuple[int, int]:
    """(per transfer, per day) for the customer's grade."""
    return TransferRules(customer=customer).limits()


def transfer_requirements(*, customer, amount: int, device_token: str, now=None) -> TransferRequirements:
    """What a transfer of `amount` needs besides the certificate signature."""
    return TransferRules(customer=customer, now=now).requirements(amount=amount, device_token=device_token)


def _amount_check(amount) -> None:
    # SECURITY: integers only (no floats, no bools), strictly positive.
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount()


def _withdrawal_check(*, customer, from_account: DepositAccount) -> None:
    # SECURITY: only the customer's own customer account at their own bank.
    if (
        from_account.owner_id != customer.pk
        or from_account.kind != DepositAccount.Kind.CUSTOMER
        or from_account.bank_id != customer.bank_id
    ):
        raise WithdrawalAccountInvalid()


def transfer_preflight(*, customer, from_account: DepositAccount, to_account: DepositAccount, amount, now=None) -> int:
    """The checks `transfer` makes, without moving money: so the form can say
    at once that a limit or the balance does not allow it. Returns the fee."""
    _amount_check(amount)
    _withdrawal_check(customer=customer, from_account=from_account)
    if from_account.pk == to_account.pk:
        raise SameAccount()
    TransferRules(customer=customer, now=now).limits_check(amount=amount)
    fee = transfer_fee(from_bank=from_account.bank, to_bank=to_account.bank)
    balance = DepositAccount.objects.values_list("balance", flat=True).get(pk=from_account.pk)
    if balance < amount + fee:
        raise InsufficientFundsForTransfer(needed=amount + fee, available=balance)
    return fee


def transfer(
    *,
    customer,
    from_account: DepositAccount,
    to_account: DepositAccount,
    amount: int,
    memo_mine: str = "",
    memo_theirs: str = "",
    evidence: TransferEvidence | None = None,
    unsigned_reason: str = "",
    hold: CustomerHold | None = None,
    request=None,
) -> Transfer:
    """Move `amount` won (and the 타행 fee) out of the customer's account.

    A transfer needs `evidence` (the customer's verified signature, as
    transfer_signed passes it). Only code that moves money on the bank's own
    behalf (demo seeding, the benchmark, tests) may leave it out, and must
    then say why in `unsigned_reason`, which the audit row keeps.

    One transaction: the customer row is locked first (so two transfers of
    one customer cannot both pass the daily limit), then every account
    involved (sender, recipient, fee account) in primary-key order, before
    any ledger row or audit row is written. A caller that has already taken
    the customer's lock in its transaction (transfer_signed, to decide the
    OTP and SMS checks under it) passes its `hold`, and the rules it read are
    not read again. The recipient is credited in the same transaction; the
    fee lands in the sending bank's fee income account (bank_fee_account).
    Each movement is two ledger rows.
    """
    # SECURITY: no customer transfer without the customer's signature, unless
    # the caller states explicitly that this one is the bank's own (seeding,
    # benchmark); forgetting the evidence is refused, not silently unsigned.
    unsigned_reason = (unsigned_reason or "").strip()
    if evidence is None and not unsigned_reason:
        raise EvidenceRequired()
    if evidence is not None and unsigned_reason:
        raise ValueError("a signed transfer has no unsigned_reason")
    # SECURITY: the evidence is this customer's own signed challenge.
    if evidence is not None and evidence.challenge.customer_id != customer.pk:
        raise EvidenceRequired()
    _amount_check(amount)
    if from_account.pk == to_account.pk:
        raise SameAccount()
    order = _Order(
        from_account=from_account,
        to_account=to_account,
        amount=amount,
        memo_mine=(memo_mine or "")[:20],
        memo_theirs=(memo_theirs or "")[:20],
        evidence=evidence,
        unsigned_reason=unsigned_reason,
    )
    if hold is None:
        with transaction.atomic():
            return _transfer_held(customer_hold(customer=customer), order, request=request)
    # SECURITY: the caller's lock is this customer's and still held.
    hold.check(customer=customer)
    # No savepoint of its own: every refusal is raised before the first write,
    # so a refused transfer leaves the caller's transaction as it was (and the
    # caller may still commit its own kept writes, STYLE.md).
    return _transfer_held(hold, order, request=request)


@dataclass(frozen=True)
class _Order:
    from_account: DepositAccount
    to_account: DepositAccount
    amount: int
    memo_mine: str
    memo_theirs: str
    evidence: TransferEvidence | None
    unsigned_reason: str


def _transfer_held(hold: CustomerHold, order: _Order, *, request) -> Transfer:
    customer, now, amount, evidence = hold.customer, hold.now, order.amount, order.evidence
    fee = transfer_fee(from_bank=order.from_account.bank, to_bank=order.to_account.bank)
    locked, fee_account = accounts_lock(
        pks=[order.from_account.pk, order.to_account.pk], fee_bank=order.from_account.bank if fee else None
    )
    sender, recipient = locked[order.from_account.pk], locked[order.to_account.pk]
    _withdrawal_check(customer=customer, from_account=sender)
    # SECURITY: the recipient is a customer account (never a bank's own).
    if recipient.kind != DepositAccount.Kind.CUSTOMER or recipient.owner is None:
        raise RecipientNotFound()
    hold.limits_check(amount=amount)
    if sender.balance < amount + fee:
        raise InsufficientFundsForTransfer(needed=amount + fee, available=sender.balance)
    # Writes from here on; nothing below refuses.
    description = "당행이체" if fee == 0 and sender.bank_id == recipient.bank_id else "타행이체"
    legs = [
        Leg(
            debit=sender,
            credit=recipient,
            amount=amount,
            description=description,
            debit_counterparty=order.memo_mine or recipient.owner.name,
            credit_counterparty=order.memo_theirs or customer.name,
        )
    ]
    if fee:
        legs.append(
            Leg(
                debit=sender,
                credit=fee_account,
                amount=fee,
                description="타행이체 수수료",
                debit_counterparty="수수료",
                credit_counterparty=customer.name,
            )
        )
    audit_rows = []
    movement = ledger_post(legs=legs, now=now, audit_rows=audit_rows, request=request)[0]
    record = Transfer.objects.create(
        customer=customer,
        from_account=sender,
        to_account=recipient,
        to_bank=recipient.bank,
        amount=amount,
        fee=fee,
        memo_mine=order.memo_mine,
        memo_theirs=order.memo_theirs,
        recipient_name=mask_name(recipient.owner.name),
        movement=movement,
        created_at=now,
        challenge=evidence.challenge if evidence else None,
        signed_bytes=bytes(evidence.challenge.to_sign) if evidence else b"",
        signature=evidence.signature if evidence else b"",
        signature_scheme=evidence.scheme if evidence else "",
        signer_certificate=evidence.certificate if evidence else None,
        verified_at=evidence.verified_at if evidence else None,
    )
    audit_rows.append(
        audit_event(
            action=Action.TRANSFER_COMPLETED,
            customer=customer,
            bank=sender.bank,
            request=request,
            reference=str(record.reference),
            movement=str(movement),
            debit=sender.number,
            credit=recipient.number,
            credit_bank=recipient.bank.code,
            amount=amount,
            fee=fee,
            signed=evidence is not None,
            serial=evidence.certificate.serial if evidence else "",
            unsigned_reason=order.unsigned_reason,
        )
    )
    audit_append(audit_rows)
    # `today` now includes this transfer, for a caller that goes on under the same hold.
    hold.today = hold.today + amount
    notify_customer(
        customer=customer,
        subject=_("이체 완료"),
        body=_("%(amount)s 이체 완료 (받는 분 %(name)s, 수수료 %(fee)s). 본인이 아니면 즉시 은행에 신고하세요.")
        % {"amount": f"{amount:,}원", "name": record.recipient_name, "fee": f"{fee:,}원"},
    )
    return record


def transfer_text(*, draft: TransferDraft, from_account: DepositAccount, to_account: DepositAccount, fee: int) -> str:
    """The review text: exactly what the customer sees and signs (WYSIWYS)."""
    return "\n".join(
        [
            f"[Certbank] {from_account.bank.name_ko} 계좌이체",
            f"출금계좌: {from_account.bank.name_ko} {from_account.display_number}",
            f"입금은행: {to_account.bank.name_ko}",
            f"입금계좌: {to_account.display_number}",
            f"받는분: {mask_name(to_account.owner.name)}",
            f"금액: {draft.amount:,}원 ({korean_number(draft.amount)}원)",
            f"수수료: {fee:,}원",
            f"메모(내 통장): {draft.memo_mine}",
            f"메모(받는 분 통장): {draft.memo_theirs}",
            f"일시: {draft.at.astimezone(_KST):%Y-%m-%d %H:%M:%S} (KST)",
        ]
    )


def transfer_draft_resolve(
    *, customer, draft: TransferDraft, to_account: DepositAccount | None = None
) -> tuple[DepositAccount, DepositAccount, int]:
    """The accounts and fee of a draft, checked again as at the form step
    (`to_account`: the recipient the caller has just looked up, if any)."""
    from_account = (
        DepositAccount.objects.select_related("bank").filter(pk=draft.from_account_id).first() if draft.from_account_id else None
    )
    if from_account is None:
        raise WithdrawalAccountInvalid()
    _withdrawal_check(customer=customer, from_account=from_account)
    if to_account is None:
        to_account = recipient_lookup(bank_code=draft.to_bank_code, number=draft.to_number)
    if to_account.pk == from_account.pk:
        raise SameAccount()
    return from_account, to_account, transfer_fee(from_bank=from_account.bank, to_bank=to_account.bank)


def transfer_draft_check(*, customer, draft: TransferDraft, request=None) -> None:
    """The form step (계좌이체 입력), before the review page: 수취인 조회 under
    the customer's lookup limit (the review page shows the masked name too),
    then the withdrawal account, the limits and the balance."""
    recipient = recipient_find(customer=customer, bank_code=draft.to_bank_code, number=draft.to_number, request=request)
    from_account, to_account, _fee = transfer_draft_resolve(customer=customer, draft=draft, to_account=recipient)
    transfer_preflight(customer=customer, from_account=from_account, to_account=to_account, amount=draft.amount)
