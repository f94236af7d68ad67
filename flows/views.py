"""The step-up page: one view that every flow needing a verification
subclasses (certificate issuance, 폐기, 효력회복, registration, a 금융인증서
device, the password reset, 단말기 지정).

The page shows the step the grant is at: 본인확인 (flows.stepup opens the
grant), then the OTP code if the purpose asks for it and the customer has
one, then the SMS code (accounts.verification records each). The session
holds only the grant's token; when the grant is complete, `finish()` runs:
either it calls the service that consumes the grant, or it leads to the
page whose service will. Deciding "verified" is never done here.
"""

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from accounts.decorators import logged_in_customer
from accounts.models import VerificationGrant
from accounts.services import sms_code_valid_until
from accounts.verification import (
    NEEDS,
    Factor,
    grant_current,
    grant_missing,
    grant_otp_verify,
    grant_sms_bind,
    grant_sms_send,
    grant_sms_verify,
)
from bank.http import json_error, json_refusal
from core.errors import DomainError
from flows import stepup
from flows.forms import IdentityStepForm, OtpStepForm, SmsStepForm

STEP_IDENTITY = "identity"
STEP_OTP = "otp"
STEP_SMS = "sms"
STEP_FINISH = "finish"


def grant_session_key(purpose: str) -> str:
    return f"grant:{purpose}"


def grant_token(request, purpose: str) -> str:
    """The token of this session's grant for `purpose` (empty if none)."""
    return request.session.get(grant_session_key(purpose)) or ""


def grant_forget(request, purpose: str) -> None:
    request.session.pop(grant_session_key(purpose), None)


def session_grant(request, purpose: str, *, finished: bool = False) -> VerificationGrant | None:
    """This session's unexpired, unused grant for `purpose` at this bank (only
    a finished one with `finished`), for pages to know what to show; the
    service that needs it consumes it."""
    grant = grant_current(
        token=grant_token(request, purpose), purpose=purpose, session_key=request.session.session_key or "", bank=request.bank
    )
    if grant is None or (finished and grant_missing(grant)):
        return None
    return grant


def session_key_of(request) -> str:
    if not request.session.session_key:
        request.session.create()  # INSERTed by the request's one save (bank.sessions)
    return request.session.session_key


