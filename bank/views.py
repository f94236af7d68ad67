from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from core.models import Bank


@cache_control(max_age=300, public=True)
def brand_css_view(request, slug):
    """The bank's colour as CSS custom properties (no inline styles under the CSP)."""
    bank = get_object_or_404(Bank, slug=slug)
    css = f":root {{ --brand: {bank.colour}; }}\n"
    return HttpResponse(css, content_type="text/css; charset=utf-8")


def server_error_view(request):
    """The 500 page: no template logic that could fail again, and the request
    id the log line carries, for the customer to quote."""
    request_id = getattr(request, "request_id", "")
    # Without the request's context processors: whatever failed must not run again.
    return HttpResponseServerError(loader.get_template("500.html").render({"request_id": request_id}))


def csrf_failure_view(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def favicon_view(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin)."""
    return redirect(static("favicon.svg"), permanent=True)
