"""The Python protocol client logs in over real HTTP against a live server."""

import pytest

from certificates.client.protocol import CertbankClient, ProtocolError
from tests.certificates.conftest import issue_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_holder(test_ca, live_server, make_customer, rsa_keys):
    customer = make_customer()
    return issue_for(customer, rsa_keys[0])


def test_client_logs_in_with_a_certificate_and_sees_the_accounts(live_server, live_holder):
    client = CertbankClient(live_server.url, "nuri")
    assert client.login_with_certificate(live_holder.der, live_holder.key) == "/nuri/accounts/"
    page = client.get("accounts/")
    assert page.status == 200
    assert "1,000,000원" in page.text


def test_client_reports_the_servers_refusal(live_server, live_holder, rsa_keys):
    client = CertbankClient(live_server.url, "nuri")
    with pytest.raises(ProtocolError) as refused:
        client.login_with_certificate(live_holder.der, rsa_keys[1])  # the wrong key
    assert refused.value.status == 403
    assert refused.value.code == "bad_signature"
    assert refused.value.message == "전자서명 검증에 실패했습니다."
