"""계좌이체 signed with a certificate: the review page's challenge and the
signed POST. A flow across banking (the transfer, its limits), certificates
(the signature) and accounts (OTP, the extra SMS check)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.services import otp_verify, sms_code_verify
from audit.models import Action
from audit.services import audit_record
from banking.exceptions import ExtraAuthRequired, OtpRequired, TransferTextMismatch
from banking.models import Transfer
from banking.services import (
    TransferDraft,
    TransferEvidence,
    customer_hold,
    transfer,
    transfer_draft_resolve,
    transfer_text,
)
from certificates import challenges, verify
from certificates.exceptions import CertificateRefused
from certificates.models import Challenge
from core.errors import DomainError
from core.models import Bank

# What a transfer's extra SMS code is bound to (accounts.services.sms_code_send).
SMS_BIND = "transfer"


def transfer_challenge_create(*, customer, bank: Bank, session_key: str, draft: TransferDraft) -> Challenge:
    """The signing challenge whose bytes are this draft's review text."""
    from_account, to_account, fee = transfer_draft_resolve(customer=customer, draft=draft)
    text = transfer_text(draft=draft, from_account=from_account, to_account=to_account, fee=fee)
    return challenges.challenge_create(
        purpose=Challenge.Purpose.TRANSFER, bank=bank, session_key=session_key, customer=customer, text=text
    )


def transfer_signed(
    *,
    customer,
    bank: Bank,
    draft: TransferDraft,
    session_key: str,
    token: str,
    certificate_der: bytes,
    signature: bytes,
    otp_code: str = "",
    sms_code: str = "",
    device_token: str = "",
    request=None,
) -> tuple[Transfer, bool]:
    """A transfer approved by the customer's certificate signature over the
    review text of `draft`. Returns (transfer, replayed): a second request
    with the same signed challenge gets the first one's transfer back and
    moves no money.

    One transaction, opened by locking the customer's row: what the transfer
    needs besides the signature (OTP, the extra SMS check against today's
    total) is decided and the money moved while no other transfer of this
    customer can commit, so parallel requests cannot each pass a threshold
    that together they cross. Refusals (certificate, limits, OTP, SMS) are
    raised after the transaction commits, so the consumed challenge, the OTP
    and SMS failure counters and the audit rows survive the failed request
    (STYLE.md).
    """
    error = None
    result = None
    with transaction.atomic():
        # SECURITY: first lock of the transaction (before any audit row, so the
        # order customer → accounts is the one transfer() uses): this
        # customer's signed transfers run one after another from here on, and
        # what the rules read (grade, today's total) is read once, under it.
        hold = customer_hold(customer=customer)
        customer = hold.customer
        # SECURITY: requests carrying the same challenge queue on its row (and
        # on the customer's), so a double submit waits for the first and then
        # finds its transfer (made in the transaction that consumed the challenge).
        held = (
            Challenge.objects.select_for_update().filter(token=token, bank=bank).first() if token and len(token) <= 64 else None
        )
        if held is not None and held.consumed_at is not None:
            existing = Transfer.objects.filter(challenge=held, customer=customer).first()
            if existing is not None:
                audit_record(
                    action=Action.TRANSFER_REPLAYED,
                    customer=customer,
                    bank=bank,
                    request=request,
                    reference=str(existing.reference),
                    amount=existing.amount,
                )
                return existing, True
        try:
            challenge, certificate = challenges.transfer_signature_verify(
                bank=bank,
                customer=customer,
                session_key=session_key,
                token=token,
                certificate_der=certificate_der,
                signature=signature,
                held=held,
                request=request,
            )
            from_account, to_account, fee = transfer_draft_resolve(customer=customer, draft=draft)
            expected = challenges.signed_text(
                text=transfer_text(draft=draft, from_account=from_account, to_account=to_account, fee=fee),
                token=challenge.token,
            )
            # SECURITY: what is paid is what was signed: the draft kept in the
            # session renders to exactly the stored, signed bytes.
            if bytes(challenge.to_sign) != expected.encode("utf-8"):
                raise TransferTextMismatch()
            needs = hold.requirements(amount=draft.amount, device_token=device_token)
            if needs.otp:
                if not (otp_code or "").strip():
                    raise OtpRequired()
                otp_verify(customer=customer, code=otp_code, request=request)
            if needs.sms:
                if not (sms_code or "").strip():
                    raise ExtraAuthRequired(threshold=settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD)
                sms_code_verify(customer=customer, code=sms_code, bind=SMS_BIND, request=request)
            result = transfer(
                customer=customer,
                from_account=from_account,
                to_account=to_account,
                amount=draft.amount,
                memo_mine=draft.memo_mine,
                memo_theirs=draft.memo_theirs,
                evidence=TransferEvidence(
                    challenge=challenge,
                    certificate=certificate,
                    signature=signature,
                    scheme=verify.signature_scheme(
                        certificate_der=certificate_der, signature=signature, data=bytes(challenge.to_sign)
                    )
                    or "",
                    verified_at=timezone.now(),
                ),
                hold=hold,
                request=request,
            )
        except CertificateRefused as exc:
            error = exc  # audited by the verifier
        except DomainError as exc:
            error = exc
            audit_record(
                action=Action.TRANSFER_REFUSED,
                customer=customer,
                bank=bank,
                request=request,
                reason=type(exc).__name__,
                amount=draft.amount,
            )
    if error is not None:
        raise error
    return result, False
