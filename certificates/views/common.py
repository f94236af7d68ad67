"""Helpers shared by the certificate views: bounded base64 fields, JSON refusals, the
verification state kept in the session."""

import base64
import binascii
from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from certificates.exceptions import Refusal
from certificates.models import Challenge

# --- Helpers ----------------------------------------------------------------------------------

ISSUE_SESSION_KEY = "certificate_issue"
# Fresh 금융인증서 key material (sealed server secret, salts) by purpose: "issue", "renew".
CLOUD_SETUP_SESSION_KEY = "cloud_setup"
# Upper bounds on what a browser may send (bytes after base64 decoding).
_MAX_SIZES = {
    "certificate": 8192,
    "signature": 1024,
    "new_signature": 1024,
    "public_key": 2048,
    "r": 64,
    # 금융인증서
    "verifier": 64,
    "old_verifier": 64,
    "new_verifier": 64,
    "new_verifier_salt": 64,
    "new_wrap_salt": 64,
    "wrapped_key": 8192,
}


class _BadField(Exception):
    pass


def _b64_field(request, name: str) -> bytes:
    """A base64 POST field, strictly decoded and bounded."""
    value = request.POST.get(name, "")
    if not value or len(value) > _MAX_SIZES[name] * 4 // 3 + 4:
        raise _BadField(name)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _BadField(name) from None


def _refusal_response(reason: Refusal, status: int = 403, message: str | None = None) -> JsonResponse:
    return JsonResponse({"error": str(message or reason.label), "code": reason.value}, status=status)


def _refused(exc) -> JsonResponse:
    """The JSON answer for a CertificateRefused, with its own message."""
    return _refusal_response(exc.reason, message=exc.message)


def _issued_answer(certificate, *, redirect: str) -> JsonResponse:
    """What the browser needs after issuance or renewal to store the certificate."""
    return JsonResponse(
        {
            "certificate": base64.b64encode(bytes(certificate.der)).decode("ascii"),
            "serial": certificate.serial,
            "subject": certificate.subject,
            "not_after": timezone.localtime(certificate.not_after).strftime("%Y-%m-%d"),
            # The certificates this one revoked: the browser drops them from its store.
            "replaced": getattr(certificate, "replaced_serials", []),
            "redirect": redirect,
        }
    )


def _ensure_session(request) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def json_customer_required(view):
    """customer_required for fetch() endpoints: a JSON 401, not a redirect."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and request.bank is not None and user.bank_id == request.bank.id:
            return view(request, *args, **kwargs)
        return JsonResponse({"error": _("로그인이 필요합니다. 다시 로그인해 주세요.")}, status=401)

    return wrapper


def _issue_state(request) -> dict:
    return request.session.get(ISSUE_SESSION_KEY) or {}


def _issue_verified(request) -> bool:
    """Identity verified (RRN, account PIN, OTP, SMS) for this customer, recently."""
    state = _issue_state(request)
    return (
        state.get("stage") == "verified"
        and state.get("purpose", Challenge.Purpose.ISSUE) == Challenge.Purpose.ISSUE
        and state.get("customer") == request.user.pk
        and state.get("bank") == request.bank.pk
        and timezone.now().timestamp() - state.get("at", 0) < settings.CERTBANK_ISSUE_VERIFIED_SECONDS
    )


REGISTER_SESSION_KEY = "certificate_register"


def _register_verified(request) -> bool:
    state = request.session.get(REGISTER_SESSION_KEY) or {}
    return (
        state.get("customer") == request.user.pk
        and state.get("bank") == request.bank.pk
        and timezone.now().timestamp() - state.get("verified_at", 0) < settings.CERTBANK_ISSUE_VERIFIED_SECONDS
    )
