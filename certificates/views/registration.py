"""타행/타기관 인증서 등록 and its removal."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from certificates import selectors, services
from certificates.exceptions import CertificateRefused, InvalidTransition, Refusal
from certificates.forms import SmsCodeForm
from certificates.models import Certificate
from certificates.views.common import (
    REGISTER_SESSION_KEY,
    _b64_field,
    _BadField,
    _refusal_response,
    _register_verified,
    json_customer_required,
)
from core.errors import DomainError

# --- 타행/타기관 인증서 등록 -------------------------------------------------------------------------


@customer_required
@sensitive_post_parameters("code")
def register_view(request):
    """Step 1: the extra SMS check; step 2 (in the browser): choose, unlock and sign."""
    form = SmsCodeForm()
    if request.method == "POST" and request.POST.get("action") == "send":
        try:
            account_services.sms_code_send(customer=request.user, reason="타행/타기관 인증서 등록", request=request)
            messages.success(request, _("인증번호를 보냈습니다."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("certificates:register", bank=request.bank.slug)
    if request.method == "POST":
        form = SmsCodeForm(request.POST)
        if form.is_valid():
            try:
                account_services.sms_code_verify(customer=request.user, code=form.cleaned_data["code"], request=request)
            except DomainError as exc:
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
@sensitive_post_parameters("r")
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