@method_decorator(sensitive_post_parameters("rrn", "pin", "code"), name="dispatch")
class StepUpView(View):
    purpose: str = ""
    template_name = "flows/stepup.html"
    title = ""
    lead = ""
    # Who may start: a logged-in customer always; logged out by name and RRN
    # (IdentityStepForm.MODE_NAME) or by login ID (MODE_LOGIN_ID), or nobody (None).
    logged_out_mode: str | None = None
    # Extra choices asked with 본인확인 and kept on the grant (e.g. the certificate kind).
    detail_form_class = None
    steps_template: str | None = None

    # --- what a flow says -----------------------------------------------------------

    def fixed_detail(self) -> dict:
        """What the URL fixes for this grant (e.g. the certificate's serial)."""
        return {}

    def done(self, grant: VerificationGrant) -> str | None:
        """The grant is complete: make the change it allows (the service consumes
        it; a refusal is raised) and return the success message; or None when
        the next page's service will consume it."""
        return None

    def next_url(self, grant: VerificationGrant) -> str:
        raise NotImplementedError

    def finish(self, grant: VerificationGrant) -> HttpResponse:
        """The grant is complete: `done`, then on to `next_url` (in JSON: say so)."""
        try:
            message = self.done(grant)
        except DomainError as exc:
            grant_forget(self.request, self.purpose)
            if self.wants_json:
                return json_refusal(exc)
            messages.error(self.request, exc.message)
            return redirect(self.next_url(grant))
        if message is not None:
            grant_forget(self.request, self.purpose)
        if self.wants_json:
            return JsonResponse({"step": "done", "message": message or "", "redirect": self.next_url(grant)})
        if message:
            messages.success(self.request, message)
        return redirect(self.next_url(grant))

    def extra_context(self) -> dict:
        return {}

    # --- the steps --------------------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        # The certificate window drives the same steps with fetch() and JSON (Accept: application/json).
        self.wants_json = request.headers.get("Accept", "").startswith("application/json")
        self.customer = logged_in_customer(request)
        if self.customer is None and self.logged_out_mode is None:
            if self.wants_json:
                return json_error(_("로그인이 필요합니다. 다시 로그인해 주세요."), status=401, code="login_required")
            login_url = reverse("accounts:login", kwargs={"bank": request.bank.slug})
            return redirect(f"{login_url}?next={request.path}")
        return super().dispatch(request, *args, **kwargs)

    def _grant(self) -> VerificationGrant | None:
        grant = session_grant(self.request, self.purpose)
        if grant is None:
            return None
        # A grant for another certificate, or of another customer than the one logged in now, is not this page's.
        if any(grant.detail.get(name) != value for name, value in self.fixed_detail().items()):
            return None
        if self.customer is not None and grant.customer_id != self.customer.pk:
            return None
        return grant

    def _session_way(self) -> bool:
        """A logged-in customer meets this purpose with the login and SMS alone."""
        return self.customer is not None and any(
            Factor.LOGIN in way.factors and Factor.IDENTITY not in way.factors for way in NEEDS[self.purpose]
        )

    def _identity_mode(self) -> str:
        return IdentityStepForm.MODE_SESSION if self.customer is not None else self.logged_out_mode

    def get(self, request, *args, **kwargs):
        if "restart" in request.GET:
            grant_forget(request, self.purpose)
            return redirect(request.path)
        grant = self._grant()
        if grant is not None and not grant_missing(grant):
            if self._acts():
                # SECURITY: a GET never makes the change; a leftover finished verification asks first.
                return self._render(grant, finishing=True)
            return self.finish(grant)
        return self._render(grant)

    def _acts(self) -> bool:
        """Whether finishing makes a change here (done() overridden), rather than leading on."""
        return type(self).done is not StepUpView.done

    def post(self, request, *args, **kwargs):
        step = request.POST.get("step", "")
        grant = self._grant()
        if step == STEP_IDENTITY:
            return self._post_identity(grant)
        if step == "send":
            return self._post_send(grant)
        if step in (STEP_OTP, STEP_SMS) and grant is not None:
            return self._post_code(grant, step)
        if step == STEP_FINISH and grant is not None and not grant_missing(grant):
            return self.finish(grant)
        message = _("본인확인 시간이 지났거나 처음부터 다시 해야 합니다. 다시 진행해 주세요.")
        if self.wants_json:
            return json_error(message, status=409, code="stepup_restart")
        messages.info(request, message)
        return redirect(request.path)

    def _detail(self, form=None) -> dict:
        detail = dict(form.cleaned_data) if form is not None else {}
        return {**detail, **self.fixed_detail()}

    def _post_identity(self, grant):
        request = self.request
        form = IdentityStepForm(request.POST, mode=self._identity_mode())
        detail_form = self.detail_form_class(request.POST) if self.detail_form_class else None
        if not form.is_valid() or (detail_form is not None and not detail_form.is_valid()):
            return self._render(None, identity_form=form, detail_form=detail_form, status=400)
        data = form.cleaned_data
        common = {
            "purpose": self.purpose,
            "session_key": session_key_of(request),
            "rrn": data["rrn"],
            "account_number": data["account_number"],
            "pin": data["pin"],
            "request": request,
        }
        try:
            if self.customer is not None:
                grant = stepup.stepup_start(customer=self.customer, detail=self._detail(detail_form), **common)
            elif self.logged_out_mode == IdentityStepForm.MODE_NAME:
                grant = stepup.stepup_start_logged_out(
                    bank=request.bank, name=data["name"], detail=self._detail(detail_form), **common
                )
            else:
                grant = stepup.stepup_start_by_login_id(bank=request.bank, login_id=data["login_id"], **common)
        except DomainError as exc:
            form.add_error(None, exc.message)
            response = self._render(None, identity_form=form, detail_form=detail_form, status=exc.status)
            if exc.retry_after:
                response["Retry-After"] = str(exc.retry_after)
            return response
        request.session[grant_session_key(self.purpose)] = grant.token
        return self._after_step(grant)

    def _post_send(self, grant):
        request = self.request
        try:
            if grant is None and self._session_way():
                detail_form = self.detail_form_class(request.POST) if self.detail_form_class else None
                if detail_form is not None and not detail_form.is_valid():
                    return self._render(None, detail_form=detail_form)
                grant = stepup.stepup_start_session(
                    purpose=self.purpose,
                    customer=self.customer,
                    session_key=session_key_of(request),
                    detail=self._detail(detail_form),
                    request=request,
                )
                request.session[grant_session_key(self.purpose)] = grant.token
            if grant is None:
                return redirect(request.path)
            grant_sms_send(grant=grant, request=request)
        except DomainError as exc:
            if self.wants_json:
                return json_refusal(exc)
            messages.error(request, exc.message)
        else:
            if self.wants_json:
                return self._render(grant)
            messages.success(request, _("인증번호를 보냈습니다. 3분 안에 입력해 주세요."))
        return redirect(request.path)

    def _post_code(self, grant, step):
        request = self.request
        form = (OtpStepForm if step == STEP_OTP else SmsStepForm)(request.POST)
        if not form.is_valid():
            return self._render(grant, code_form=form, status=400)
        verify = grant_otp_verify if step == STEP_OTP else grant_sms_verify
        try:
            verify(grant=grant, code=form.cleaned_data["code"], request=request)
        except DomainError as exc:
            form.add_error("code", exc.message)
            response = self._render(grant, code_form=form, status=exc.status)
            if exc.retry_after:
                response["Retry-After"] = str(exc.retry_after)
            return response
        return self._after_step(grant)

    def _after_step(self, grant):
        """The next step: the SMS code is sent as the SMS step begins."""
        missing = grant_missing(grant)
        if not missing:
            return self.finish(grant)
        if missing[0] == Factor.SMS and sms_code_valid_until(customer=grant.customer, bind=grant_sms_bind(grant)) is None:
            try:
                grant_sms_send(grant=grant, request=self.request)
            except DomainError as exc:
                if self.wants_json:
                    return json_refusal(exc)
                messages.error(self.request, exc.message)
        if self.wants_json:
            return self._render(grant)
        return redirect(self.request.path)

    def _render(self, grant, *, identity_form=None, detail_form=None, code_form=None, status=200, finishing=False):
        missing = grant_missing(grant) if grant is not None else []
        if finishing:
            step = STEP_FINISH
        elif grant is None:
            step = STEP_SMS if self._session_way() else STEP_IDENTITY
        else:
            step = STEP_OTP if Factor.OTP in missing else STEP_SMS
        subject = grant.customer if grant is not None else self.customer
        sms_valid_until = (
            sms_code_valid_until(customer=subject, bind=grant_sms_bind(grant)) if grant is not None and step == STEP_SMS else None
        )
        if self.wants_json:
            return self._json_state(step, grant, subject, sms_valid_until, identity_form or code_form or detail_form, status)
        context = {
            "step": step,
            "grant": grant,
            "purpose": self.purpose,
            "title": self.title,
            "lead": self.lead,
            "steps_template": self.steps_template,
            "identity_form": identity_form or IdentityStepForm(mode=self._identity_mode() or IdentityStepForm.MODE_SESSION),
            "detail_form": detail_form
            or (self.detail_form_class(initial=grant.detail if grant else None) if self.detail_form_class else None),
            "code_form": code_form or (OtpStepForm() if step == STEP_OTP else SmsStepForm()),
            "phone": subject.masked_phone if subject is not None else "",
            "sms_valid_until": sms_valid_until,
            "sms_pending": grant is None and step == STEP_SMS,
            **self.extra_context(),
        }
        return render(self.request, self.template_name, context, status=status)

    def _json_state(self, step, grant, subject, sms_valid_until, form, status) -> JsonResponse:
        """Where the verification stands, for the certificate window's own steps."""
        answer = {
            "step": step,
            "sms_pending": grant is None and step == STEP_SMS,
            "phone": subject.masked_phone if subject is not None else "",
            "sms_valid_until": sms_valid_until.isoformat() if sms_valid_until else None,
        }
        if form is not None and form.errors:
            answer["errors"] = {field: [str(error) for error in errors] for field, errors in form.errors.items()}
            answer["error"] = next(iter(answer["errors"].values()))[0]
        return JsonResponse(answer, status=status)
