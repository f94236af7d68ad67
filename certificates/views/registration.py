"""타행/타기관 인증서 등록 and its removal. The verification (REGISTER) is
the step-up page: logged in, the login and an SMS code; logged out, from the
login page, 본인확인 and SMS. The registration service consumes it."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import customer_required, logged_in_customer
from accounts.models import VerificationGrant
from bank.http import json_endpoint
from certificates import selectors, services
from certificates.exceptions import InvalidTransition
from certificates.forms import RegisterForm
from certificates.models import Certificate
from flows.forms import IdentityStepForm
from flows.views import StepUpView, grant_forget, grant_token, session_grant

REGISTER = VerificationGrant.Purpose.REGISTER


def register_grant(request) -> VerificationGrant | None:
    """This session's finished registration verification (the registration service consumes it)."""
    return session_grant(request, REGISTER, finished=True)


def _registrations(request):
    customer = logged_in_customer(request)
    return selectors.registrations_made_here(customer=customer, bank=request.bank) if customer is not None else None


class RegisterStepUpView(StepUpView):
    purpose = REGISTER
    template_name = "certificates/register_verify.html"
    title = gettext_lazy("타행/타기관 인증서 등록")
    lead = gettext_lazy(
        "다른 은행에서 발급받은 본인의 인증서를 이 은행에서도 쓰려면 본인확인이 필요합니다. "
        "이름, 주민등록번호, 이 은행 계좌와 계좌 비밀번호를 입력해 주세요."
    )
    logged_out_mode = IdentityStepForm.MODE_NAME

    def extra_context(self):
        return {"registrations": _registrations(self.request)}

    def finish(self, grant):
        """Step 2 (in the browser): choose, unlock and sign."""
        return render(self.request, "certificates/register.html", {"registrations": _registrations(self.request)})


register_view = RegisterStepUpView.as_view()


@sensitive_post_parameters("r")
@json_endpoint(RegisterForm)
def register_complete_view(request, data):
    services.certificate_register_at_bank(
        grant=grant_token(request, REGISTER),
        bank=request.bank,
        session_key=request.session.session_key or "",
        token=data["challenge"],
        certificate_der=data["certificate"],
        signature=data["signature"],
        r=data["r"],
        request=request,
    )
    grant_forget(request, REGISTER)
    messages.success(request, _("인증서를 등록했습니다. 이제 이 은행에서 인증서로 로그인할 수 있습니다."))
    target = "certificates:register" if logged_in_customer(request) is not None else "accounts:login"
    return {"redirect": reverse(target, kwargs={"bank": request.bank.slug})}


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
