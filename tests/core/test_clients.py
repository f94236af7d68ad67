"""Per-client limits count a network: an IPv4 address or an IPv6 /64."""

import pytest

from core.clients import client_network


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
