"""The 계좌이체 pages: wiring, permissions, crafted requests, receipts, CSV."""

import base64
import csv
import io
import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from banking.models import DepositAccount, FavouriteRecipient, Transfer
from certificates import ca
from tests.certificates.conftest import sign


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def chulsoo_account(chulsoo):
    return chulsoo.deposit_accounts.get()


def fill(client, to_account, amount="50,000", **extra):
    data = {
        "from_account": DepositAccount.objects.get(owner__login_id="hong").pk,
        "to_bank": to_account.bank.code,
        "to_number": to_account.display_number,
        "amount": amount,
        "memo_mine": "월세",
        "memo_theirs": "홍길동",
    }
    data.update(extra)
    return client.post("/nuri/transfer/", data)


def review(client):
    response = client.get("/nuri/transfer/review/")
    assert response.status_code == 200
    html = response.content.decode()
    token = re.search(r'data-challenge="([^"]+)"', html).group(1)
    to_sign = base64.b64decode(re.search(r'data-to-sign="([^"]+)"', html).group(1))
    return token, to_sign, html


def approve(client, holder, token, to_sign, **extra):
    data = {"challenge": token, "certificate": b64(holder.der), "signature": b64(sign(holder.key, to_sign))}
    data.update(extra)
    return client.post("/nuri/transfer/sign/", data)


def test_transfer_pages_need_a_customer_of_this_bank(client, customer):
    response = client.get("/nuri/transfer/")
    assert response.status_code == 302 and "/nuri/login/" in response["Location"]
    assert client.post("/nuri/transfer/sign/", {}).status_code == 401


def test_form_shows_limits_and_every_demo_bank(logged_in_client):
    html = logged_in_client.get("/nuri/transfer/").content.decode()
    for name in ("누리은행", "가람은행", "다온은행"):
        assert name in html
    assert "10,000,000원" in html  # 1회 한도 without OTP
    assert 'href="/nuri/transfer/"' in html  # in the bank navigation


def test_a_non_existent_account_is_refused_at_the_lookup(logged_in_client, chulsoo_account):
    response = fill(logged_in_client, chulsoo_account, to_number="903-1000-000000")
    assert response.status_code == 200
    assert "입금계좌를 찾을 수 없습니다" in response.content.decode()
    assert "transfer_draft" not in logged_in_client.session
    lookup = logged_in_client.post("/nuri/transfer/recipient/", {"bank": "903", "number": "9031000000000"})
    assert lookup.status_code == 404 and "입금계좌를 찾을 수 없습니다" in lookup.json()["error"]


def test_recipient_lookup_shows_the_masked_name(logged_in_client, chulsoo_account):
    response = logged_in_client.post("/nuri/transfer/recipient/", {"bank": "903", "number": chulsoo_account.number})
    assert response.status_code == 200 and response.json()["name"] == "이*수"


def test_amount_over_the_balance_or_the_limit_is_refused_on_the_form(logged_in_client, chulsoo_account):
    html = fill(logged_in_client, chulsoo_account, amount="1,000,000").content.decode()
    assert "잔액이 부족합니다" in html
    html = fill(logged_in_client, chulsoo_account, amount="10,000,001").content.decode()
    assert "1회 이체한도를 초과했습니다" in html


@pytest.mark.parametrize("amount", ["-5", "0", "1.5", "abc", ""])
def test_bad_amounts_are_form_errors_not_500s(logged_in_client, chulsoo_account, amount):
    response = fill(logged_in_client, chulsoo_account, amount=amount)
    assert response.status_code == 200 and Transfer.objects.count() == 0


def test_someone_elses_withdrawal_account_is_not_a_choice(logged_in_client, younghee, chulsoo_account):
    # SECURITY: a crafted from_account (김영희's) is refused by the form.
    response = fill(logged_in_client, chulsoo_account, from_account=younghee.deposit_accounts.get().pk)
    assert response.status_code == 200 and "transfer_draft" not in logged_in_client.session


