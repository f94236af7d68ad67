"""One adapter for the JSON endpoints the pages' scripts call with fetch().

    class RenewForm(forms.Form):
        certificate = Base64Field(max_bytes=8192)
        signature = Base64Field(max_bytes=1024)

    @json_endpoint(RenewForm)
    def renew_complete_view(request, data):
        certificate = services.certificate_renew(..., certificate_der=data["certificate"])
        return {"serial": certificate.serial}

The form checks what the browser sent (base64 strictly decoded and bounded
by size, before any service sees it): anything malformed is a 400 with a
Korean message and changes nothing. A DomainError from the service is its
own status, code and Korean message (and Retry-After when it says how long
to wait). A view returns a dict (200) or a response of its own.
"""

import base64
import binascii
import functools

from django import forms
from django.contrib.auth import authenticate, login
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.decorators import logged_in_customer
from bank.middleware import idle_renew
from core.boundary import service_call
from core.errors import DomainError

MALFORMED = "malformed_request"


class Base64Field(forms.Field):
    """Bytes sent as standard base64, strictly decoded, at most `max_bytes`
    (and exactly `length` bytes when given)."""

    default_error_messages = {
        "required": gettext_lazy("요청 형식이 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."),
        "invalid": gettext_lazy("요청 형식이 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."),
    }

    def __init__(self, *, max_bytes: int, length: int | None = None, **kwargs):
        self.max_bytes = max_bytes
        self.length = length
        super().__init__(**kwargs)

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def to_python(self, value):
        if value in self.empty_values:
            return b""
        # SECURITY: bounded before decoding; no whitespace, no URL-safe alphabet, padding checked.
        if not isinstance(value, str) or len(value) > (self.max_bytes + 2) // 3 * 4:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if len(decoded) > self.max_bytes or (self.length is not None and len(decoded) != self.length):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return decoded


def b64_text(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def json_error(message, *, status: int, code: str, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({"error": str(message), "code": code}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def json_refusal(error: DomainError) -> JsonResponse:
    """A service's refusal as the scripts read it: {"error": Korean message, "code": ...}."""
    return json_error(error.message, status=error.status, code=error.code, retry_after=error.retry_after)


def json_malformed() -> JsonResponse:
    return json_error(_("요청 형식이 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."), status=400, code=MALFORMED)


def json_endpoint(form_class=None, *, methods=("POST",)):
    """Wrap a fetch() endpoint (the module docstring)."""

    def decorate(view):
        @functools.wraps(view)
        def endpoint(request, *args, **kwargs):
            if request.method not in methods:
                response = json_error(_("허용되지 않는 요청입니다."), status=405, code="method_not_allowed")
                response["Allow"] = ", ".join(methods)
                return response
            data = {}
            if form_class is not None:
                form = form_class(request.POST if request.method == "POST" else request.GET)
                if not form.is_valid():
                    # A form may name its own refusal for malformed input (e.g. 인증서 복사's codes).
                    refusal = form.refusal() if hasattr(form, "refusal") else None
                    return json_refusal(refusal) if refusal is not None else json_malformed()
                data = form.cleaned_data
            try:
                answer = view(request, data, *args, **kwargs)
            except DomainError as error:
                return json_refusal(error)
            return answer if isinstance(answer, HttpResponse) else JsonResponse(answer)

        return endpoint

    return decorate


def json_login_required(view):
    """For fetch() endpoints of a logged-in customer of the bank in the URL: a JSON 401, not a redirect."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if logged_in_customer(request) is not None:
            return view(request, *args, **kwargs)
        return json_error(_("로그인이 필요합니다. 다시 로그인해 주세요."), status=401, code="login_required")

    return wrapper


def login_in_one_transaction(request, **credentials):
    """authenticate() and login() in one transaction: the login service's
    checks and audit row, last_login, the old session row's DELETE and the new
    one's INSERT commit together (issue 13), under the service's locks until
    that commit (core.boundary.service_call). Returns the customer, or None
    when no backend accepts the credentials; a refusal is raised after its
    kept writes (failure counters, the audit row) have committed."""
    # No savepoint of the block's own: authenticate() refuses only through the
    # login services, which roll their own savepoints back; nothing is written before.
    with service_call(savepoint=False):
        customer = authenticate(request, **credentials)
        if customer is not None:
            login(request, customer)
            idle_renew(request)  # the countdown starts at the login (else the idle middleware stamps it afterwards)
            request.session.save()  # here, in the transaction; the middleware's save then finds it unchanged
    return customer
