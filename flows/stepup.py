"""The first step of a step-up verification: 본인확인, which opens the grant
(accounts.verification keeps the OTP and SMS steps and the consumption).

본인확인 is the RRN on record and one of the customer's own accounts with its
4-digit PIN; it needs banking (the PIN), so it is a flow. Three ways in:

- logged in: the session says who; a wrong RRN or account counts against
  the customer's 본인확인 (5 in a row lock it, as before);
- logged out (issuance, registration, a new browser's 금융인증서 device): name
  and RRN say who, "the verified identity decides which customer it is";
- logged out by login ID (password reset).

SECURITY: logged out, a wrong identity counts against the client network
(back-off), never against the customer it names: a lock that anyone who
knows a name, an RRN or a login ID could set off would be a way to shut the
customer out. A wrong account PIN, once name, RRN and account all match,
backs off per account as well (never the PIN's lock, which is for logged-in
tries), and every wrong part gets the same answer.
"""

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.exceptions import IdentityLocked, IdentityMismatch, IdentityThrottled
from accounts.models import Customer, VerificationGrant
from accounts.rrn import digits as rrn_digits
from accounts.verification import Factor, grant_open
from audit.models import Action
from audit.services import audit_record
from banking import accountnumbers
from banking.models import DepositAccount
from banking.services import account_pin_matches, account_pin_verify
from core.boundary import audited, hold, hold_key, service
from core.clients import request_network
from core.errors import DomainError
from core.models import Bank
from core.throttle import Policy, throttle_check, throttle_clear, throttle_failure


def _network_policy() -> Policy:
    # Wrong identities from one network, logged out: a person mistypes a few
    # times; a script trying RRNs waits, from 30 seconds up to an hour.
    return Policy("identity_network", free=5, first_wait=30, max_wait=3600, forget_after=3600)


def _network_wrong(request):
    def write(error: DomainError) -> DomainError | None:
        throttle_failure(_network_policy(), request_network(request))
        return None

    return write


def _network_check(request) -> None:
    network = request_network(request)
    # SECURITY: tries from one network take turns from this check to their
    # counted failure; parallel ones would otherwise all pass the check first.
    hold_key(f"identity_network:{network}")
    throttle_check(_network_policy(), network, error=IdentityThrottled)


def _own_account(customer: Customer, account_number: str) -> DepositAccount | None:
    number = accountnumbers.normalise(account_number)
    if not accountnumbers.is_valid(number):
        return None
    return DepositAccount.objects.filter(
        owner=customer, bank=customer.bank, number=number, kind=DepositAccount.Kind.CUSTOMER
    ).first()


def _identity_wrong(customer_pk: int, request):
    """The kept write of a wrong 본인확인 by a logged-in customer: 5 in a row lock it."""

    def write(error: DomainError) -> DomainError:
        Customer.objects.filter(pk=customer_pk).update(identity_failed_count=F("identity_failed_count") + 1)
        customer = Customer.objects.select_related("bank").get(pk=customer_pk)
        locks = customer.identity_failed_count >= settings.CERTBANK_IDENTITY_MAX_FAILURES
        if locks:
            Customer.objects.filter(pk=customer_pk, identity_locked_at__isnull=True).update(identity_locked_at=timezone.now())
        audit_record(
            action=Action.IDENTITY_FAILED,
            customer=customer,
            bank=customer.bank,
            request=request,
            failures=customer.identity_failed_count,
        )
        return IdentityLocked() if locks else IdentityMismatch()

    return write


@service
def identity_verify(*, customer: Customer, rrn: str, account_number: str, pin: str, request=None) -> DepositAccount:
    """본인확인 of a logged-in customer: the RRN on record and one of their own
    accounts with its PIN. Returns the account."""
    customer = hold(Customer.objects.select_related("bank").filter(pk=customer.pk))[0]
    if customer.identity_locked_at is not None:
        raise IdentityLocked()
    account = _own_account(customer, account_number)
    # SECURITY: one message for a wrong RRN or a foreign account, so the form
    # does not tell an impostor which half was right.
    if account is None or not customer.rrn_matches(rrn_digits(rrn)):
        raise IdentityMismatch().keep(_identity_wrong(customer.pk, request))
    account_pin_verify(account=account, pin=pin, request=request)
    if customer.identity_failed_count:
        Customer.objects.filter(pk=customer.pk).update(identity_failed_count=0)
    audit_record(action=Action.IDENTITY_VERIFIED, customer=customer, bank=customer.bank, request=request)
    return account


@service
def stepup_start(
    *, purpose: str, customer: Customer, session_key: str, rrn: str, account_number: str, pin: str, detail=None, request=None
) -> VerificationGrant:
    """A logged-in customer's 본인확인 opens the grant."""
    identity_verify(customer=customer, rrn=rrn, account_number=account_number, pin=pin, request=request)
    factors = [Factor.LOGIN, Factor.IDENTITY, Factor.ACCOUNT_PIN]
    return grant_open(
        purpose=purpose,
        customer=customer,
        bank=customer.bank,
        session_key=session_key,
        factors=factors,
        detail=detail,
        request=request,
    )


