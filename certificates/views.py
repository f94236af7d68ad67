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
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from accounts.exceptions import AccountsError
from banking.exceptions import BankingError
from certificates import ca, selectors, services
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, InvalidTransition, Refusal
from certificates.forms import IdentityVerificationForm, SmsCodeForm
from certificates.models import Certificate, Challenge

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
_MAX_SIZES = {"certificate": 8192, "signature": 1024, "new_signature": 1024, "public_key": 2048, "r": 64}


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


# --- Challenges and certificate login ------------------------------------------------------------


@require_POST
def challenge_view(request):
    """A fresh challenge for this session: purpose "login" or "issue"."""
    purpose = request.POST.get("purpose")
    if purpose == Challenge.Purpose.LOGIN:
        customer = None
    elif purpose == Challenge.Purpose.REGISTER:
        user = request.user
        # SECURITY: registration needs the extra SMS check first.
        if not (user.is_authenticated and user.bank_id == request.bank.id and _register_verified(request)):
            return _refusal_response(Refusal.NOT_VERIFIED)
        customer = user
    elif purpose == Challenge.Purpose.RENEW:
        user = request.user
        if not (user.is_authenticated and user.bank_id == request.bank.id):
            return JsonResponse({"error": _("로그인이 필요합니다. 다시 로그인해 주세요.")}, status=401)
        customer = user
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
            account_services.identity_verify(
                customer=request.user,
                rrn=data["rrn"],
                account_number=data["account_number"],
                pin=data["pin"],
                request=request,
            )
            account_services.otp_verify(customer=request.user, code=data.get("otp", ""), request=request)
            account_services.sms_code_send(customer=request.user, reason=sms_reason, request=request)
        except (AccountsError, BankingError) as exc:
            form.add_error(None, exc.message)
        else:
            request.session[ISSUE_SESSION_KEY] = {
                "stage": "sms",
                "purpose": purpose,
                "serial": certificate.serial if certificate else None,
                "reason": data.get("reason") or services.ReissueReason.NEW,
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
        except AccountsError as exc:
            form.add_error("code", exc.message)
        else:
            state = {**state, "stage": "verified", "at": timezone.now().timestamp()}
            request.session[ISSUE_SESSION_KEY] = state
            return state, None
    return None, render(request, "certificates/issue_verify.html", {"form": form, "phone": request.user.masked_phone})


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
            reason=_issue_state(request).get("reason") or services.ReissueReason.NEW,
            request=request,
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    # One issuance per identity verification.
    request.session.pop(ISSUE_SESSION_KEY, None)
    return _issued_answer(certificate, redirect=reverse("accounts:login", kwargs={"bank": request.bank.slug}))


# --- 인증서 관리 (my certificates) ------------------------------------------------------------------


def _own_certificate(request, serial: str) -> Certificate:
    # SECURITY: only the logged-in person's certificates (any bank), by serial.
    return get_object_or_404(
        Certificate.objects.select_related("issuing_bank"), serial=serial.lower(), person_index=request.user.rrn_index
    )


@customer_required
def manage_view(request):
    certificates = selectors.person_certificates(customer=request.user)
    return render(request, "certificates/manage.html", {"certificates": certificates})


@customer_required
def detail_view(request, serial):
    certificate = _own_certificate(request, serial)
    context = {
        "certificate": selectors.certificate_summary(certificate, customer=request.user),
        "renewal_refusal": services.renewal_refusal(certificate),
    }
    return render(request, "certificates/detail.html", context)


@customer_required
def download_view(request, serial):
    """The certificate (public part only) as signCert.der."""
    certificate = _own_certificate(request, serial)
    response = HttpResponse(bytes(certificate.der), content_type="application/pkix-cert")
    response["Content-Disposition"] = 'attachment; filename="signCert.der"'
    return response


@customer_required
def renew_view(request, serial):
    certificate = _own_certificate(request, serial)
    refusal = services.renewal_refusal(certificate)
    context = {
        "certificate": selectors.certificate_summary(certificate, customer=request.user),
        "renewable": refusal is None,
        "refusal": refusal,
    }
    return render(request, "certificates/renew.html", context)


@require_POST
@json_customer_required
def renew_complete_view(request):
    try:
        fields = {name: _b64_field(request, name) for name in ("certificate", "signature", "public_key", "r")}
        new_signature = _b64_field(request, "new_signature")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        certificate = services.certificate_renew(
            customer=request.user,
            bank=request.bank,
            session_key=request.session.session_key or "",
            token=request.POST.get("challenge", ""),
            certificate_der=fields["certificate"],
            signature=fields["signature"],
            public_key_spki=fields["public_key"],
            new_signature=new_signature,
            r=fields["r"],
            request=request,
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    return _issued_answer(certificate, redirect=reverse("certificates:manage", kwargs={"bank": request.bank.slug}))


@require_POST
@customer_required
def suspend_view(request, serial):
    """효력정지: takes effect at once; restoring needs identity verification."""
    certificate = _own_certificate(request, serial)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("효력정지 내용을 확인해 주세요."))
    else:
        try:
            services.certificate_suspend_by_customer(customer=request.user, certificate=certificate, request=request)
        except InvalidTransition:
            messages.error(request, _("이 인증서는 효력정지할 수 없는 상태입니다."))
        else:
            messages.success(request, _("인증서 효력을 정지했습니다. 효력회복은 본인확인 후 할 수 있습니다."))
    return redirect("certificates:detail", bank=request.bank.slug, serial=certificate.serial)


_STATUS_ACTIONS = {
    # purpose: (service, SMS reason, success message)
    "revoke": (
        services.certificate_revoke_by_customer,
        "인증서 폐기",
        _lazy("인증서를 폐기했습니다. 폐기한 인증서는 다시 쓸 수 없습니다."),
    ),
    "restore": (services.certificate_restore_by_customer, "인증서 효력회복", _lazy("인증서 효력을 회복했습니다.")),
}


@customer_required
@sensitive_post_parameters("rrn", "pin", "otp")
def status_start_view(request, serial, purpose):
    """폐기 (분실 신고) or 효력회복, step 1: identity verification."""
    certificate = _own_certificate(request, serial)
    return _verification_start(
        request,
        purpose=purpose,
        certificate=certificate,
        sms_reason=_STATUS_ACTIONS[purpose][1],
        next_url=reverse(f"certificates:{purpose}_verify", kwargs={"bank": request.bank.slug, "serial": certificate.serial}),
        template="certificates/status_start.html",
    )


@customer_required
@sensitive_post_parameters("code")
def status_verify_view(request, serial, purpose):
    """폐기 or 효력회복, step 2: the SMS code, then the change itself."""
    certificate = _own_certificate(request, serial)
    back = reverse(f"certificates:{purpose}", kwargs={"bank": request.bank.slug, "serial": certificate.serial})
    state, response = _verification_sms(request, purpose=purpose, back_url=back)
    if response is not None:
        return response
    request.session.pop(ISSUE_SESSION_KEY, None)
    if state.get("serial") != certificate.serial:
        return redirect(back)
    service, _reason, done = _STATUS_ACTIONS[purpose]
    try:
        service(customer=request.user, certificate=certificate, request=request)
    except InvalidTransition:
        messages.error(request, _("이 인증서는 지금 상태에서 그렇게 바꿀 수 없습니다."))
    else:
        messages.success(request, done)
    return redirect("certificates:detail", bank=request.bank.slug, serial=certificate.serial)


# --- 타행/타기관 인증서 등록 -------------------------------------------------------------------------

REGISTER_SESSION_KEY = "certificate_register"


def _register_verified(request) -> bool:
    state = request.session.get(REGISTER_SESSION_KEY) or {}
    return (
        state.get("customer") == request.user.pk
        and state.get("bank") == request.bank.pk
        and timezone.now().timestamp() - state.get("verified_at", 0) < settings.CERTBANK_ISSUE_VERIFIED_SECONDS
    )


@customer_required
@sensitive_post_parameters("code")
def register_view(request):
    """Step 1: the extra SMS check; step 2 (in the browser): choose, unlock and sign."""
    form = SmsCodeForm()
    if request.method == "POST" and request.POST.get("action") == "send":
        try:
            account_services.sms_code_send(customer=request.user, reason="타행/타기관 인증서 등록", request=request)
            messages.success(request, _("인증번호를 보냈습니다."))
        except AccountsError as exc:
            messages.error(request, exc.message)
        return redirect("certificates:register", bank=request.bank.slug)
    if request.method == "POST":
        form = SmsCodeForm(request.POST)
        if form.is_valid():
            try:
                account_services.sms_code_verify(customer=request.user, code=form.cleaned_data["code"], request=request)
            except AccountsError as exc:
                form.add_error("code", exc.message)
            else:
                request.session[REGISTER_SESSION_KEY] = {
                    "customer": request.user.pk,
                    "bank": request.bank.pk,
                    "verified_at": timezone.now().timestamp(),
                }
                return redirect("certificates:register", bank=request.bank.slug)
    context = {
        "form": form,
        "verified": _register_verified(request),
        "phone": request.user.masked_phone,
        "registrations": selectors.registrations_made_here(customer=request.user, bank=request.bank),
    }
    return render(request, "certificates/register.html", context)


@require_POST
@json_customer_required
def register_complete_view(request):
    if not _register_verified(request):
        return _refusal_response(Refusal.NOT_VERIFIED)
    try:
        certificate = _b64_field(request, "certificate")
        signature = _b64_field(request, "signature")
        r = _b64_field(request, "r")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        services.certificate_register_at_bank(
            customer=request.user,
            bank=request.bank,
            session_key=request.session.session_key or "",
            token=request.POST.get("challenge", ""),
            certificate_der=certificate,
            signature=signature,
            r=r,
            request=request,
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    request.session.pop(REGISTER_SESSION_KEY, None)
    messages.success(request, _("인증서를 등록했습니다. 이제 이 은행에서 인증서로 로그인할 수 있습니다."))
    return JsonResponse({"redirect": reverse("certificates:register", kwargs={"bank": request.bank.slug})})


@require_POST
@customer_required
def unregister_view(request, serial):
    certificate = get_object_or_404(Certificate, serial=serial.lower())
    try:
        services.certificate_unregister_at_bank(
            customer=request.user, bank=request.bank, certificate=certificate, request=request
        )
    except InvalidTransition:
        messages.error(request, _("이 은행에 등록한 타행/타기관 인증서가 아닙니다."))
    else:
        messages.success(request, _("인증서 등록을 해제했습니다. 이 은행에서는 더 이상 이 인증서를 쓸 수 없습니다."))
    return redirect("certificates:register", bank=request.bank.slug)
