"""The privacy scan: every test runs with log capture on, and no secret it used
may show up where a secret must never be kept.

Secrets are collected where they enter the system, in this process:
- resident registration numbers, whenever an `RRN` is built (13 digits, with
  and without the hyphen, and the 7-digit back half);
- passwords, when the (test) password hasher encodes one: customers', staff's,
  and the ones typed at a login;
- account PINs, whenever the ledger digests one;
- SMS codes, when a phone device generates one; OTP codes, whenever an HOTP
  or TOTP value is computed (the tests' authenticator and the server's check);
- 금융인증서 PINs and their verifiers, and key-file passwords, when the
  Python client derives a key from them;
- private keys, whenever `cryptography` generates an RSA or EC key: windows of
  the PKCS#8 base64 (as in a PEM line) and of the private value in hex.

Where each test is searched, at its teardown:
- every log record of every logger (DEBUG upward for ours), with tracebacks;
- every audit row, as it is saved;
- every response of status 400 or more that Django produced (error pages and
  refusals, JSON included);
- every e-mail in the outbox.

A hit fails the test that produced it, naming the kind of secret and where
it was found, never the secret itself. Short secrets (a 4-digit PIN, a short
typed password) are only matched beside a field name, so that "1234" in an
account number is not a hit; digit strings never match inside longer digits.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

SHORT = 6  # below this length a secret is only matched beside a field name
# Public text that happens to hold a test's secret: the RRN example the forms show
# (a test uses its birth date, 900101, as a weak 금융인증서 PIN).
PUBLIC = ("900101-1234567",)
_FIELD_NAMES = r"(?:pin|password|passwd|비밀번호|code|otp|token|인증번호|secret)"


@dataclass
class Registry:
    secrets: dict[str, str] = field(default_factory=dict)  # secret -> kind
    _patterns: dict[str, re.Pattern] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, value: str | bytes | None) -> None:
        if value is None:
            return
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        value = str(value)
        if len(value) < 3 or value in self.secrets:
            return
        with self._lock:
            self.secrets[value] = kind

    def _pattern(self, secret: str) -> re.Pattern:
        pattern = self._patterns.get(secret)
        if pattern is None:
            escaped = re.escape(secret)
            if secret.isdigit():  # not inside a longer number, a hex digest or an id
                escaped = rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"
            if len(secret) < SHORT:
                escaped = rf"{_FIELD_NAMES}\W{{0,8}}{escaped}(?!\w)"
            pattern = self._patterns[secret] = re.compile(escaped, re.IGNORECASE)
        return pattern

    def hits(self, where: str, text: str) -> list[str]:
        if not text:
            return []
        for public in PUBLIC:
            text = text.replace(public, "")
        found = []
        with self._lock:
            secrets = list(self.secrets.items())
        for secret, kind in secrets:
            if secret not in text:  # a plain substring search first: fast, and most texts hold none
                continue
            for match in self._pattern(secret).finditer(text):
                context = text[max(0, match.start() - 40) : match.start()].replace("\n", " ")
                found.append(f"{kind} ({len(secret)} chars) in {where}, after: …{context!r}")
        return found


REGISTRY = Registry()


def register(kind: str, value) -> None:
    """Tests that type a secret only a browser sees (a key-file password) name it here."""
    REGISTRY.add(kind, value)


def _kind(ch: str) -> str:
    return "digit" if ch.isdigit() else "letter" if ch.isalpha() else "other"


class RecordingMD5PasswordHasher(MD5PasswordHasher):
    """The fast test hasher, noting every password it encodes as a secret."""

    def encode(self, password, salt):
        # What could be someone's password (the rules need 8 characters of two kinds),
        # not junk typed at a login such as "password" itself.
        if password and len(password) >= 8 and len({_kind(ch) for ch in password}) >= 2:
            REGISTRY.add("password", password)
        return super().encode(password, salt)


def _register_private_key(key) -> None:
    from cryptography.hazmat.primitives import serialization

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    text = base64.b64encode(der).decode()
    # Windows that sit inside one 64-character PEM line, past the common header and
    # past the public part (an RSA modulus runs to about character 400, an EC point
    # fills characters 96-184): a certificate or public key in base64 is no leak.
    for start in (640, 1152):
        if start + 40 <= len(text):
            REGISTRY.add("private key (PKCS#8 base64)", text[start : start + 40])
    numbers = key.private_numbers()
    private_value = getattr(numbers, "d", None) or getattr(numbers, "private_value", None)
    REGISTRY.add("private key (hex)", f"{private_value:x}"[8:40])
    REGISTRY.add("private key (bytes as hex)", der[-64:-32].hex())


def _wrap(owner, name: str, after):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        after(result, *args, **kwargs)
        return result

    wrapper.__wrapped__ = original
    setattr(owner, name, wrapper)


def install_hooks() -> None:
    """Note secrets where they enter (see the module docstring)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from django_otp import oath

    from accounts import rrn
    from accounts.models import PhoneDevice
    from banking.services import ledger
    from certificates.client import cloud, npki

    _wrap(rsa, "generate_private_key", lambda key, *a, **k: _register_private_key(key))
    _wrap(ec, "generate_private_key", lambda key, *a, **k: _register_private_key(key))

    original_rrn_init = rrn.RRN.__init__

    def rrn_init(self, *args, **kwargs):
        original_rrn_init(self, *args, **kwargs)
        REGISTRY.add("RRN", self.digits)
        REGISTRY.add("RRN", f"{self.digits[:6]}-{self.digits[6:]}")
        REGISTRY.add("RRN back half", self.digits[6:])

    rrn.RRN.__init__ = rrn_init

    _wrap(ledger, "_pin_digest", lambda _r, number, pin: REGISTRY.add("account PIN", pin))

    original_generate = PhoneDevice.generate_token

    def generate_token(self, *args, **kwargs):
        result = original_generate(self, *args, **kwargs)
        REGISTRY.add("SMS code", self.token)
        return result

    PhoneDevice.generate_token = generate_token

    def otp_code(value, key, counter, digits=6, *a, **k):
        REGISTRY.add("OTP code", str(value).zfill(digits))

    _wrap(oath, "hotp", otp_code)

    from certificates.services.cloud import WEAK_PINS

    # The server derives the verifier of every forbidden PIN (000000, 123456, ...) to refuse
    # them: that list is public and never anyone's PIN, so it is no secret (a fuzzed
    # address /000000/ echoed in a 404 is not a leak).
    def cloud_pin(_result, pin, *a, **k):
        if pin not in WEAK_PINS:
            REGISTRY.add("금융인증서 PIN", pin)

    _wrap(cloud, "_pbkdf2", cloud_pin)

    def verifier(result, pin, *a, **k):
        if pin in WEAK_PINS:
            return
        REGISTRY.add("금융인증서 PIN", pin)
        REGISTRY.add("금융인증서 PIN verifier", base64.b64encode(result).decode())
        REGISTRY.add("금융인증서 PIN verifier", result.hex())

    _wrap(cloud, "pin_verifier", verifier)
    _wrap(npki, "_pbkdf2", lambda _r, password, *a, **k: REGISTRY.add("key-file password", password))


