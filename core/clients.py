"""Who is asking, as a network: the key that per-client limits count under."""

import ipaddress

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


def request_network(request) -> str:
    return client_network(request.META.get("REMOTE_ADDR") if request is not None else None)
