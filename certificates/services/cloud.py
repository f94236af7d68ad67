"""금융인증서 (cloud certificate): issuance, the cloud store, devices, PIN,
automatic renewal (DESIGN.md §1 and "Cloud certificate").

The browser makes the key pair and wraps the PKCS#8 key (with R) under
AES-GCM with a key derived from the 6-digit PIN *and* a per-certificate
secret the server holds (static/js/crypto/cloud.js). The server stores the
wrapped key, the secret sealed under its own key, and a keyed digest of the
browser's PIN verifier. It releases the secret and the wrapped key only to
a registered device, only after a correct verifier, and counts wrong ones
itself: 5 in a row lock the certificate until it is reissued.

What this does not defend against: an operator holding both the database and
the server keys can try the 10^6 PINs against the released material offline.
Real 금융인증서 keeps the secret in an HSM for that reason; this demo says so.
"""

import base64
import binascii
import datetime
import functools
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.device import device_digest
from accounts.models import Customer
from accounts.verification import Purpose, grant_consume
from audit.models import Action
from audit.services import audit_record
from certificates import vid
from certificates.challenges import (
    certificate_check,
    challenge_consume,
    challenge_create,
    possession_verify,
    refuse,
    signature_verify,
)
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate, Challenge, CloudDevice, CloudKey
from certificates.services.records import certificate_notify
from certificates.services.renewal import certificate_renewal_complete
from certificates.verify import CLOUD_VERIFIER_LENGTH, pin_is_one_of, pin_verifier_digest, pin_verifier_matches
from core.boundary import hold, service
from core.crypto import decrypt_field, encrypt_field
from core.errors import DomainError
from core.notify import notify_customer

SALT_LENGTH = 16
SECRET_LENGTH = 32
WRAP_VERSION = 1
# The wrapped PKCS#8 of an RSA-2048 key with R is about 1.2 KB; RSA-4096 about 2.4 KB.
_WRAPPED_MIN = 1 + 12 + 16 + 600
_WRAPPED_MAX = 8192

# DESIGN.md §1: no 000000-style repeats, no 123456-style runs, both ways and
# through 9 → 0 (890123, 109876): exactly the browser's "same" and "sequence"
# rules (static/js/crypto/cloud.js checkPin). The server sees only a PBKDF2
# verifier, so it can refuse only PINs it enumerates, each costing one
# derivation; the browser's "pattern" rule (112233, 121212, 123123: about
# 2,000 PINs) is therefore enforced on the device only.
WEAK_PINS = tuple(str(d) * 6 for d in range(10)) + tuple(
    "".join(str((start + step * i) % 10) for i in range(6)) for step in (1, 9) for start in range(10)
)


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


# --- Key material the browser needs before it can wrap a key ---------------------------------


@dataclass(frozen=True)
class CloudSetup:
    """Fresh salts and server secret for one wrapping, kept in the session until used."""

    server_secret: bytes
    wrap_salt: bytes
    verifier_salt: bytes
    iterations: int

    def to_session(self) -> dict:
        # The secret is sealed even in the session row (sessions live in the database).
        return {
            "secret": encrypt_field(_b64(self.server_secret), purpose="cloud-pending-secret"),
            "wrap_salt": _b64(self.wrap_salt),
            "verifier_salt": _b64(self.verifier_salt),
            "iterations": self.iterations,
        }

    @classmethod
    def from_session(cls, state) -> "CloudSetup | None":
        try:
            return cls(
                server_secret=base64.b64decode(decrypt_field(state["secret"], purpose="cloud-pending-secret")),
                wrap_salt=base64.b64decode(state["wrap_salt"]),
                verifier_salt=base64.b64decode(state["verifier_salt"]),
                iterations=int(state["iterations"]),
            )
        except (KeyError, TypeError, ValueError, binascii.Error):
            return None

    def for_browser(self) -> dict:
        return {
            "server_secret": _b64(self.server_secret),
            "wrap_salt": _b64(self.wrap_salt),
            "verifier_salt": _b64(self.verifier_salt),
            "iterations": self.iterations,
        }


def cloud_setup_new() -> CloudSetup:
    return CloudSetup(
        server_secret=secrets.token_bytes(SECRET_LENGTH),
        wrap_salt=secrets.token_bytes(SALT_LENGTH),
        verifier_salt=secrets.token_bytes(SALT_LENGTH),
        iterations=settings.CERTBANK_CLOUD_PIN_ITERATIONS,
    )


