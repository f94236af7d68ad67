def test_bank_list_shows_every_demo_bank(client, banks):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    for name in ("누리은행", "가람은행", "다온은행"):
        assert name in body


def test_logged_in_customer_sees_opening_deposit(logged_in_client):
    response = logged_in_client.get("/nuri/accounts/")
    assert "1,000,000원" in response.content.decode()