# --- Where secrets must not be found --------------------------------------------


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record):
        try:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.texts.append(text)
        except Exception:  # a broken record must not break the test
            self.texts.append(f"{record.name}: <unformattable {record.msg!r}>")


CAPTURE = _Capture()
RESPONSES: list[tuple[str, str]] = []  # error responses and audit rows, as they are made


def _record_log_hook() -> None:
    """Every record a logger hands to its handlers goes to CAPTURE first, once:
    whatever the logger's handlers, whether it propagates, and whenever it was
    configured (a handler on a list of loggers would miss a non-propagating
    logger added later, and see a propagating record twice)."""
    original = logging.Logger.callHandlers

    def call_handlers(self, record):
        CAPTURE.handle(record)
        original(self, record)

    logging.Logger.callHandlers = call_handlers


def _record_response_hook() -> None:
    from django.core.handlers.base import BaseHandler

    original = BaseHandler.get_response

    def get_response(self, request):
        response = original(self, request)
        if response.status_code >= 400 and not response.streaming:
            content = response.content.decode("utf-8", "replace")
            RESPONSES.append((f"{response.status_code} response to {request.method} {request.path}", content))
        return response

    BaseHandler.get_response = get_response


def pytest_configure(config):
    install_hooks()
    _record_response_hook()
    _record_audit_rows()
    _record_log_hook()
    logging.getLogger("certbank").setLevel(logging.DEBUG)


def _record_audit_rows() -> None:
    from django.db.models.signals import post_save

    from audit.models import AuditEvent

    def saved(sender, instance, **kwargs):
        row = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}
        # Times to the second: their microseconds are six digits that no one typed.
        row = {k: v.isoformat(timespec="seconds") if hasattr(v, "isoformat") else v for k, v in row.items()}
        RESPONSES.append((f"audit row {instance.action}", repr(row)))

    post_save.connect(saved, sender=AuditEvent, weak=False, dispatch_uid="privacy-scan")


def _mail_texts() -> list[tuple[str, str]]:
    from django.core import mail

    texts = []
    for message in getattr(mail, "outbox", []):
        body = message.message().as_string()
        texts.append((f"e-mail {message.subject!r}", f"{message.subject}\n{body}"))
    return texts


def scan(places: list[tuple[str, str]]) -> list[str]:
    hits = []
    for where, text in places:
        hits.extend(REGISTRY.hits(where, text))
    return hits


@pytest.fixture(autouse=True)
def privacy_scan(request):
    """Fail a test whose logs, audit rows, error responses or e-mails hold a secret."""
    CAPTURE.texts.clear()
    RESPONSES.clear()
    yield
    places = [("log", text) for text in CAPTURE.texts] + list(RESPONSES)
    places += _mail_texts()
    hits = scan(places)
    CAPTURE.texts.clear()
    RESPONSES.clear()
    if hits:
        pytest.fail("privacy scan: a secret was kept\n" + "\n".join(hits[:20]), pytrace=False)