def _seal_secret(secret: bytes, serial: str) -> str:
    # Bound to the serial: a sealed secret copied onto another certificate's row does not open.
    return encrypt_field(_b64(secret), purpose=f"cloud-secret:{serial}")


def _unseal_secret(key: CloudKey) -> bytes:
    return base64.b64decode(decrypt_field(key.sealed_secret, purpose=f"cloud-secret:{key.certificate.serial}"))


def _weak_pins_for(customer) -> tuple[str, ...]:
    # The birth date (YYMMDD) is the first PIN anyone tries.
    return WEAK_PINS + (customer.decrypted_rrn()[:6],)


def cloud_key_check(*, verifier: bytes, wrapped_key: bytes, bank, customer, request) -> None:
    # SECURITY: shapes only; the server cannot (and must not be able to) open the blob.
    if len(verifier) != CLOUD_VERIFIER_LENGTH:
        refuse(Refusal.BAD_CLOUD_KEY, bank=bank, customer=customer, request=request)
    if not (_WRAPPED_MIN <= len(wrapped_key) <= _WRAPPED_MAX) or wrapped_key[0] != WRAP_VERSION:
        refuse(Refusal.BAD_CLOUD_KEY, bank=bank, customer=customer, request=request)


def cloud_pin_weak_check(*, verifier: bytes, setup: CloudSetup, customer, bank, request) -> None:
    if pin_is_one_of(verifier, _weak_pins_for(customer), salt=setup.verifier_salt, iterations=setup.iterations):
        refuse(Refusal.WEAK_PIN, bank=bank, customer=customer, request=request)


def cloud_key_store(*, certificate: Certificate, setup: CloudSetup, verifier: bytes, wrapped_key: bytes) -> CloudKey:
    return CloudKey.objects.create(
        certificate=certificate,
        wrapped_key=wrapped_key,
        wrap_salt=setup.wrap_salt,
        verifier_salt=setup.verifier_salt,
        verifier_digest=pin_verifier_digest(verifier, serial=certificate.serial),
        sealed_secret=_seal_secret(setup.server_secret, certificate.serial),
        iterations=setup.iterations,
    )


# --- Devices (이용기기) -------------------------------------------------------------------------


_BROWSERS = (("Edg/", "Edge"), ("Whale/", "Whale"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """'Chrome · Windows' from a User-Agent, for the customer's device list."""
    ua = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in ua), "브라우저")
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    return f"{browser} · {system}" if system else browser


def cloud_devices(*, person_index: str):
    return CloudDevice.objects.filter(person_index=person_index)


def cloud_device_current(*, person_index: str, device_token: str) -> CloudDevice | None:
    return CloudDevice.objects.filter(person_index=person_index, device_digest=device_digest(device_token)).first()


def cloud_device_add(*, customer, bank, device_token: str, user_agent: str, request=None) -> tuple[CloudDevice, bool]:
    """Inside a service. Registration of one person's devices is serialised
    by locking all of that person's customer rows (the count of 5 holds under
    concurrent requests)."""
    list(Customer.objects.select_for_update(no_key=True).filter(rrn_index=customer.rrn_index).order_by("pk"))
    existing = cloud_device_current(person_index=customer.rrn_index, device_token=device_token)
    if existing is not None:
        return existing, False
    if cloud_devices(person_index=customer.rrn_index).count() >= settings.CERTBANK_CLOUD_MAX_DEVICES:
        refuse(Refusal.DEVICE_LIMIT, bank=bank, customer=customer, request=request)
    device = CloudDevice.objects.create(
        person_index=customer.rrn_index,
        device_digest=device_digest(device_token),
        label=device_label(user_agent)[:100],
        registered_through=bank,
    )
    audit_record(action=Action.CLOUD_DEVICE_REGISTERED, customer=customer, bank=bank, request=request, device=device.label)
    return device, True


@service
def cloud_device_register(
    *, grant: str, bank, session_key: str, device_token: str, user_agent: str = "", request=None
) -> CloudDevice:
    """이용기기 등록, consuming the person's verification (CLOUD_DEVICE: 본인확인
    and SMS, or a logged-in session and SMS). At most 5 devices per person."""
    customer = grant_consume(
        token=grant, purpose=Purpose.CLOUD_DEVICE, session_key=session_key, bank=bank, request=request
    ).customer
    device, created = cloud_device_add(
        customer=customer, bank=bank, device_token=device_token, user_agent=user_agent, request=request
    )
    if created:
        cloud_notify(customer, bank, "금융인증서 이용기기가 등록되었습니다", f"기기: {device.label}.")
    return device


