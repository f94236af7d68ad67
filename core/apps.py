from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core import checks  # noqa: F401  (registers the deployment checks on import)


class CoreConfig(AppConfig):
    """The shared core: banks (tenancy), field crypto, SMS and notices, the
    error base and the service boundary. It imports no other Certbank app."""

    name = "core"
    verbose_name = _("공통")
