"""Certificate login, and its failure policy.

A 공동인증서 is public: it travels in every signature, receipt and `.p7s`.
A bad signature over a login challenge proves only that the sender does
NOT hold the key, so it must never lock the holder out (anyone with the
public certificate could). Instead (DESIGN terms, README "Who can lock what"):

- bad signatures are counted per client network and per certificate, in the
  database (core.throttle): after a few, the next bad signatures from that
  network, or for that certificate from anywhere, wait (429 with Retry-After
  and a Korean message), doubling to an hour;
- the signature is checked first, and only a bad one ever waits: the holder's
  own signature logs in whatever an outsider did, from any network (a shared
  office or carrier NAT included);
- each one is audited, and when a certificate draws repeated bad signatures
  (CERTBANK_CERT_LOGIN_ALERT_AFTER in a row, from anywhere) its holder gets
  an SMS, at most once per burst;
- nothing locks: no staff unlock is needed, and none exists.

(The 금융인증서 PIN is different: the server checks it, only a registered
device can try, and five wrong PINs lock it: certificates.services.cloud.)
"""

from django.conf import settings

from audit.models import Action
from audit.services import audit_record
from certificates.challenges import certificate_check, challenge_consume, refuse
from certificates.exceptions import CertificateLoginThrottled, Refusal
from certificates.models import CertificateRegistration, Challenge
from certificates.verify import signature_valid
from core.boundary import service
from core.clients import request_network
from core.errors import DomainError
from core.notify import notify_customer
from core.throttle import Policy, throttle_check, throttle_clear, throttle_failure


def _network_policy() -> Policy:
    # One network's bad signatures, whatever certificate: a script trying keys.
    return Policy("cert_login_network", free=20, first_wait=30, max_wait=3600, forget_after=3600)


def _certificate_policy() -> Policy:
    # One certificate's bad signatures, from anywhere: after the 5th in a row they wait 30 s, doubling to an hour.
    return Policy("cert_login_certificate", free=4, first_wait=30, max_wait=3600, forget_after=3600)


def _alert_policy() -> Policy:
    # Bad signatures for one certificate from anywhere, for the holder's alert only (never a wait).
    return Policy("cert_login_alert", free=10**9, first_wait=1, max_wait=1, forget_after=24 * 3600)


def _bad_signature(*, record, customer, bank, network: str, request):
    """The kept write of a bad signature: count it (per network; per certificate;
    per certificate for the alert), and alert the holder once per burst."""

    def write(error: DomainError) -> None:
        throttle_failure(_network_policy(), network)
        throttle_failure(_certificate_policy(), record.serial)
        in_a_row = throttle_failure(_alert_policy(), record.serial)
        if in_a_row == settings.CERTBANK_CERT_LOGIN_ALERT_AFTER:
            audit_record(
                action=Action.CERTIFICATE_LOGIN_ALERTED, bank=bank, customer=customer, request=request, serial=record.serial
            )
            notify_customer(
                customer=customer,
                subject="인증서 로그인 시도 알림",
                body=(
                    f"고객님의 인증서(일련번호 {record.serial})로 다른 키를 쓴 로그인 시도가 {in_a_row}회 있었습니다. "
                    "인증서는 잠기지 않았으며 본인의 로그인에는 영향이 없습니다. "
                    "인증서 파일이나 비밀번호가 유출되었다고 생각되면 인증서를 폐기하고 재발급 받아 주세요."
                ),
            )

    return write


@service
def certificate_login(*, bank, session_key: str, token: str, certificate_der: bytes, signature: bytes, request=None):
    """The customer of `bank` who signed this login challenge, or a refusal."""
    network = request_network(request)
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.LOGIN, bank=bank, session_key=session_key, request=request
    )
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    registration = CertificateRegistration.objects.select_related("customer").filter(certificate=record, bank=bank).first()
    if registration is None:
        refuse(Refusal.NOT_REGISTERED, bank=bank, request=request, serial=record.serial)
    customer = registration.customer
    if not signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        # SECURITY: only now, for a signature that cannot succeed anyway, may the sender be made to wait.
        throttle_check(_network_policy(), network, error=CertificateLoginThrottled)
        throttle_check(_certificate_policy(), record.serial, error=CertificateLoginThrottled)
        try:
            refuse(Refusal.BAD_SIGNATURE, bank=bank, customer=customer, request=request, serial=record.serial)
        except DomainError as error:
            raise error.keep(
                _bad_signature(record=record, customer=customer, bank=bank, network=network, request=request)
            ) from None
    if not customer.is_active or customer.signup_completed_at is None:
        refuse(Refusal.CUSTOMER_INACTIVE, bank=bank, customer=customer, request=request, serial=record.serial)
    # The alert policy too: a new burst after the holder's login alerts again.
    throttle_clear(_certificate_policy(), _alert_policy(), key=record.serial)
    audit_record(action=Action.CERTIFICATE_LOGIN_SUCCEEDED, bank=bank, customer=customer, request=request, serial=record.serial)
    return customer
