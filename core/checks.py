"""Deployment checks (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def proxy_hops_configured(app_configs, **kwargs):
    """Behind a TLS proxy, REMOTE_ADDR is the proxy's: every per-network limit
    would then count all clients as one network, and anyone could make the
    whole bank wait. Say how many proxies append X-Forwarded-For."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and settings.CERTBANK_PROXY_HOPS <= 0:
        return [
            Warning(
                "DJANGO_BEHIND_TLS_PROXY is on but CERTBANK_PROXY_HOPS is 0: "
                "per-network limits would key on the proxy's address.",
                hint="Set CERTBANK_PROXY_HOPS to the number of reverse proxies that append X-Forwarded-For.",
                id="certbank.W001",
            )
        ]
    return []
