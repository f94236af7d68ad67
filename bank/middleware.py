"""Site-wide middleware: request ids, Content-Security-Policy and idle logout."""

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import audit_record
from core.requests import request_id_enter, request_id_leave, request_id_new

# SECURITY: no 'unsafe-inline' anywhere. Every script and style is a file
# under static/, so an injected <script> or style attribute cannot run.
# default-src 'none': nothing loads unless a directive below names it, so a
# new kind of resource (frames, workers, media, manifests) stays blocked until
# someone decides it is needed. img-src allows data: for the CSS icons.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# No other site may embed our pages' subresources (scripts, JSON, images) in
# its own pages (Fetch standard, Cross-Origin-Resource-Policy).
CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"

SESSION_LAST_SEEN = "certbank_last_seen"
# The idle stamp is rewritten only once it is this old (issue 13): a page and
# the requests it makes within half a minute save the session row once, not
# each. Idleness is counted from the stamp, so a session is logged out after
# between 9½ and 10 minutes without a request: early, never late.
IDLE_STAMP_INTERVAL = 30


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", CROSS_ORIGIN_RESOURCE_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        return response


def idle_renew(request) -> None:
    """Restart the idle countdown now (the 연장 button, a login)."""
    request.session[SESSION_LAST_SEEN] = timezone.now().timestamp()


def idle_seconds_left(request) -> int:
    """Seconds before this session is logged out for inactivity."""
    last_seen = request.session.get(SESSION_LAST_SEEN)
    timeout = settings.CERTBANK_IDLE_TIMEOUT
    if last_seen is None:
        return timeout
    return max(0, math.ceil(timeout - (timezone.now().timestamp() - last_seen)))


class IdleTimeoutMiddleware:
    """Log out a session idle for CERTBANK_IDLE_TIMEOUT seconds (10 minutes).

    The countdown in the page header is a courtesy; this is the rule. Every
    authenticated request either renews the session (the stamp, when it is
    IDLE_STAMP_INTERVAL old) or, when it arrives too late, ends it before any
    view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        now = timezone.now().timestamp()
        if request.user.is_authenticated:
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - last_seen > settings.CERTBANK_IDLE_TIMEOUT:
                return self._expire(request)
            if last_seen is None or now - last_seen >= IDLE_STAMP_INTERVAL:
                request.session[SESSION_LAST_SEEN] = now
        response = self.get_response(request)
        # A login during this request starts the countdown; otherwise a session
        # left alone after logging in would be renewed by its next request.
        if request.user.is_authenticated and SESSION_LAST_SEEN not in request.session:
            request.session[SESSION_LAST_SEEN] = now
        return response

    def _expire(self, request):
        user = request.user
        audit_record(action=Action.SESSION_EXPIRED, customer=user, bank=user.bank, request=request)
        logout(request)
        messages.info(request, _("10분 동안 사용하지 않아 자동으로 로그아웃되었습니다. 다시 로그인해 주세요."))
        parts = request.path.strip("/").split("/")
        if parts and parts[0] == "staff":
            return redirect("admin:login")
        if user.bank_id:
            return redirect("banking:home", bank=user.bank.slug)
        return redirect("home")


class RequestIdMiddleware:
    """Gives each request an id (core.requests): logged with everything it
    logs, sent as X-Request-ID, shown on the error page. A client's own
    X-Request-ID is not trusted (it would let anyone forge log lines)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_new()
        token = request_id_enter(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_leave(token)
        response["X-Request-ID"] = request.request_id
        return response


class NoStoreMiddleware:
    """Cache-Control: no-store on what is one person's: every answer a
    logged-in customer or staff member gets (pages, receipts, history, their
    certificates), and every JSON answer and CSV download (the certificate
    window's answers during a logged-out issuance), so neither a shared
    computer's browser cache nor a proxy keeps a copy. Public pages, the
    public CA certificates and what a view marked cacheable itself (the brand
    CSS) keep their headers; static files never get here (WhiteNoise answers
    them before)."""

    PRIVATE_TYPES = ("application/json", "text/csv")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            return response
        user = getattr(request, "user", None)
        private = (user is not None and user.is_authenticated) or response.get("Content-Type", "").startswith(self.PRIVATE_TYPES)
        if private:
            add_never_cache_headers(response)
        return response


class EmptyRefusalMiddleware:
    """A refusal answered with an empty body (405 from require_POST or a
    class-based view, an empty HttpResponseBadRequest) gets a Korean message:
    the JSON {"error", "code"} a page's script reads when it asked for JSON,
    otherwise the site's error page. Bad input always gets a clear Korean
    message (tests/fuzz); the status, the Allow and Retry-After headers and
    the cookies the view and inner middleware set stay. It sits inside
    CsrfViewMiddleware, so the token the page's forms carry gets its cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not 400 <= response.status_code < 500 or response.streaming or response.content or request.method == "HEAD":
            return response
        if response.status_code == 405:
            message, code = _("허용되지 않는 요청입니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."), "method_not_allowed"
        else:
            message, code = _("요청을 처리할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."), "refused"
        if request.headers.get("Accept", "").startswith("application/json"):
            refusal = JsonResponse({"error": str(message), "code": code}, status=response.status_code)
        else:
            refusal = render(request, "4xx.html", {"message": message}, status=response.status_code)
        for header in ("Allow", "Retry-After"):
            if header in response:
                refusal[header] = response[header]
        refusal.cookies = response.cookies
        return refusal
