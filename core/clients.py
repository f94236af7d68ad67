"""Who is asking, as a network: the key that per-client limits count under."""

import ipaddress

from django.conf import settings

# The client key of requests without an address (never the case behind a web server).
UNKNOWN_CLIENT = "unknown"


def client_network(ip: str | None) -> str:
    """An IPv4 address, or the /64 of an IPv6 address (one household or phone
    gets a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request) -> str | None:
    """The client's address. Behind CERTBANK_PROXY_HOPS trusted reverse
    proxies (each appending the address it saw to X-Forwarded-For), it is the
    address the outermost of them saw: the right-most entries were written by
    our own proxies, anything to their left by the client and is not trusted.
    With no proxies configured, REMOTE_ADDR (a client cannot forge it)."""
    if request is None:
        return None
    hops = settings.CERTBANK_PROXY_HOPS
    if hops <= 0:
        return request.META.get("REMOTE_ADDR")
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        # Fewer entries than proxies: the request did not come through all of them.
        return request.META.get("REMOTE_ADDR")
    return forwarded[-hops]


def request_network(request) -> str:
    return client_network(client_address(request))