def test_review_signs_pays_and_shows_the_receipt(logged_in_client, holder, chulsoo_account):
    assert fill(logged_in_client, chulsoo_account)["Location"] == "/nuri/transfer/review/"
    token, to_sign, html = review(logged_in_client)
    text = to_sign.decode()
    assert "받는분: 이*수" in text and "금액: 50,000원 (오만원)" in text and "수수료: 500원" in text
    for line in text.split("\n"):
        assert line.replace("(", "(") in html  # shown verbatim on the page
    response = approve(logged_in_client, holder, token, to_sign)
    assert response.status_code == 200, response.content
    record = Transfer.objects.get()
    assert response.json()["redirect"] == f"/nuri/transfer/{record.reference}/"
    assert DepositAccount.objects.get(pk=chulsoo_account.pk).balance == 50_000
    receipt = logged_in_client.get(response.json()["redirect"]).content.decode()
    assert "전자서명 검증됨" in receipt and "openssl cms -verify" in receipt and "이*수" in receipt

    # Submitted twice: no second transfer, the same receipt.
    again = approve(logged_in_client, holder, token, to_sign)
    assert again.status_code == 200 and again.json()["redirect"] == response.json()["redirect"]
    assert Transfer.objects.count() == 1


def test_a_token_this_session_did_not_review_is_refused(logged_in_client, holder, chulsoo_account):
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    response = approve(logged_in_client, holder, "x" * 43, to_sign)
    assert response.status_code == 403 and "처음부터 다시" in response.json()["error"]
    assert Transfer.objects.count() == 0


@pytest.mark.parametrize("field", ["certificate", "signature"])
def test_malformed_base64_is_a_400(logged_in_client, holder, chulsoo_account, field):
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    response = approve(logged_in_client, holder, token, to_sign, **{field: "not base64!!"})
    assert response.status_code == 400 and response.json()["error"]
    assert Transfer.objects.count() == 0


def test_signature_over_a_different_amount_is_refused(logged_in_client, holder, chulsoo_account):
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    forged = {"signature": b64(sign(holder.key, to_sign.replace(b"50,000", b"5,000")))}
    response = approve(logged_in_client, holder, token, to_sign, **forged)
    assert response.status_code == 403 and response.json()["error"] == "전자서명 검증에 실패했습니다."
    assert DepositAccount.objects.get(pk=chulsoo_account.pk).balance == 0


