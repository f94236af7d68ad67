"""Per-client limits count a network: an IPv4 address or an IPv6 /64."""

import pytest
from django.test import RequestFactory

from core.checks import proxy_hops_configured
from core.clients import client_network, request_network


@pytest.mark.parametrize(
    ("ip", "client"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_clients_are_counted_per_ipv4_address_or_ipv6_64(ip, client):
    assert client_network(ip) == client


def _request(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_proxies_the_client_is_remote_addr_and_forwarded_headers_are_ignored(settings):
    settings.CERTBANK_PROXY_HOPS = 0
    assert request_network(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_behind_one_proxy_the_client_is_what_the_proxy_saw_not_what_the_client_claims(settings):
    settings.CERTBANK_PROXY_HOPS = 1
    # The client forged an entry; the proxy appended the address it really saw.
    assert request_network(_request("10.0.0.2", "198.51.100.1, 203.0.113.7")) == "203.0.113.7"
    assert request_network(_request("10.0.0.2", "203.0.113.9")) == "203.0.113.9"
    # Not through the proxy (no header): the direct peer is all there is.
    assert request_network(_request("203.0.113.5")) == "203.0.113.5"


def test_behind_two_proxies_the_outermost_ones_view_counts(settings):
    settings.CERTBANK_PROXY_HOPS = 2
    assert request_network(_request("10.0.0.3", "1.2.3.4, 203.0.113.7, 10.0.0.2")) == "203.0.113.7"


def test_deploy_check_warns_behind_a_tls_proxy_without_proxy_hops(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CERTBANK_PROXY_HOPS = 0
    assert [warning.id for warning in proxy_hops_configured(None)] == ["certbank.W001"]
    settings.CERTBANK_PROXY_HOPS = 1
    assert proxy_hops_configured(None) == []