@service
def cloud_device_remove(*, customer, bank, device_id: int, request=None) -> None:
    """The customer removes one of their devices; it loses cloud access at once."""
    device = CloudDevice.objects.select_for_update().filter(pk=device_id, person_index=customer.rrn_index).first()
    # SECURITY: only the person's own devices (another person's id finds nothing).
    if device is None:
        refuse(Refusal.DEVICE_NOT_REGISTERED, bank=bank, customer=customer, request=request)
    label = device.label
    device.delete()
    audit_record(action=Action.CLOUD_DEVICE_REMOVED, customer=customer, bank=bank, request=request, device=label)
    cloud_notify(customer, bank, "금융인증서 이용기기가 삭제되었습니다", f"기기: {label}.")


def cloud_notify(customer, bank, title: str, detail: str) -> None:
    moment = timezone.localtime(timezone.now())
    notify_customer(
        customer=customer,
        subject=title,
        body=f"{title}. {bank.name_ko} {moment:%Y-%m-%d %H:%M}. {detail} 본인이 하지 않았다면 즉시 고객센터로 연락해 주세요.",
    )


def _device_allowed(*, certificate: Certificate, device_token: str) -> CloudDevice | None:
    return cloud_device_current(person_index=certificate.person_index, device_token=device_token)


# --- The cloud store ------------------------------------------------------------------------


def renewal_due(certificate: Certificate, now=None) -> bool:
    """DESIGN.md §1: a 금융인증서 used within its last 30 days renews itself."""
    now = now or timezone.now()
    window = datetime.timedelta(days=settings.CERTBANK_CLOUD_RENEWAL_DAYS)
    return certificate.not_after - window <= now < certificate.not_after


def cloud_certificates(*, device_token: str):
    """The current 금융인증서 of every person who registered this device."""
    people = CloudDevice.objects.filter(device_digest=device_digest(device_token)).values("person_index")
    return (
        Certificate.objects.current()
        .filter(kind=Certificate.Kind.FINANCIAL, person_index__in=people, cloud_key__isnull=False)
        .select_related("cloud_key", "issuing_bank")
    )


def device_is_registered(*, device_token: str) -> bool:
    return CloudDevice.objects.filter(device_digest=device_digest(device_token)).exists()


@dataclass(frozen=True)
class CloudRelease:
    """What the browser gets after a correct PIN: enough to unwrap the key on the device."""

    certificate: Certificate
    wrapped_key: bytes
    wrap_salt: bytes
    iterations: int
    server_secret: bytes
    renewal_due: bool


def _cloud_record(*, serial: str, device_token: str, bank, request) -> Certificate:
    certificate = Certificate.objects.filter(serial=serial).select_related("cloud_key", "holder").first()
    if certificate is None or certificate.kind != Certificate.Kind.FINANCIAL or not hasattr(certificate, "cloud_key"):
        refuse(Refusal.NOT_CLOUD_CERTIFICATE, bank=bank, request=request)
    # SECURITY: the cloud answers only devices the person registered.
    device = _device_allowed(certificate=certificate, device_token=device_token)
    if device is None:
        refuse(Refusal.DEVICE_NOT_REGISTERED, bank=bank, customer=certificate.holder, request=request, serial=serial)
    if certificate.status == Certificate.Status.REVOKED:
        # A certificate renewed or reissued is not "lost": point at its successor (as certificate_check does).
        superseded = certificate.revocation_reason == Certificate.RevocationReason.SUPERSEDED
        refusal = Refusal.SUPERSEDED if superseded else Refusal.REVOKED
        refuse(refusal, bank=bank, customer=certificate.holder, request=request, serial=serial)
    if certificate.status == Certificate.Status.SUSPENDED:
        refuse(Refusal.SUSPENDED, bank=bank, customer=certificate.holder, request=request, serial=serial)
    if certificate.is_expired():
        refuse(Refusal.EXPIRED, bank=bank, customer=certificate.holder, request=request, serial=serial)
    CloudDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    return certificate


