"""계좌이체: the limits, the OTP and extra-SMS rules, and the signed flow.

`transfer` is the one function that moves a customer's money to another
account (DESIGN.md §2); `transfer_signed` is how the web flow calls it.
"""

import datetime
import zoneinfo
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.device import device_digest
from accounts.models import DesignatedDevice
from audit.models import Action
from audit.services import audit_record
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
from banking.services.ledger import bank_fee_account, ledger_move
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


def transfer_grade(*, customer) -> str:
    """The security grade for limits: OTP holders get the higher one."""
    has_otp = TOTPDevice.objects.filter(user=customer, confirmed=True).exists()
    return "otp" if has_otp else "basic"


def transfer_limits(*, customer) -> tuple[int, int]:
    """(per transfer, per day) for the customer's grade."""
    once, day = settings.CERTBANK_TRANSFER_LIMITS[transfer_grade(customer=customer)]
    return int(once), int(day)


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


def transfer_requirements(*, customer, amount: int, device_token: str, now=None) -> TransferRequirements:
    """What a transfer of `amount` needs besides the certificate signature."""
    otp = transfer_grade(customer=customer) == "otp" and amount > settings.CERTBANK_TRANSFER_OTP_THRESHOLD
    reaches = transferred_today(customer=customer, now=now) + amount >= settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD
    sms = reaches and not device_is_designated(customer=customer, device_token=device_token)
    return TransferRequirements(otp=otp, sms=sms)


def _limits_check(*, customer, amount: int, now) -> None:
    once, day = transfer_limits(customer=customer)
    if amount > once:
        raise TransferLimitExceeded(limit=once)
    today = transferred_today(customer=customer, now=now)
    if today + amount > day:
        raise DailyLimitExceeded(limit=day, remaining=max(0, day - today))


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
    _limits_check(customer=customer, amount=amount, now=now or timezone.now())
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
    any ledger row or audit row is written. The recipient is credited in
    the same transaction; the fee lands in the sending bank's fee income
    account (bank_fee_account). Each movement is two ledger rows (ledger_move).
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
    memo_mine, memo_theirs = (memo_mine or "")[:20], (memo_theirs or "")[:20]
    with transaction.atomic():
        # FOR NO KEY UPDATE (here and on the accounts): excludes the other
        # transfers, not the foreign-key checks of rows that reference these
        # (an audit row of the customer, a favourite naming the account), which
        # may commit while holding the audit chain head (flows.transfers).
        locked_customer = get_user_model().objects.select_for_update(no_key=True).get(pk=customer.pk)
        now = timezone.now()
        fee = transfer_fee(from_bank=from_account.bank, to_bank=to_account.bank)
        fee_account = bank_fee_account(bank=from_account.bank) if fee else None
        ids = sorted({from_account.pk, to_account.pk} | ({fee_account.pk} if fee_account else set()))
        locked = {
            a.pk: a
            for a in DepositAccount.objects.select_for_update(of=("self",), no_key=True)
            .select_related("bank", "owner")
            .filter(pk__in=ids)
            .order_by("pk")
        }
        sender, recipient = locked[from_account.pk], locked[to_account.pk]
        _withdrawal_check(customer=locked_customer, from_account=sender)
        # SECURITY: the recipient is a customer account (never a bank's own).
        if recipient.kind != DepositAccount.Kind.CUSTOMER or recipient.owner is None:
            raise RecipientNotFound()
        _limits_check(customer=locked_customer, amount=amount, now=now)
        if sender.balance < amount + fee:
            raise InsufficientFundsForTransfer(needed=amount + fee, available=sender.balance)
        description = "당행이체" if fee == 0 and sender.bank_id == recipient.bank_id else "타행이체"
        movement = ledger_move(
            debit_account=sender,
            credit_account=recipient,
            amount=amount,
            description=description,
            debit_counterparty=memo_mine or recipient.owner.name,
            credit_counterparty=memo_theirs or locked_customer.name,
            request=request,
        )
        if fee:
            ledger_move(
                debit_account=sender,
                credit_account=locked[fee_account.pk],
                amount=fee,
                description="타행이체 수수료",
                debit_counterparty="수수료",
                credit_counterparty=locked_customer.name,
                request=request,
            )
        record = Transfer.objects.create(
            customer=locked_customer,
            from_account=sender,
            to_account=recipient,
            to_bank=recipient.bank,
            amount=amount,
            fee=fee,
            memo_mine=memo_mine,
            memo_theirs=memo_theirs,
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
        audit_record(
            action=Action.TRANSFER_COMPLETED,
            customer=locked_customer,
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
            unsigned_reason=unsigned_reason,
        )
        notify_customer(
            customer=locked_customer,
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
        to_bank = Bank.objects.filter(code=draft.to_bank_code).first()
        if to_bank is None:
            raise RecipientNotFound()
        to_account = recipient_lookup(bank=to_bank, number=draft.to_number)
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
