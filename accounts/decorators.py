from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


def logged_in_customer(request):
    """The customer logged in at the bank in the URL, or None (a session of
    another bank opens nothing here)."""
    user = request.user
    if user.is_authenticated and request.bank is not None and user.bank_id == request.bank.id:
        return user
    return None


def customer_required(view):
    """Only a customer of the bank in the URL, logged in at that bank.

    SECURITY: a session from bank 901 does not open pages of bank 902; each
    bank is its own internet banking, as in real life.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if logged_in_customer(request) is not None:
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            messages.info(request, _("%(bank)s 고객으로 로그인해 주세요.") % {"bank": request.bank.name})
        login_url = reverse("accounts:login", kwargs={"bank": request.bank.slug})
        return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")

    return wrapper


def demo_only(view):
    """Pages that exist only in demo mode (the demo phone and OTP)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.CERTBANK_DEMO_MODE:
            raise Http404()
        return view(request, *args, **kwargs)

    return wrapper
