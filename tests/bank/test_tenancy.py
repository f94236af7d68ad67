"""Each bank is its own internet banking (core.tenancy, accounts.decorators.customer_required)."""

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def younghee(make_customer):
    return make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")


@pytest.fixture
def gildong(make_customer, customer):
    """홍길동 again, as a customer of 가람은행 (902)."""
    return make_customer(bank_code="902", login_id="gildong")


def number_of(customer) -> str:
    return customer.deposit_accounts.get().number


def test_request_under_a_bank_url_knows_its_bank(client, nuri):
    response = client.get("/nuri/login/")
    assert response.status_code == 200
    assert response.wsgi_request.bank == nuri
    assert "누리은행" in response.content.decode()


@pytest.mark.parametrize("path", ["/nobank/", "/nobank/login/", "/nobank/accounts/", "/nobank/signup/", "/nobank/demo/phone/"])
def test_unknown_bank_slug_is_not_found(client, banks, path):
    assert client.get(path).status_code == 404


def test_unknown_bank_slug_is_not_found_for_a_logged_in_customer(logged_in_client):
    assert logged_in_client.get("/nobank/accounts/").status_code == 404


def test_customer_of_one_bank_is_sent_to_the_login_of_another(logged_in_client, garam):
    response = logged_in_client.get("/garam/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/garam/login/?next=%2Fgaram%2Faccounts%2F"
    followed = logged_in_client.get(response["Location"])
    assert "가람은행 고객으로 로그인해 주세요" in followed.content.decode()


def test_customer_of_one_bank_sees_the_other_banks_home_as_a_visitor(logged_in_client, garam):
    response = logged_in_client.get("/garam/")
    assert response.status_code == 200
    assert logged_in_client.get("/nuri/").status_code == 302  # own bank: straight to the accounts


def test_own_account_under_another_banks_url_is_not_shown(logged_in_client, customer, garam):
    response = logged_in_client.get(f"/garam/accounts/{number_of(customer)}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/garam/login/")


def test_same_person_logged_in_at_another_bank_cannot_open_their_account_there(client, customer, gildong):
    assert client.post("/garam/login/", {"login_id": "gildong", "password": PASSWORD}).status_code == 302
    assert client.get(f"/garam/accounts/{number_of(gildong)}/").status_code == 200
    assert client.get(f"/garam/accounts/{number_of(customer)}/").status_code == 404


def test_another_customers_account_at_the_same_bank_is_not_found(logged_in_client, customer, younghee):
    own = customer.deposit_accounts.get()
    assert logged_in_client.get(f"/nuri/accounts/{own.number}/").status_code == 200
    assert logged_in_client.get(f"/nuri/accounts/{own.display_number}/").status_code == 200
    other = younghee.deposit_accounts.get()
    assert logged_in_client.get(f"/nuri/accounts/{other.number}/").status_code == 404
    assert logged_in_client.get(f"/nuri/accounts/{other.display_number}/").status_code == 404


def test_bank_internal_account_is_not_found(logged_in_client, nuri):
    internal = list(nuri.accounts.filter(kind="internal"))
    assert len(internal) == 2  # 본점 운영계정, 타행이체 수수료 수입
    for account in internal:
        assert logged_in_client.get(f"/nuri/accounts/{account.number}/").status_code == 404


@pytest.mark.parametrize("number", ["9011000000000", "not-a-number", "0" * 40])
def test_made_up_account_number_is_not_found(logged_in_client, number):
    assert logged_in_client.get(f"/nuri/accounts/{number}/").status_code == 404


def test_accounts_page_lists_only_this_customers_accounts_at_this_bank(client, customer, gildong, younghee):
    client.post("/garam/login/", {"login_id": "gildong", "password": PASSWORD})
    body = client.get("/garam/accounts/").content.decode()
    assert gildong.deposit_accounts.get().display_number in body
    assert customer.deposit_accounts.get().display_number not in body
    assert younghee.deposit_accounts.get().display_number not in body


def test_anonymous_visitor_is_sent_to_the_login(client, banks):
    response = client.get("/nuri/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/nuri/login/?next=%2Fnuri%2Faccounts%2F"


def test_brand_stylesheet_carries_the_bank_colour(client, nuri):
    response = client.get("/brand/nuri.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert nuri.colour in response.content.decode()
    assert client.get("/brand/nobank.css").status_code == 404
