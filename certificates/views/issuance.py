"""발급·재발급: identity verification (RRN, account PIN, OTP, SMS) and the keys page."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from certificates import services
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import IdentityVerificationForm, SmsCodeForm
from certificates.models import Certificate, Challenge
from certificates.views.common import (
    CLOUD_SETUP_SESSION_KEY,
    ISSUE_SESSION_KEY,
    _b64_field,
    _BadField,
    _issue_state,
    _issue_verified,
    _issued_answer,
    _refusal_response,
    _refused,
    json_customer_required,
)
from core.errors import DomainError
from flows import stepup

# --- Issuance (발급) ------------------------------------------------------------------------------


def _verification_start(request, *, purpose: str, certificate=None, sms_reason: str, next_url: str, template: str):
    """본인확인 step 1 for issuance, revocation and restoration: RRN, one of the
    customer's accounts with its PIN, the OTP code if enrolled; then an SMS code."""
    otp_required = account_services.otp_device(customer=request.user) is not None
    form = IdentityVerificationForm(
        request.POST or None, otp_required=otp_required, with_reason=purpose == Challenge.Purpose.ISSUE
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            stepup.identity_verify(
                customer=request.user,
                rrn=data["rrn"],
                account_number=data["account_number"],
                pin=data["pin"],
                request=request,
            )
            account_services.otp_verify(customer=request.user, code=data.get("otp", ""), request=request)
            account_services.sms_code_send(customer=request.user, reason=sms_reason, request=request)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[ISSUE_SESSION_KEY] = {
                "stage": "sms",
                "purpose": purpose,
                "serial": certificate.serial if certificate else None,
                "reason": data.get("reason") or services.ReissueReason.NEW,
                "kind": data.get("kind") or Certificate.Kind.JOINT,
                "customer": request.user.pk,
                "bank": request.bank.pk,
                "at": timezone.now().timestamp(),
            }
            return redirect(next_url)
    return render(request, template, {"form": form, "certificate": certificate, "purpose": purpose})


def _verification_sms(request, *, purpose: str, back_url: str):
    """본인확인 step 2: the SMS code. Returns (state, response): state when verified."""
    state = _issue_state(request)
    if state.get("stage") != "sms" or state.get("customer") != request.user.pk or state.get("purpose") != purpose:
        return None, redirect(back_url)
    form = SmsCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.sms_code_verify(customer=request.user, code=form.cleaned_data["code"], request=request)
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            state = {**state, "stage": "verified", "at": timezone.now().timestamp()}
            request.session[ISSUE_SESSION_KEY] = state
            return state, None
    kind = state.get("kind")
    context = {"form": form, "phone": request.user.masked_phone, "kind": kind, "title": _verification_title(purpose, kind)}
    return None, render(request, "certificates/issue_verify.html", context)


def _verification_title(purpose: str, kind: str | None) -> str:
    """The SMS step's heading: what the customer is verifying for."""
    if purpose == Challenge.Purpose.ISSUE:
        return _("금융인증서 발급·재발급") if kind == Certificate.Kind.FINANCIAL else _("공동인증서 발급·재발급")
    return {"revoke": _("인증서 폐기"), "restore": _("인증서 효력회복")}.get(purpose, _("본인확인"))


@customer_required
@sensitive_post_parameters("rrn", "pin", "otp")
def issue_start_view(request):
    """발급·재발급 step 1: identity verification, with the reason for a reissue."""
    return _verification_start(
        request,
        purpose=Challenge.Purpose.ISSUE,
        sms_reason="인증서 발급",
        next_url=reverse("certificates:issue_verify", kwargs={"bank": request.bank.slug}),
        template="certificates/issue_start.html",
    )


@customer_required
@sensitive_post_parameters("code")
def issue_verify_view(request):
    """발급·재발급 step 2: the SMS code; then the keys page."""
    state, response = _verification_sms(
        request, purpose=Challenge.Purpose.ISSUE, back_url=reverse("certificates:issue", kwargs={"bank": request.bank.slug})
    )
    return response or redirect("certificates:issue_keys", bank=request.bank.slug)


@customer_required
def issue_keys_view(request):
    """Step 3: keys are made, the request signed and the certificate stored in the browser."""
    if not _issue_verified(request):
        messages.info(request, _("본인확인을 먼저 완료해 주세요."))
        return redirect("certificates:issue", bank=request.bank.slug)
    if _issue_state(request).get("kind") == Certificate.Kind.FINANCIAL:
        return render(request, "certificates/issue_cloud.html", {"customer": request.user})
    return render(request, "certificates/issue_keys.html", {"customer": request.user})


@require_POST
@json_customer_required
@sensitive_post_parameters("r", "verifier", "wrapped_key")
def issue_complete_view(request):
    if not _issue_verified(request):
        return _refusal_response(Refusal.NOT_VERIFIED)
    state = _issue_state(request)
    financial = state.get("kind") == Certificate.Kind.FINANCIAL
    try:
        public_key = _b64_field(request, "public_key")
        signature = _b64_field(request, "signature")
        r = _b64_field(request, "r")
        cloud = {name: _b64_field(request, name) for name in ("verifier", "wrapped_key")} if financial else {}
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    common = {
        "customer": request.user,
        "bank": request.bank,
        "session_key": request.session.session_key or "",
        "token": request.POST.get("challenge", ""),
        "public_key_spki": public_key,
        "signature": signature,
        "r": r,
        "reason": state.get("reason") or services.ReissueReason.NEW,
        "request": request,
    }
    try:
        if financial:
            setup = services.CloudSetup.from_session((request.session.get(CLOUD_SETUP_SESSION_KEY) or {}).get("issue"))
            if setup is None:
                return _refusal_response(Refusal.NOT_VERIFIED)
            certificate = services.certificate_issue_financial(
                **common,
                **cloud,
                setup=setup,
                device_token=request.device_token,
                user_agent=request.headers.get("User-Agent", ""),
            )
        else:
            certificate = services.certificate_issue_joint(**common)
    except CertificateRefused as exc:
        return _refused(exc)
    # One issuance per identity verification.
    request.session.pop(ISSUE_SESSION_KEY, None)
    request.session.pop(CLOUD_SETUP_SESSION_KEY, None)
    return _issued_answer(certificate, redirect=reverse("accounts:login", kwargs={"bank": request.bank.slug}))