@service
def stepup_start_session(*, purpose: str, customer: Customer, session_key: str, detail=None, request=None) -> VerificationGrant:
    """For purposes a logged-in customer meets with the SMS code alone (a
    device, another bank's certificate): the login is the first factor."""
    return grant_open(
        purpose=purpose,
        customer=customer,
        bank=customer.bank,
        session_key=session_key,
        factors=[Factor.LOGIN],
        detail=detail,
        request=request,
    )


def _account_policy() -> Policy:
    # Wrong PINs for one account, logged out, from anywhere: 4 free, then 30 s
    # doubling to an hour. A back-off, never the PIN's lock: someone who knows
    # a name, an RRN and an account number must not be able to lock the
    # customer out of every self-service step-up (the lock is for logged-in tries).
    return Policy("account_pin_logged_out", free=4, first_wait=30, max_wait=3600, forget_after=3600)


def _account_wrong(account_pk: int):
    def write(error: DomainError) -> None:
        throttle_failure(_account_policy(), str(account_pk))

    return write


def _logged_out_open(*, purpose, customer: Customer, account: DepositAccount, pin: str, session_key: str, detail, request):
    """Name or login ID, RRN and account matched: the account PIN is the last
    factor, then the grant opens with 본인확인 and the PIN passed.

    SECURITY: a wrong PIN backs off per account and per network (never a
    lock), and answers like any other wrong part, so the form does not
    confirm that the name, RRN and account were right. The account row is
    held, so parallel guesses each see the count before trying."""
    held = hold(DepositAccount.objects.filter(pk=account.pk))[0]
    throttle_check(_account_policy(), str(held.pk), error=IdentityThrottled)
    if not account_pin_matches(account=held, pin=pin):
        raise _mismatch(bank=customer.bank, customer=customer, request=request, purpose=purpose, pin=True).keep(
            _account_wrong(held.pk)
        )
    throttle_clear(_account_policy(), key=str(held.pk))
    audit_record(action=Action.IDENTITY_VERIFIED, customer=customer, bank=customer.bank, request=request, logged_out=True)
    return grant_open(
        purpose=purpose,
        customer=customer,
        bank=customer.bank,
        session_key=session_key,
        factors=[Factor.IDENTITY, Factor.ACCOUNT_PIN],
        detail=detail,
        request=request,
    )


def _mismatch(*, bank: Bank, customer: Customer | None, request, purpose: str, **detail) -> IdentityMismatch:
    return (
        IdentityMismatch()
        .keep(_network_wrong(request))
        .keep(
            audited(
                action=Action.IDENTITY_FAILED,
                customer=customer,
                bank=bank,
                request=request,
                logged_out=True,
                purpose=purpose,
                **detail,
            )
        )
    )


@service
def stepup_start_logged_out(
    *,
    purpose: str,
    bank: Bank,
    session_key: str,
    name: str,
    rrn: str,
    account_number: str,
    pin: str,
    detail=None,
    request=None,
) -> VerificationGrant:
    """본인확인 of someone not logged in: name, RRN, one of their accounts here
    and its PIN. The customer is the one with that RRN at this bank."""
    _network_check(request)
    index = Customer.rrn_index_for(rrn_digits(rrn))
    customer = (
        Customer.objects.select_related("bank")
        .filter(bank=bank, rrn_index=index, signup_completed_at__isnull=False, is_active=True)
        .first()
    )
    account = _own_account(customer, account_number) if customer is not None else None
    # SECURITY: one message for any part wrong; nothing counted against the customer.
    if customer is None or account is None or customer.name != " ".join(name.split()):
        raise _mismatch(bank=bank, customer=customer, request=request, purpose=purpose, known=customer is not None)
    return _logged_out_open(
        purpose=purpose, customer=customer, account=account, pin=pin, session_key=session_key, detail=detail, request=request
    )


@service
def stepup_start_by_login_id(
    *, purpose: str, bank: Bank, session_key: str, login_id: str, rrn: str, account_number: str, pin: str, request=None
) -> VerificationGrant:
    """본인확인 for a password reset: the login ID says who, the RRN and an
    account with its PIN prove it."""
    _network_check(request)
    customer = (
        Customer.objects.select_related("bank")
        .filter(bank=bank, login_id=login_id, signup_completed_at__isnull=False, is_active=True)
        .first()
    )
    account = _own_account(customer, account_number) if customer is not None else None
    if customer is None or account is None or not customer.rrn_matches(rrn_digits(rrn)):
        raise _mismatch(bank=bank, customer=customer, request=request, purpose=purpose, known=customer is not None)
    return _logged_out_open(
        purpose=purpose, customer=customer, account=account, pin=pin, session_key=session_key, detail=None, request=request
    )
