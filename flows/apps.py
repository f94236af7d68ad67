from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlowsConfig(AppConfig):
    """Cross-app flows: sign-up, unlocking, step-up verification, signed
    transfers and the demo world. They use accounts, banking and
    certificates; nothing below imports them."""

    name = "flows"
    verbose_name = _("업무 흐름")
