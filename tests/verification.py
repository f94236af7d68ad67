"""Finished step-up verifications for tests, made through the real steps
(flows.stepup and accounts.verification), never by writing a grant row."""

from accounts.models import PhoneDevice, VerificationGrant
from accounts.services import otp_device
from accounts.verification import grant_otp_verify, grant_sms_send, grant_sms_verify
from banking.models import DepositAccount
from flows import stepup

Purpose = VerificationGrant.Purpose
SESSION = "test-session-key-0001"
PIN = "1234"


def totp_now(device) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def sms_code_of(customer) -> str:
    """The code on the customer's phone (the one the server sent last)."""
    return PhoneDevice.objects.get(user=customer).token


def verify(customer, purpose, *, session_key=SESSION, detail=None, logged_in=True, pin=PIN) -> VerificationGrant:
    """본인확인 (RRN, the customer's first account and its PIN; logged out, with
    the name too), the OTP code if enrolled, and the SMS code: a finished
    grant for `purpose`."""
    account = DepositAccount.objects.filter(owner=customer, kind=DepositAccount.Kind.CUSTOMER).order_by("pk").first()
    common = {
        "purpose": purpose,
        "session_key": session_key,
        "rrn": customer.decrypted_rrn(),
        "account_number": account.number,
        "pin": pin,
        "detail": detail,
    }
    if logged_in:
        grant = stepup.stepup_start(customer=customer, **common)
    else:
        grant = stepup.stepup_start_logged_out(bank=customer.bank, name=customer.name, **common)
    device = otp_device(customer=customer)
    if device is not None and purpose in (Purpose.ISSUE, Purpose.REVOKE, Purpose.RESTORE, Purpose.REGISTER):
        grant_otp_verify(grant=grant, code=totp_now(device))
    grant_sms_send(grant=grant)
    grant_sms_verify(grant=grant, code=sms_code_of(customer))
    grant.refresh_from_db()
    return grant


def verified(customer, purpose, **kwargs) -> str:
    """The token of a finished grant (what a session holds)."""
    return verify(customer, purpose, **kwargs).token


def web_verify(client, url, customer, *, logged_in=True, otp=None, detail=None, identity=None, expect_finish=True):
    """Walk the step-up page at `url` as a browser: 본인확인 (step=identity;
    logged out also the name), the OTP step when `otp` is given, then the
    SMS code from the customer's phone. Returns the response of the last
    step (the page's finish: usually a redirect)."""
    account = DepositAccount.objects.filter(owner=customer, kind=DepositAccount.Kind.CUSTOMER).order_by("pk").first()
    data = {"step": "identity", "rrn": customer.decrypted_rrn(), "account_number": account.number, "pin": PIN}
    if not logged_in:
        data["name"] = customer.name
    data.update(detail or {})
    data.update(identity or {})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    if otp is not None:
        response = client.post(url, {"step": "otp", "code": otp})
        assert response.status_code == 302, response.content.decode()[:3000]
    response = client.post(url, {"step": "sms", "code": sms_code_of(customer)})
    if expect_finish:
        assert response.status_code == 302, response.content.decode()[:3000]
    return response


def web_verify_by_sms(client, url, customer, *, detail=None):
    """A logged-in customer's SMS-only step (registration, devices): ask for the code, then give it."""
    response = client.post(url, {"step": "send", **(detail or {})})
    assert response.status_code == 302, response.content.decode()[:3000]
    response = client.post(url, {"step": "sms", "code": sms_code_of(customer)})
    assert response.status_code in (200, 302), response.content.decode()[:3000]
    return response
