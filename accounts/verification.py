"""Step-up verification: the one module for 본인확인, OTP and SMS grants.

A grant (accounts.models.VerificationGrant) is opened for one purpose once
its first factors passed: a logged-in session (LOGIN), or 본인확인
(IDENTITY and ACCOUNT_PIN: the RRN on record, one of the customer's own
accounts and its PIN, checked by flows.stepup because the PIN is banking's).
The OTP code (when the customer has one and the purpose asks for it) and
the SMS code are then checked here, each recorded on the grant.

The service that needs the verification consumes the grant itself
(`grant_consume`), in its own transaction: a conditional UPDATE that only
matches an unexpired, unconsumed grant of this purpose, bank and browser
session whose factors satisfy what the purpose needs (NEEDS). So calling the
service directly cannot skip the verification, and two requests cannot
share one grant. Views only hold the grant's token in the session; they
never decide "verified" themselves.
"""

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.exceptions import VerificationRequired
from accounts.models import Customer, VerificationGrant
from accounts.services import otp_device, otp_verify, sms_code_send, sms_code_verify
from audit.models import Action
from audit.services import audit_record
from core.boundary import service
from core.models import Bank

Purpose = VerificationGrant.Purpose


class Factor:
    LOGIN = "login"  # the session is a logged-in customer of this bank
    IDENTITY = "identity"  # the RRN (and, logged out, the name) on record, with one of the customer's accounts
    ACCOUNT_PIN = "account_pin"  # that account's 4-digit PIN
    OTP = "otp"  # the code of the customer's OTP, when they have one
    SMS = "sms"  # the code sent to the registered phone

    FIELDS = {LOGIN: "login_at", IDENTITY: "identity_at", ACCOUNT_PIN: "account_pin_at", OTP: "otp_at", SMS: "sms_at"}


@dataclass(frozen=True)
class Way:
    """One set of factors that satisfies a purpose; `otp`: plus the OTP code
    if the customer has an OTP."""

    factors: frozenset[str]
    otp: bool = False

    def q(self, *, otp_enrolled: bool) -> Q:
        needed = set(self.factors) | ({Factor.OTP} if self.otp and otp_enrolled else set())
        return Q(**{f"{Factor.FIELDS[f]}__isnull": False for f in sorted(needed)})


IDENTITY_AND_SMS = frozenset({Factor.IDENTITY, Factor.ACCOUNT_PIN, Factor.SMS})
LOGIN_AND_SMS = frozenset({Factor.LOGIN, Factor.SMS})

# What each purpose needs, in the ways it may be met (the first is the one a
# logged-out person takes, or the only one). Issuance and status changes ask
# the full 본인확인 as the CAs require; a logged-in customer registers a
# device or another bank's certificate with the extra SMS check only, as before.
NEEDS: dict[str, tuple[Way, ...]] = {
    Purpose.ISSUE: (Way(IDENTITY_AND_SMS, otp=True),),
    Purpose.REVOKE: (Way(IDENTITY_AND_SMS, otp=True),),
    Purpose.RESTORE: (Way(IDENTITY_AND_SMS, otp=True),),
    Purpose.REGISTER: (Way(IDENTITY_AND_SMS, otp=True), Way(LOGIN_AND_SMS)),
    Purpose.CLOUD_DEVICE: (Way(IDENTITY_AND_SMS), Way(LOGIN_AND_SMS)),
    Purpose.UNLOCK: (Way(IDENTITY_AND_SMS),),
    Purpose.DESIGNATE: (Way(LOGIN_AND_SMS),),
}

# What the SMS says the code is for.
SMS_REASONS = {
    Purpose.ISSUE: "인증서 발급",
    Purpose.REVOKE: "인증서 폐기",
    Purpose.RESTORE: "인증서 효력회복",
    Purpose.REGISTER: "타행/타기관 인증서 등록",
    Purpose.CLOUD_DEVICE: "금융인증서 이용기기 등록",
    Purpose.UNLOCK: "비밀번호 재설정",
    Purpose.DESIGNATE: "단말기 지정",
}


def session_digest(session_key: str) -> str:
    return hashlib.sha256(f"certbank-grant:{session_key or ''}".encode()).hexdigest()


def grant_open(
    *,
    purpose: str,
    customer: Customer,
    bank: Bank,
    session_key: str,
    factors: Iterable[str],
    detail: dict | None = None,
    request=None,
) -> VerificationGrant:
    """A grant once its first factors passed. Only the checks that pass them
    call this: a logged-in session (LOGIN) or flows.stepup (본인확인). An
    earlier unfinished grant of this session and purpose ends here."""
    if purpose not in NEEDS:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = timezone.now()
    digest = session_digest(session_key)
    # Ended now, or just after it began if this worker's clock is not ahead (expires_at > created_at holds).
    VerificationGrant.objects.filter(purpose=purpose, session_digest=digest, consumed_at__isnull=True, expires_at__gt=now).update(
        expires_at=Greatest(Value(now), F("created_at") + datetime.timedelta(microseconds=1))
    )
    grant = VerificationGrant.objects.create(
        token=secrets.token_urlsafe(32),
        purpose=purpose,
        bank=bank,
        customer=customer,
        person_index=customer.rrn_index,
        session_digest=digest,
        detail=detail or {},
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=settings.CERTBANK_VERIFICATION_MINUTES),
        **{Factor.FIELDS[f]: now for f in factors},
    )
    audit_record(
        action=Action.VERIFICATION_STARTED,
        customer=customer,
        bank=bank,
        request=request,
        purpose=purpose,
        factors=sorted(factors),
    )
    return grant


