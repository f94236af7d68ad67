"""Certificate pages and endpoints: the CA's public files, issuance, and
certificate login. Thin views: parse, call one service, answer. They never
touch `cryptography` (STYLE.md): signing is in certificates.ca, checking in
certificates.challenges.
"""

import base64
import binascii
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from accounts.exceptions import AccountsError
from banking.exceptions import BankingError
from certificates import ca, services
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import IssueIdentityForm, SmsCodeForm
from certificates.models import Challenge

# RFC 2585 §4.1 registers application/pkix-cert for DER certificates; PEM has
# no registered type, application/x-pem-file is the common one.
_CONTENT_TYPES = {"der": "application/pkix-cert", "pem": "application/x-pem-file"}
_FILE_NAMES = {"root": "certbank-root-ca", "issuing": "certbank-issuing-ca"}


@require_GET
def ca_index_view(request):
    return render(request, "certificates/ca_index.html")


@require_GET
def ca_certificate_view(request, which: str, encoding: str):
    # `which` and `encoding` come from the URLconf, never from the request.
    response = HttpResponse(ca.ca_certificate_bytes(which, encoding), content_type=_CONTENT_TYPES[encoding])
    response["Content-Disposition"] = f'attachment; filename="{_FILE_NAMES[which]}.{"crt" if encoding == "der" else "pem"}"'
    return response


# --- Helpers ----------------------------------------------------------------------------------

ISSUE_SESSION_KEY = "certificate_issue"
# Upper bounds on what a browser may send (bytes after base64 decoding).
_MAX_SIZES = {"certificate": 8192, "signature": 1024, "public_key": 2048, "r": 64}


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


def _refusal_response(reason: Refusal, status: int = 403) -> JsonResponse:
    return JsonResponse({"error": str(reason.label), "code": reason.value}, status=status)


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
        and state.get("customer") == request.user.pk
        and state.get("bank") == request.bank.pk
        and timezone.now().timestamp() - state.get("at", 0) < settings.CERTBANK_ISSUE_VERIFIED_SECONDS
    )


# --- Challenges and certificate login ------------------------------------------------------------


@require_POST
def challenge_view(request):
    """A fresh challenge for this session: purpose "login" or "issue"."""
    purpose = request.POST.get("purpose")
    if purpose == Challenge.Purpose.LOGIN:
        customer = None
    elif purpose == Challenge.Purpose.ISSUE:
        user = request.user
        # SECURITY: an issuance challenge only after identity verification.
        if not (user.is_authenticated and user.bank_id == request.bank.id and _issue_verified(request)):
            return _refusal_response(Refusal.NOT_VERIFIED)
        customer = user
    else:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    challenge = challenge_create(purpose=purpose, bank=request.bank, session_key=_ensure_session(request), customer=customer)
    return JsonResponse(
        {
            "challenge": challenge.token,
            "to_sign": base64.b64encode(bytes(challenge.to_sign)).decode("ascii"),
            "text": bytes(challenge.to_sign).decode("utf-8"),
            "expires_in": settings.CERTBANK_CHALLENGE_SECONDS,
        }
    )


@require_POST
def certificate_login_view(request):
    try:
        certificate = _b64_field(request, "certificate")
        signature = _b64_field(request, "signature")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        customer = authenticate(
            request,
            bank=request.bank,
            certificate=certificate,
            signature=signature,
            challenge=request.POST.get("challenge", ""),
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    if customer is None:
        return _refusal_response(Refusal.CUSTOMER_INACTIVE)
    login(request, customer)
    return JsonResponse({"redirect": reverse("banking:accounts", kwargs={"bank": request.bank.slug})})


# --- Issuance (발급) ------------------------------------------------------------------------------


@customer_required
@sensitive_post_parameters("rrn", "pin", "otp")
def issue_start_view(request):
    """Step 1: 본인확인 (RRN, account and PIN, OTP if enrolled), then an SMS code."""
    otp_required = account_services.otp_device(customer=request.user) is not None
    form = IssueIdentityForm(request.POST or None, otp_required=otp_required)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_services.identity_verify(
                customer=request.user,
                rrn=data["rrn"],
                account_number=data["account_number"],
                pin=data["pin"],
                request=request,
            )
            account_services.otp_verify(customer=request.user, code=data.get("otp", ""), request=request)
            account_services.sms_code_send(customer=request.user, reason="인증서 발급", request=request)
        except (AccountsError, BankingError) as exc:
            form.add_error(None, exc.message)
        else:
            request.session[ISSUE_SESSION_KEY] = {
                "stage": "sms",
                "customer": request.user.pk,
                "bank": request.bank.pk,
                "at": timezone.now().timestamp(),
            }
            return redirect("certificates:issue_verify", bank=request.bank.slug)
    return render(request, "certificates/issue_start.html", {"form": form})


@customer_required
@sensitive_post_parameters("code")
def issue_verify_view(request):
    """Step 2: the SMS code sent to the registered phone."""
    state = _issue_state(request)
    if state.get("stage") != "sms" or state.get("customer") != request.user.pk:
        return redirect("certificates:issue", bank=request.bank.slug)
    form = SmsCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.sms_code_verify(customer=request.user, code=form.cleaned_data["code"], request=request)
        except AccountsError as exc:
            form.add_error("code", exc.message)
        else:
            request.session[ISSUE_SESSION_KEY] = {**state, "stage": "verified", "at": timezone.now().timestamp()}
            return redirect("certificates:issue_keys", bank=request.bank.slug)
    return render(request, "certificates/issue_verify.html", {"form": form, "phone": request.user.masked_phone})


@customer_required
def issue_keys_view(request):
    """Step 3: keys are made, the request signed and the certificate stored in the browser."""
    if not _issue_verified(request):
        messages.info(request, _("본인확인을 먼저 완료해 주세요."))
        return redirect("certificates:issue", bank=request.bank.slug)
    return render(request, "certificates/issue_keys.html", {"customer": request.user})


@require_POST
@json_customer_required
def issue_complete_view(request):
    if not _issue_verified(request):
        return _refusal_response(Refusal.NOT_VERIFIED)
    try:
        public_key = _b64_field(request, "public_key")
        signature = _b64_field(request, "signature")
        r = _b64_field(request, "r")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        certificate = services.certificate_issue_joint(
            customer=request.user,
            bank=request.bank,
            session_key=request.session.session_key or "",
            token=request.POST.get("challenge", ""),
            public_key_spki=public_key,
            signature=signature,
            r=r,
            request=request,
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    # One issuance per identity verification.
    request.session.pop(ISSUE_SESSION_KEY, None)
    return JsonResponse(
        {
            "certificate": base64.b64encode(bytes(certificate.der)).decode("ascii"),
            "serial": certificate.serial,
            "subject": certificate.subject,
            "not_after": timezone.localtime(certificate.not_after).strftime("%Y-%m-%d"),
            "redirect": reverse("accounts:login", kwargs={"bank": request.bank.slug}),
        }
    )