def _pin_wrong(*, key_pk: int, certificate: Certificate, bank, request):
    """The kept write of a wrong PIN: count it; the 5th in a row locks the key."""

    def write(error: DomainError) -> DomainError:
        limit = settings.CERTBANK_CLOUD_MAX_PIN_FAILURES
        customer = certificate.holder
        CloudKey.objects.filter(pk=key_pk).update(failed_pins=F("failed_pins") + 1)
        failures = CloudKey.objects.filter(pk=key_pk).values_list("failed_pins", flat=True).get()
        audit_record(
            action=Action.CLOUD_PIN_FAILED,
            customer=customer,
            bank=bank,
            request=request,
            serial=certificate.serial,
            failures=failures,
        )
        detail = {"bank": bank, "customer": customer, "request": request, "serial": certificate.serial}
        if failures >= limit:
            if CloudKey.objects.filter(pk=key_pk, locked_at__isnull=True).update(locked_at=timezone.now()):
                audit_record(action=Action.CLOUD_LOCKED, customer=customer, bank=bank, request=request, serial=certificate.serial)
                certificate_notify(
                    customer,
                    bank,
                    "금융인증서가 잠겼습니다",
                    certificate,
                    " PIN을 5회 연속 잘못 입력했습니다. 재발급 받아 주세요.",
                )
            return _refusal_recorded(Refusal.CLOUD_LOCKED, **detail)
        message = f"{Refusal.WRONG_PIN.label} ({failures}/{limit}회 오류, {limit}회 오류 시 잠깁니다.)"
        return _refusal_recorded(Refusal.WRONG_PIN, message=message, **detail)

    return write


def _refusal_recorded(reason: Refusal, *, bank, customer, request, serial: str, message: str | None = None):
    audit_record(
        action=Action.CERTIFICATE_REFUSED, bank=bank, customer=customer, request=request, reason=reason.value, serial=serial
    )
    return CertificateRefused(reason, message)


def _pin_check(*, certificate: Certificate, verifier: bytes, bank, request) -> None:
    """Check the PIN verifier against the stored digest, inside a service.

    SECURITY: the count lives only here, on the server; the key row is held
    (core.boundary.hold), so parallel guesses are each counted before the
    next is compared and no client can reset it; the count is kept although
    the request is refused; a locked key is not even compared.
    """
    key = hold(CloudKey.objects.filter(pk=certificate.cloud_key.pk))[0]
    if key.locked_at is not None:
        refuse(Refusal.CLOUD_LOCKED, bank=bank, customer=certificate.holder, request=request, serial=certificate.serial)
    if len(verifier) != CLOUD_VERIFIER_LENGTH or not pin_verifier_matches(
        verifier, serial=certificate.serial, digest=key.verifier_digest
    ):
        raise CertificateRefused(Refusal.WRONG_PIN).keep(
            _pin_wrong(key_pk=key.pk, certificate=certificate, bank=bank, request=request)
        )
    if key.failed_pins:
        CloudKey.objects.filter(pk=key.pk).update(failed_pins=0)


@service
def cloud_key_unlock(*, serial: str, verifier: bytes, device_token: str, bank, request=None) -> CloudRelease:
    """A correct PIN on a registered device releases the wrapped key and the secret."""
    certificate = _cloud_record(serial=serial, device_token=device_token, bank=bank, request=request)
    _pin_check(certificate=certificate, verifier=verifier, bank=bank, request=request)
    key = CloudKey.objects.get(pk=certificate.cloud_key.pk)
    with transaction.atomic():
        audit_record(action=Action.CLOUD_KEY_RELEASED, customer=certificate.holder, bank=bank, request=request, serial=serial)
    return CloudRelease(
        certificate=certificate,
        wrapped_key=bytes(key.wrapped_key),
        wrap_salt=bytes(key.wrap_salt),
        iterations=key.iterations,
        server_secret=_unseal_secret(key),
        renewal_due=renewal_due(certificate),
    )


@service
def cloud_pin_change(
    *,
    serial: str,
    verifier: bytes,
    new_verifier: bytes,
    new_verifier_salt: bytes,
    new_wrap_salt: bytes,
    wrapped_key: bytes,
    device_token: str,
    bank,
    request=None,
) -> Certificate:
    """PIN 변경: the old PIN proved again (and counted), the key rewrapped in the
    browser under the new PIN and the same server secret."""
    certificate = _cloud_record(serial=serial, device_token=device_token, bank=bank, request=request)
    customer = certificate.holder
    if len(new_verifier_salt) != SALT_LENGTH or len(new_wrap_salt) != SALT_LENGTH:
        refuse(Refusal.BAD_CLOUD_KEY, bank=bank, customer=customer, request=request)
    cloud_key_check(verifier=new_verifier, wrapped_key=wrapped_key, bank=bank, customer=customer, request=request)
    _pin_check(certificate=certificate, verifier=verifier, bank=bank, request=request)
    key = certificate.cloud_key
    setup = CloudSetup(server_secret=b"", wrap_salt=new_wrap_salt, verifier_salt=new_verifier_salt, iterations=key.iterations)
    cloud_pin_weak_check(verifier=new_verifier, setup=setup, customer=customer, bank=bank, request=request)
    with transaction.atomic():
        CloudKey.objects.filter(pk=key.pk).update(
            wrapped_key=wrapped_key,
            wrap_salt=new_wrap_salt,
            verifier_salt=new_verifier_salt,
            verifier_digest=pin_verifier_digest(new_verifier, serial=certificate.serial),
            failed_pins=0,
            updated_at=timezone.now(),
        )
        audit_record(action=Action.CLOUD_PIN_CHANGED, customer=customer, bank=bank, request=request, serial=serial)
        certificate_notify(customer, bank, "금융인증서 PIN이 변경되었습니다", certificate)
    return certificate