def test_over_the_otp_threshold_the_page_asks_for_the_otp_and_the_server_checks_it(
    logged_in_client, holder, chulsoo_account, settings, totp_code
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.CERTBANK_TRANSFER_OTP_THRESHOLD = 10_000
    device = TOTPDevice.objects.create(user=holder.customer, name="OTP", confirmed=True)
    fill(logged_in_client, chulsoo_account)
    token, to_sign, html = review(logged_in_client)
    assert "OTP 인증번호" in html
    response = approve(logged_in_client, holder, token, to_sign, otp_code="")
    assert response.status_code == 403 and "OTP" in response.json()["error"]
    token, to_sign, _html = review(logged_in_client)
    response = approve(logged_in_client, holder, token, to_sign, otp_code=totp_code(device))
    assert response.status_code == 200


def test_receipt_and_evidence_of_another_customer_are_404(client, make_customer, holder, chulsoo_account, younghee):
    from banking.services import transfer

    record = transfer(
        customer=younghee,
        from_account=younghee.deposit_accounts.get(),
        to_account=chulsoo_account,
        amount=1_000,
        unsigned_reason="test",
    )
    client.post("/nuri/login/", {"login_id": "hong", "password": "Certbank!2026"})
    for suffix in ("", "receipt.p7s", "signed.txt"):
        assert client.get(f"/nuri/transfer/{record.reference}/{suffix}").status_code == 404


def sign_pss(key, data: bytes) -> bytes:
    # The stronger profile (DESIGN.md §3 "Algorithm agility"), with the salt
    # length WebCrypto callers usually pick (the digest length).
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


@pytest.mark.parametrize(("scheme", "shown"), [("pkcs1v15", "RSASSA-PKCS1-v1_5/SHA-256"), ("pss", "RSASSA-PSS/SHA-256")])
def test_downloaded_p7s_verifies_with_openssl_and_a_modified_amount_fails(
    logged_in_client, holder, chulsoo_account, tmp_path, settings, scheme, shown
):
    settings.CERTBANK_SIGNATURE_SCHEMES = ("pkcs1v15", "pss")
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    signature = sign(holder.key, to_sign) if scheme == "pkcs1v15" else sign_pss(holder.key, to_sign)
    redirect = approve(logged_in_client, holder, token, to_sign, signature=b64(signature)).json()["redirect"]
    receipt = logged_in_client.get(redirect).content.decode()
    command = re.search(r'data-testid="openssl-command">([^<]+)<', receipt).group(1)
    record = Transfer.objects.get()
    assert record.signature_scheme == scheme
    assert f'data-testid="signature-scheme">{shown}<' in receipt
    assert "receipt.p7s" in receipt  # the download is offered for either scheme
    p7s = logged_in_client.get(f"{redirect}receipt.p7s")
    assert p7s["Content-Type"] == "application/pkcs7-signature"
    (tmp_path / f"transfer-{record.reference}.p7s").write_bytes(p7s.content)
    (tmp_path / "certbank-root-ca.pem").write_bytes(ca.ca_root_certificate().public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(command.split(), cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "signed.txt").read_bytes() == to_sign

    # The same file with 50,000 changed to 90,000 in the signed text (same length, valid DER).
    forged = p7s.content.replace(b"50,000", b"90,000")
    assert forged != p7s.content
    (tmp_path / f"transfer-{record.reference}.p7s").write_bytes(forged)
    result = subprocess.run(command.split(), cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0


def test_favourite_added_from_the_receipt_fills_the_form(logged_in_client, holder, chulsoo_account, younghee):
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    redirect = approve(logged_in_client, holder, token, to_sign).json()["redirect"]
    logged_in_client.post(f"{redirect}favourite/")
    favourite = FavouriteRecipient.objects.get()
    html = logged_in_client.get("/nuri/transfer/").content.decode()
    assert f'data-fill-number="{chulsoo_account.number}"' in html
    assert 'data-testid="recent-recipient"' in html
    # SECURITY: another customer's favourite id removes nothing.
    other = FavouriteRecipient.objects.create(customer=younghee, account=chulsoo_account)
    logged_in_client.post(f"/nuri/transfer/favourites/{other.pk}/remove/")
    assert FavouriteRecipient.objects.filter(pk=other.pk).exists()
    logged_in_client.post(f"/nuri/transfer/favourites/{favourite.pk}/remove/")
    assert not FavouriteRecipient.objects.filter(pk=favourite.pk).exists()


def test_favourites_added_and_removed_are_audited(logged_in_client, holder, chulsoo_account, younghee):
    from audit.models import AuditEvent

    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    redirect = approve(logged_in_client, holder, token, to_sign).json()["redirect"]
    logged_in_client.post(f"{redirect}favourite/", {"nickname": "철수"})
    logged_in_client.post(f"{redirect}favourite/")  # already saved: no second row
    favourite = FavouriteRecipient.objects.get()
    added = AuditEvent.objects.filter(action="favourite_added")
    assert [(e.customer_id, e.detail["account"], e.detail["favourite"]) for e in added] == [
        (holder.customer.pk, chulsoo_account.number, favourite.pk)
    ]
    assert added.get().ip_address == "127.0.0.1"
    # Another customer's favourite id: nothing removed, nothing audited.
    other = FavouriteRecipient.objects.create(customer=younghee, account=chulsoo_account)
    logged_in_client.post(f"/nuri/transfer/favourites/{other.pk}/remove/")
    assert not AuditEvent.objects.filter(action="favourite_removed").exists()
    logged_in_client.post(f"/nuri/transfer/favourites/{favourite.pk}/remove/")
    removed = AuditEvent.objects.filter(action="favourite_removed")
    assert [(e.customer_id, e.detail["account"]) for e in removed] == [(holder.customer.pk, chulsoo_account.number)]


def test_recent_recipients_on_the_form_cost_no_query_each(logged_in_client, customer, make_customer, django_assert_num_queries):
    """The form lists up to five recent recipients and the favourites with
    their bank: the number of queries is the same for one as for five (no
    query per row)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from banking.services import favourite_add, transfer
    from tests.banking.conftest import rrn

    def send_to(n):
        to = make_customer(
            bank_code=("901", "902", "903")[n % 3], login_id=f"to{n}", name=f"수취인{n}", rrn=rrn(700 + n), phone="", email=""
        )
        record = transfer(
            customer=customer,
            from_account=customer.deposit_accounts.get(),
            to_account=to.deposit_accounts.get(),
            amount=1_000 + n,
            unsigned_reason="test",
        )
        favourite_add(customer=customer, account=record.to_account, nickname=f"별칭{n}")

    send_to(0)
    with CaptureQueriesContext(connection) as one:
        html = logged_in_client.get("/nuri/transfer/").content.decode()
    assert html.count('data-testid="recent-recipient"') == 1
    for n in range(1, 5):
        send_to(n)
    with django_assert_num_queries(len(one)):
        html = logged_in_client.get("/nuri/transfer/").content.decode()
    assert html.count('data-testid="recent-recipient"') == 5
    assert all(f"별칭{n}" in html for n in range(5))
    for name in ("누리은행", "가람은행", "다온은행"):
        assert html.count(f"{name} ") >= 1


# --- 거래내역 CSV ----------------------------------------------------------------------------


def test_history_csv_has_a_bom_a_korean_header_and_running_balances(logged_in_client, customer, younghee):
    from banking.services import transfer

    account = customer.deposit_accounts.get()
    transfer(
        customer=customer,
        from_account=account,
        to_account=younghee.deposit_accounts.get(),
        amount=1_234,
        memo_mine="=SUM(A1)",
        unsigned_reason="test",
    )
    response = logged_in_client.get(f"/nuri/accounts/{account.number}/history.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming  # rows go out as the cursor yields them, never built in memory
    content = b"".join(response.streaming_content)
    assert content[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["거래일시", "구분", "적요", "상대", "출금", "입금", "거래 후 잔액"]
    assert [row[1:] for row in rows[1:]] == [
        ["입금", "신규가입 축하금", "누리은행", "", "1000000", "1000000"],
        ["출금", "당행이체", "'=SUM(A1)", "1234", "", "998766"],
    ]


def test_history_csv_of_someone_elses_account_is_404(logged_in_client, younghee):
    assert logged_in_client.get(f"/nuri/accounts/{younghee.deposit_accounts.get().number}/history.csv").status_code == 404


def test_history_csv_with_bad_dates_is_a_400(logged_in_client, customer):
    number = customer.deposit_accounts.get().number
    response = logged_in_client.get(f"/nuri/accounts/{number}/history.csv?period=custom&date_from=2026-05-02&date_to=2026-05-01")
    assert response.status_code == 400


# --- Crafted input: NUL bytes and other shapes (PostgreSQL refuses NUL in text: a DataError, never a 500) ---


@pytest.mark.parametrize(
    ("bank", "number", "status", "message"),
    [
        ("\x00", "9031000000000", 400, "입금은행을 다시 선택해 주세요."),
        ("9\x003", "9031000000000", 400, "입금은행을 다시 선택해 주세요."),
        ("9031", "9031000000000", 400, "입금은행을 다시 선택해 주세요."),
        ("", "9031000000000", 400, "입금은행을 다시 선택해 주세요."),
        ("903", "\x00", 400, "계좌번호는 숫자와 하이픈(-)으로 입력해 주세요."),
        ("903", "903-1000\x00-000000", 400, "계좌번호는 숫자와 하이픈(-)으로 입력해 주세요."),
        ("903", "903１０００", 400, "계좌번호는 숫자와 하이픈(-)으로 입력해 주세요."),  # full-width digits
        ("903", "9" * 21, 400, "계좌번호는 숫자와 하이픈(-)으로 입력해 주세요."),
        ("999", "9991000000000", 404, "입금계좌를 찾을 수 없습니다"),
        ("903", "903100000", 404, "입금계좌를 찾을 수 없습니다"),  # digits, but not an account number
    ],
)
def test_recipient_lookup_with_a_crafted_bank_or_number_is_a_4xx_with_a_korean_message(
    logged_in_client, bank, number, status, message
):
    response = logged_in_client.post("/nuri/transfer/recipient/", {"bank": bank, "number": number})
    assert response.status_code == status
    assert message in response.json()["error"]


@pytest.mark.parametrize("number", ["\x00", "901\x001089412652", "%00"])
@pytest.mark.parametrize("suffix", ["", "history.csv"])
def test_account_pages_with_a_nul_byte_in_the_number_are_a_404(logged_in_client, number, suffix):
    from urllib.parse import quote

    response = logged_in_client.get(f"/nuri/accounts/{quote(number)}/{suffix}")
    assert response.status_code == 404
    assert "페이지를 찾을 수 없습니다" in response.content.decode()


def test_transfer_form_with_a_nul_byte_is_a_form_error(logged_in_client, chulsoo_account):
    response = fill(logged_in_client, chulsoo_account, to_number="903\x00", memo_mine="월\x00세")
    assert response.status_code == 200
    assert "계좌번호는 숫자와 하이픈(-)으로 입력해 주세요." in response.content.decode()
    assert Transfer.objects.count() == 0


def test_favourite_nickname_with_a_nul_byte_is_saved_without_it(logged_in_client, holder, chulsoo_account):
    fill(logged_in_client, chulsoo_account)
    token, to_sign, _html = review(logged_in_client)
    redirect = approve(logged_in_client, holder, token, to_sign).json()["redirect"]
    response = logged_in_client.post(f"{redirect}favourite/", {"nickname": "월\x00세"})
    assert response.status_code == 302
    assert FavouriteRecipient.objects.get().nickname == "월세"


# --- 수취인 조회 limit -------------------------------------------------------------------------


def lookup(client, number, bank="903"):
    return client.post("/nuri/transfer/recipient/", {"bank": bank, "number": number})


def test_failed_recipient_lookups_are_limited_per_customer_with_a_429_and_an_audit_row(
    logged_in_client, customer, chulsoo_account, younghee, settings
):
    import datetime

    import time_machine
    from django.test import Client
    from django.utils import timezone

    from audit.models import AuditEvent
    from banking.models import RecipientLookupLimit

    settings.CERTBANK_TRANSFER_LOOKUP_MAX_FAILURES = 3
    settings.CERTBANK_TRANSFER_LOOKUP_WINDOW_SECONDS = 120
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        # Successes do not count, failures do (an unknown bank too).
        assert lookup(logged_in_client, chulsoo_account.number).status_code == 200
        assert lookup(logged_in_client, "9031000000000").status_code == 404
        assert lookup(logged_in_client, "9011000000001", bank="999").status_code == 404
        assert not AuditEvent.objects.filter(action="recipient_lookup_locked").exists()
        assert lookup(logged_in_client, "9031000000002").status_code == 404  # the third failure
        locked = AuditEvent.objects.get(action="recipient_lookup_locked")
        assert locked.customer_id == customer.pk and locked.detail["failures"] == 3

        # Now every lookup waits, a real account included: no name is shown.
        refused = lookup(logged_in_client, chulsoo_account.number)
        assert refused.status_code == 429
        assert refused.json()["error"] == "수취인 조회에 여러 번 실패하여 잠시 조회할 수 없습니다. 2분 후에 다시 시도해 주세요."
        assert "이*수" not in refused.content.decode() and refused["Retry-After"] == "120"
        # The form step looks the recipient up too, under the same limit.
        page = fill(logged_in_client, chulsoo_account)
        assert page.status_code == 429 and "잠시 조회할 수 없습니다" in page.content.decode()
        assert "transfer_draft" not in logged_in_client.session
        # Shared by every session (and worker) of the customer: it is in the database.
        other_session = Client()
        assert other_session.post("/nuri/login/", {"login_id": "hong", "password": "Certbank!2026"}).status_code == 302
        assert lookup(other_session, chulsoo_account.number).status_code == 429
        assert RecipientLookupLimit.objects.get(customer=customer).failures == 3
        # Another customer is not affected.
        younghee_session = Client()
        younghee_session.post("/nuri/login/", {"login_id": "younghee", "password": "Certbank!2026"})
        assert lookup(younghee_session, chulsoo_account.number).status_code == 200

    with time_machine.travel(start + datetime.timedelta(seconds=121), tick=False):
        assert lookup(logged_in_client, chulsoo_account.number).json()["name"] == "이*수"
        assert fill(logged_in_client, chulsoo_account).status_code == 302
