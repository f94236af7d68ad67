"""The step-up pages (flows.views.StepUpView) on a certificate's status."""

from accounts.models import PhoneDevice, VerificationGrant
from accounts.verification import grant_sms_verify
from tests.verification import PIN


def phone_code(customer) -> str:
    return PhoneDevice.objects.get(user=customer).token


def test_a_get_never_makes_the_change_a_finished_verification_allows(client, holder):
    """A leftover finished 폐기 verification asks again on a GET instead of revoking."""
    client.post("/nuri/login/", {"login_id": "hong", "password": "Certbank!2026"})
    serial = holder.certificate.serial
    url = f"/nuri/certificates/{serial}/revoke/"
    account = holder.customer.deposit_accounts.get()
    client.post(url, {"step": "identity", "rrn": holder.customer.decrypted_rrn(), "account_number": account.number, "pin": PIN})
    # The SMS step done by another tab's POST would finish; here the session finishes it, then GETs again.
    grant_token = client.session["grant:revoke"]
    grant = VerificationGrant.objects.get(token=grant_token)
    grant_sms_verify(grant=grant, code=phone_code(holder.customer))
    response = client.get(url)
    assert response.status_code == 200 and 'value="finish"' in response.content.decode()
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"
    response = client.post(url, {"step": "finish"})
    assert response.status_code == 302
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "revoked"
