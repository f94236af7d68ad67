"""Unlocking a login: the customer's own password reset after a verification
(UNLOCK: 본인확인 by login ID, RRN, an account and its PIN, then SMS), and
the staff console's unlock."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer, VerificationGrant
from accounts.verification import grant_consume
from audit.models import Action
from audit.services import audit_record
from banking.models import DepositAccount
from core.boundary import service
from core.models import Bank
from core.notify import notify_customer


@service
def login_unlock_complete(*, grant: str, bank: Bank, session_key: str, new_password: str, request=None) -> Customer:
    """Set a new password and clear the login lock, consuming the verification."""
    customer = grant_consume(
        token=grant, purpose=VerificationGrant.Purpose.UNLOCK, session_key=session_key, bank=bank, request=request
    ).customer
    customer.set_password(new_password)
    customer.failed_login_count = 0
    customer.login_locked_at = None
    customer.save(update_fields=["password", "failed_login_count", "login_locked_at"])
    audit_record(action=Action.PASSWORD_RESET, customer=customer, bank=customer.bank, request=request)
    audit_record(action=Action.LOGIN_UNLOCKED, customer=customer, bank=customer.bank, request=request)
    notify_customer(
        customer=customer,
        subject=_("비밀번호가 재설정되었습니다"),
        body=_("인터넷뱅킹 비밀번호가 재설정되었습니다. 본인이 아니면 즉시 고객센터로 연락해 주세요."),
    )
    return customer


def staff_unlock(*, customer: Customer, staff: Customer, request=None) -> None:
    """Staff clear the login, identity and account-PIN locks of a customer."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            failed_login_count=0, login_locked_at=None, identity_failed_count=0, identity_locked_at=None
        )
        DepositAccount.objects.filter(owner=customer).update(pin_failed_count=0, pin_locked_at=None)
        audit_record(action=Action.STAFF_UNLOCKED_LOGIN, customer=customer, bank=customer.bank, actor=staff, request=request)
