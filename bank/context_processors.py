"""Template context every page shares: the bank of the URL, demo mode, and
the idle-logout countdown of a logged-in customer."""

from django.conf import settings

from bank.middleware import idle_seconds_left


def bank_context(request):
    bank = getattr(request, "bank", None)
    context = {"bank": bank, "demo_mode": settings.CERTBANK_DEMO_MODE}
    user = getattr(request, "user", None)
    if bank is not None and user is not None and user.is_authenticated:
        context["customer_here"] = user.bank_id == bank.id
        context["idle_seconds_left"] = idle_seconds_left(request)
    return context
