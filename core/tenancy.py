"""Tenancy: the first path segment selects the demo bank.

Customer URLs look like `/<bank-slug>/...`. The URL resolver captures the
slug as the `bank` keyword; this middleware turns it into `request.bank`
(404 for an unknown slug) before the view runs, so views never look it up.
"""

from django.http import Http404
from django.utils.translation import gettext as _

from core.models import Bank


class BankMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.bank = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("bank", None)
        if slug is None:
            return None
        try:
            request.bank = Bank.objects.get(slug=slug)
        except Bank.DoesNotExist:
            raise Http404(_("없는 은행입니다.")) from None
        return None
