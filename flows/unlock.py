"""Unlocking a login: the customer's own password reset after identity
verification, and the staff console's unlock."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.exceptions import IdentityMismatch
from accounts.models import Customer
from accounts.services import sms_code_send, sms_code_verify
from audit.models import Action
from audit.services import audit_record
from banking.models import DepositAccount
from certificates.services import certificate_login_unlock
from core.models import Bank
from core.notify import notify_customer
from flows.stepup import identity_verify


def login_unlock_start(*, bank: Bank, login_id: str, rrn: str, account_number: str, pin: str, request=None) -> Customer:
    customer = Customer.objects.filter(bank=bank, login_id=login_id, signup_completed_at__isnull=False).first()
    if customer is None:
        audit_record(action=Action.IDENTITY_FAILED, bank=bank, request=request, login_id=login_id[:20], known=False)
        raise IdentityMismatch()
    identity_verify(customer=customer, rrn=rrn, account_number=account_number, pin=pin, request=request)
    sms_code_send(customer=customer, reason="비밀번호 재설정", request=request)
    return customer


def login_unlock_complete(*, customer: Customer, code: str, new_password: str, request=None) -> None:
    sms_code_verify(customer=customer, code=code, request=request)
    with transaction.atomic():
        customer.set_password(new_password)
        customer.failed_login_count = 0
        customer.login_locked_at = None
        customer.save(update_fields=["password", "failed_login_count", "login_locked_at"])
        audit_record(action=Action.PASSWORD_RESET, customer=customer, bank=customer.bank, request=request)
        audit_record(action=Action.LOGIN_UNLOCKED, customer=customer, bank=customer.bank, request=request)
        # Identity verified: certificate logins locked at this bank open again too.
        certificate_login_unlock(customer=customer, bank=customer.bank, request=request)
        notify_customer(
            customer=customer,
            subject=_("비밀번호가 재설정되었습니다"),
            body=_("인터넷뱅킹 비밀번호가 재설정되었습니다. 본인이 아니면 즉시 고객센터로 연락해 주세요."),
        )


def staff_unlock(*, customer: Customer, staff: Customer, request=None) -> None:
    """Staff clear the login, identity and account-PIN locks of a customer."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            failed_login_count=0, login_locked_at=None, identity_failed_count=0, identity_locked_at=None
        )
        DepositAccount.objects.filter(owner=customer).update(pin_failed_count=0, pin_locked_at=None)
        certificate_login_unlock(customer=customer, bank=customer.bank, actor=staff, request=request)
        audit_record(action=Action.STAFF_UNLOCKED_LOGIN, customer=customer, bank=customer.bank, actor=staff, request=request)