def grant_current(*, token: str, purpose: str, session_key: str, bank: Bank) -> VerificationGrant | None:
    """The session's unexpired, unconsumed grant for `purpose` (for pages to
    know which step to show), or None. Deciding nothing: services consume."""
    if not token or len(token) > 64:
        return None
    return (
        VerificationGrant.objects.select_related("customer", "bank")
        .filter(
            token=token,
            purpose=purpose,
            bank=bank,
            session_digest=session_digest(session_key),
            consumed_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def _way(grant: VerificationGrant) -> Way:
    """The way this grant takes: the first whose opening factors (all but the
    SMS code) it was opened with."""
    opened = {f for f, field in Factor.FIELDS.items() if getattr(grant, field) is not None}
    ways = NEEDS[grant.purpose]
    return next((way for way in ways if way.factors - {Factor.SMS} <= opened), ways[0])


def grant_missing(grant: VerificationGrant) -> list[str]:
    """The factors still to pass, in the order they are asked: OTP, then SMS."""
    way = _way(grant)
    needed = list(way.factors) + ([Factor.OTP] if way.otp and otp_device(customer=grant.customer) is not None else [])
    order = [Factor.LOGIN, Factor.IDENTITY, Factor.ACCOUNT_PIN, Factor.OTP, Factor.SMS]
    return [f for f in order if f in needed and getattr(grant, Factor.FIELDS[f]) is None]


def grant_complete(grant: VerificationGrant) -> bool:
    return not grant_missing(grant)


def _passed(grant: VerificationGrant, factor: str) -> None:
    now = timezone.now()
    field = Factor.FIELDS[factor]
    # Only an open grant takes a factor (one that expired or was used meanwhile does not).
    VerificationGrant.objects.filter(pk=grant.pk, consumed_at__isnull=True, expires_at__gt=now).update(**{field: now})
    setattr(grant, field, now)


def grant_sms_bind(grant: VerificationGrant) -> str:
    """What a grant's SMS code is bound to: this grant only (and so its session and purpose)."""
    return f"grant:{grant.pk}"


def _step_refused(grant: VerificationGrant, factor: str) -> None:
    # The steps in their order: the OTP before the SMS code, never around it.
    missing = grant_missing(grant)
    if not missing or missing[0] != factor:
        raise VerificationRequired(_("지금은 이 단계를 진행할 수 없습니다. 처음부터 다시 본인확인해 주세요."))


@service
def grant_otp_verify(*, grant: VerificationGrant, code: str, request=None) -> None:
    """The OTP step: the code of the customer's OTP (accounts.services.otp_verify)."""
    _step_refused(grant, Factor.OTP)
    otp_verify(customer=grant.customer, code=code, request=request)
    _passed(grant, Factor.OTP)


@service
def grant_sms_send(*, grant: VerificationGrant, request=None) -> None:
    """The SMS step: a code to the customer's registered phone, for this purpose."""
    _step_refused(grant, Factor.SMS)
    sms_code_send(customer=grant.customer, reason=SMS_REASONS[grant.purpose], bind=grant_sms_bind(grant), request=request)


@service
def grant_sms_verify(*, grant: VerificationGrant, code: str, request=None) -> None:
    _step_refused(grant, Factor.SMS)
    sms_code_verify(customer=grant.customer, code=code, bind=grant_sms_bind(grant), request=request)
    _passed(grant, Factor.SMS)


def grant_consume(
    *,
    token: str,
    purpose: str,
    session_key: str,
    bank: Bank,
    customer: Customer | None = None,
    detail: dict | None = None,
    request=None,
) -> VerificationGrant:
    """Use a finished grant once. Call it inside the transaction of the change
    it allows (a @service): a refusal after it rolls the use back with the rest.

    SECURITY: one conditional UPDATE matches only this session's unexpired,
    unconsumed grant of this purpose and bank (and customer and detail, when
    the caller names them) whose factors meet NEEDS[purpose]: of two
    requests carrying one grant, exactly one gets it.
    """
    row = (
        VerificationGrant.objects.filter(token=token, purpose=purpose, bank=bank).values("pk", "customer_id").first()
        if token and len(token) <= 64
        else None
    )
    if row is None:
        raise VerificationRequired()
    enrolled = otp_device(customer=Customer(pk=row["customer_id"])) is not None
    ways = Q()
    for way in NEEDS[purpose]:
        ways |= way.q(otp_enrolled=enrolled)
    now = timezone.now()
    match = Q(pk=row["pk"], session_digest=session_digest(session_key), consumed_at__isnull=True, expires_at__gt=now) & ways
    if customer is not None:
        match &= Q(customer=customer)
    for name, value in (detail or {}).items():
        match &= Q(**{f"detail__{name}": value})
    if not VerificationGrant.objects.filter(match).update(consumed_at=now):
        grant = VerificationGrant.objects.get(pk=row["pk"])
        if grant.consumed_at is not None:
            raise VerificationRequired(_("이미 사용한 본인확인입니다. 다시 본인확인해 주세요."))
        if grant.expires_at <= now:
            raise VerificationRequired(_("본인확인 시간이 지났습니다. 다시 본인확인해 주세요."))
        raise VerificationRequired()
    grant = VerificationGrant.objects.select_related("customer", "customer__bank", "bank").get(pk=row["pk"])
    audit_record(action=Action.VERIFICATION_USED, customer=grant.customer, bank=bank, request=request, purpose=purpose)
    return grant
