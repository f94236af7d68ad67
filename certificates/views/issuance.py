"""발급·재발급: the verification (flows.views.StepUpView: 본인확인, OTP, SMS),
logged in or not, then the keys page. The issuance service consumes the
verification; these views only carry its token."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters

from accounts.device import device_token_issue
from accounts.models import VerificationGrant
from bank.http import json_endpoint, json_malformed
from certificates import services
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import IssueChoiceForm, IssueForm
from certificates.models import Certificate
from certificates.views.common import CLOUD_SETUP_SESSION_KEY, cloud_setup_take, issued_answer
from flows.forms import IdentityStepForm
from flows.views import StepUpView, grant_forget, grant_token, session_grant

ISSUE = VerificationGrant.Purpose.ISSUE


def issue_grant(request) -> VerificationGrant | None:
    """This session's finished issuance verification (the issuance service consumes it)."""
    return session_grant(request, ISSUE, finished=True)


class IssueStepUpView(StepUpView):
    """발급·재발급 step 1, from the login page or 인증센터 as well as logged in:
    name (when logged out), RRN, an account and its PIN, OTP if enrolled, SMS."""

    purpose = ISSUE
    title = gettext_lazy("인증서 발급·재발급")
    lead = gettext_lazy(
        "인증서를 발급하려면 본인확인이 필요합니다. 주민등록번호, 보유 계좌와 계좌 비밀번호를 입력하면 "
        "등록된 휴대폰으로 인증번호를 보내 드립니다."
    )
    logged_out_mode = IdentityStepForm.MODE_NAME
    detail_form_class = IssueChoiceForm
    steps_template = "certificates/_issue_steps.html"

    def next_url(self, grant):
        return reverse("certificates:issue_keys", kwargs={"bank": self.request.bank.slug})


issue_start_view = IssueStepUpView.as_view()


def issue_keys_view(request):
    """Step 2: keys are made, the request signed and the certificate stored in the browser."""
    grant = issue_grant(request)
    if grant is None:
        messages.info(request, _("본인확인을 먼저 완료해 주세요."))
        return redirect("certificates:issue", bank=request.bank.slug)
    if grant.detail.get("kind") == Certificate.Kind.FINANCIAL:
        return render(request, "certificates/issue_cloud.html", {"customer": grant.customer})
    return render(request, "certificates/issue_keys.html", {"customer": grant.customer})


@sensitive_post_parameters("r", "verifier", "wrapped_key")
@json_endpoint(IssueForm)
def issue_complete_view(request, data):
    # Which service: the kind chosen with the verification (the service checks it again as it consumes it).
    current = issue_grant(request)
    financial = current is not None and current.detail.get("kind") == Certificate.Kind.FINANCIAL
    common = {
        "grant": grant_token(request, ISSUE),
        "bank": request.bank,
        "session_key": request.session.session_key or "",
        "token": data["challenge"],
        "public_key_spki": data["public_key"],
        "signature": data["signature"],
        "r": data["r"],
        "request": request,
    }
    if financial:
        if not data["verifier"] or not data["wrapped_key"]:
            return json_malformed()
        setup = cloud_setup_take(request, "issue", services.CloudSetup)
        if setup is None:
            raise CertificateRefused(Refusal.NOT_VERIFIED)
        with device_token_issue(request) as token:
            certificate = services.certificate_issue_financial(
                **common,
                verifier=data["verifier"],
                wrapped_key=data["wrapped_key"],
                setup=setup,
                device_token=token,
                user_agent=request.headers.get("User-Agent", ""),
            )
    else:
        certificate = services.certificate_issue_joint(**common)
    grant_forget(request, ISSUE)
    request.session.pop(CLOUD_SETUP_SESSION_KEY, None)
    return issued_answer(certificate, redirect=reverse("accounts:login", kwargs={"bank": request.bank.slug}))