# --- Automatic renewal -----------------------------------------------------------------------


@service
def cloud_renew_prepare(*, serial: str, device_token: str, bank, session_key: str, request=None):
    """A renewal challenge (to be signed with the old key) and fresh key material."""
    certificate = _cloud_record(serial=serial, device_token=device_token, bank=bank, request=request)
    # SECURITY: a locked key renews into nothing: only reissue unlocks it.
    if certificate.cloud_key.locked:
        refuse(Refusal.CLOUD_LOCKED, bank=bank, customer=certificate.holder, request=request, serial=serial)
    if not renewal_due(certificate):
        refuse(Refusal.RENEWAL_TOO_EARLY, bank=bank, customer=certificate.holder, request=request, serial=serial)
    challenge = challenge_create(
        purpose=Challenge.Purpose.RENEW,
        bank=bank,
        session_key=session_key,
        customer=certificate.holder,
        kind=Certificate.Kind.FINANCIAL,
    )
    return challenge, cloud_setup_new()


@service
def certificate_renew_financial(
    *,
    bank,
    session_key: str,
    token: str,
    certificate_der: bytes,
    signature: bytes,
    public_key_spki: bytes,
    new_signature: bytes,
    r: bytes,
    old_verifier: bytes,
    verifier: bytes,
    wrapped_key: bytes,
    setup: CloudSetup,
    device_token: str,
    request=None,
) -> Certificate:
    """자동 갱신: a new key made in the browser, the request signed with the old
    key (and the new one) and the PIN proved again; 3 more years from the old
    expiry; the old one superseded, its registrations carried over."""
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.RENEW, bank=bank, session_key=session_key, request=request
    )
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    customer = record.holder
    # SECURITY: the challenge was made for this certificate's holder; the old key signs it.
    if challenge.customer_id != customer.pk or record.kind != Certificate.Kind.FINANCIAL:
        refuse(Refusal.NOT_OWNER, bank=bank, customer=customer, request=request, serial=record.serial)
    if _device_allowed(certificate=record, device_token=device_token) is None:
        refuse(Refusal.DEVICE_NOT_REGISTERED, bank=bank, customer=customer, request=request, serial=record.serial)
    if not renewal_due(record):
        refuse(Refusal.RENEWAL_TOO_EARLY, bank=bank, customer=customer, request=request, serial=record.serial)
    signature_verify(leaf=leaf, signature=signature, challenge=challenge, bank=bank, request=request)
    # SECURITY: the new key is wrapped under a PIN the server cannot see, so
    # the old PIN is proved (and counted) here as well: a browser that merely
    # still holds an unwrapped key cannot renew it under a PIN of its choosing.
    _pin_check(certificate=record, verifier=old_verifier, bank=bank, request=request)
    if len(r) != vid.R_LENGTH:
        refuse(Refusal.BAD_RANDOM, bank=bank, customer=customer, request=request)
    possession_verify(public_key_spki=public_key_spki, signature=new_signature, challenge=challenge, bank=bank, request=request)
    cloud_key_check(verifier=verifier, wrapped_key=wrapped_key, bank=bank, customer=customer, request=request)
    # The browser rewraps under the PIN just used; a crafted client must not
    # slip a weak one in this way either.
    cloud_pin_weak_check(verifier=verifier, setup=setup, customer=customer, bank=bank, request=request)
    return certificate_renewal_complete(
        record=record,
        customer=customer,
        bank=bank,
        public_key_spki=public_key_spki,
        r=r,
        store=functools.partial(cloud_key_store, setup=setup, verifier=verifier, wrapped_key=wrapped_key),
        request=request,
        automatic=True,
    )
