"""계좌이체 in the staff console: searchable, read-only, with the signed text,
the signer certificate and the verification result."""

from urllib.parse import urlencode

import pytest

from banking.models import Transfer
from banking.services import TransferDraft, transfer
from flows.transfers import transfer_challenge_create, transfer_signed
from tests.certificates.conftest import SESSION, sign

CHANGELIST = "/staff/banking/transfer/"


@pytest.fixture
def signed_transfer(holder, chulsoo):
    from django.utils import timezone

    to = chulsoo.deposit_accounts.get()
    draft = TransferDraft(
        from_account_id=holder.customer.deposit_accounts.get().pk,
        to_bank_code="903",
        to_number=to.number,
        amount=43_210,
        memo_mine="",
        memo_theirs="",
        at=timezone.now(),
    )
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    record, _ = transfer_signed(
        customer=holder.customer,
        bank=holder.customer.bank,
        draft=draft,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=holder.der,
        signature=sign(holder.key, bytes(challenge.to_sign)),
    )
    return record


@pytest.fixture
def other_transfer(younghee, chulsoo):
    return transfer(
        customer=younghee,
        from_account=younghee.deposit_accounts.get(),
        to_account=chulsoo.deposit_accounts.get(),
        amount=77_000,
        unsigned_reason="test",
    )


def listed(staff_client, query="") -> str:
    response = staff_client.get(CHANGELIST + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("query", "found", "missing"),
    [
        ("?q=홍길동", "43,210원", "77,000원"),
        ("?q=younghee", "77,000원", "43,210원"),
        ("?q=43,210", "43,210원", "77,000원"),
        ("?q=77000", "77,000원", "43,210원"),
        ("?amount_range=lt1m", "43,210원", "없음"),
    ],
)
def test_transfers_are_searchable_by_customer_and_amount(staff_client, signed_transfer, other_transfer, query, found, missing):
    html = listed(staff_client, query)
    assert found in html
    if missing != "없음":
        assert missing not in html


def test_search_by_account_number_and_date(staff_client, signed_transfer, other_transfer):
    html = listed(staff_client, f"?q={signed_transfer.from_account.number}")
    assert "43,210원" in html and "77,000원" not in html
    day = signed_transfer.created_at
    from django.utils import timezone

    local = timezone.localtime(day)
    html = listed(staff_client, f"?created_at__year={local.year}&created_at__month={local.month}&created_at__day={local.day}")
    assert "43,210원" in html and "77,000원" in html
    html = listed(staff_client, f"?created_at__year={local.year - 1}")
    assert "43,210원" not in html


@pytest.mark.parametrize("typed", ["{display}", " {display} ", "{digits}"])
def test_search_by_an_account_number_as_staff_see_it_with_hyphens(staff_client, signed_transfer, other_transfer, typed):
    # Staff copy numbers as the console and the customer print them (901-10-8941265-2).
    source = signed_transfer.from_account
    assert "-" in source.display_number
    query = typed.format(display=source.display_number, digits=source.number)
    html = listed(staff_client, "?" + urlencode({"q": query}))
    assert "43,210원" in html and "77,000원" not in html
    # The receiving account in its own bank's grouping (다온은행: 3-4-6) finds both transfers to it.
    html = listed(staff_client, "?" + urlencode({"q": signed_transfer.to_account.display_number}))
    assert "43,210원" in html and "77,000원" in html


def test_accounts_and_ledger_are_searchable_by_a_hyphenated_number(staff_client, signed_transfer, other_transfer):
    number = signed_transfer.from_account.display_number
    other = other_transfer.from_account.display_number
    for changelist in ("/staff/banking/depositaccount/", "/staff/banking/ledgerentry/"):
        response = staff_client.get(changelist + "?" + urlencode({"q": number}))
        assert response.status_code == 200
        html = response.content.decode()
        assert number in html and other not in html, changelist


def test_detail_shows_signed_text_certificate_and_verification(staff_client, signed_transfer, holder):
    html = staff_client.get(f"{CHANGELIST}{signed_transfer.pk}/change/").content.decode()
    assert "금액: 43,210원 (사만삼천이백일십원)" in html
    assert holder.certificate.serial in html
    assert "검증됨 (RSASSA-PKCS1-v1_5/SHA-256" in html


def test_a_tampered_stored_text_shows_as_failed_verification(staff_client, signed_transfer):
    Transfer.objects.filter(pk=signed_transfer.pk).update(
        signed_bytes=bytes(signed_transfer.signed_bytes).replace(b"43,210", b"93,210")
    )
    html = staff_client.get(f"{CHANGELIST}{signed_transfer.pk}/change/").content.decode()
    assert "검증 실패" in html


def test_transfers_are_read_only_in_the_console(staff_client, signed_transfer):
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    response = staff_client.post(f"{CHANGELIST}{signed_transfer.pk}/change/", {"amount": 1})
    assert response.status_code == 403
    assert staff_client.post(f"{CHANGELIST}{signed_transfer.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Transfer.objects.get(pk=signed_transfer.pk).amount == 43_210
