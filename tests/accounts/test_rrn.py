"""주민등록번호 rules (accounts.rrn) and how the number is stored (core.crypto)."""

import datetime
import hashlib
import hmac
import json
import logging

import pytest
import time_machine
from cryptography.exceptions import InvalidTag
from django.core import mail

from accounts import rrn as rrn_rules
from accounts.models import RRN_PURPOSE
from accounts.rrn import InvalidRRN
from audit.models import AuditEvent
from core import crypto
from core.models import SmsMessage
from tests.conftest import PASSWORD, PIN

VALID = ["900101-1234568", "920315-2345674", "850720-1456782"]


def with_check_digit(first_twelve: str) -> str:
    """A number whose check digit is right (the rule itself is tested below)."""
    return f"{first_twelve[:6]}-{first_twelve[6:]}{rrn_rules.check_digit(first_twelve)}"


def with_wrong_check_digit(first_twelve: str) -> str:
    wrong = (rrn_rules.check_digit(first_twelve) + 1) % 10
    return f"{first_twelve[:6]}-{first_twelve[6:]}{wrong}"


def reason(text: str) -> str:
    with pytest.raises(InvalidRRN) as excinfo:
        rrn_rules.parse(text)
    return str(excinfo.value)


# --- The check digit -------------------------------------------------------------------


def test_check_digit_is_eleven_minus_the_weighted_sum_mod_eleven():
    # 9·2 + 0·3 + 0·4 + 1·5 + 0·6 + 1·7 + 1·8 + 2·9 + 3·2 + 4·3 + 5·4 + 6·5 = 124
    # 124 % 11 = 3, (11 - 3) % 10 = 8
    assert rrn_rules.check_digit("900101123456") == 8


def test_check_digit_of_ten_becomes_zero():
    # sum % 11 == 1 gives 11 - 1 = 10, written as 0.
    first_twelve = next(f"9001011{n:05d}" for n in range(100000) if _weighted(f"9001011{n:05d}") % 11 == 1)
    assert rrn_rules.check_digit(first_twelve) == 0


def test_check_digit_of_eleven_becomes_one():
    # sum % 11 == 0 gives 11, written as 1.
    first_twelve = next(f"9001011{n:05d}" for n in range(100000) if _weighted(f"9001011{n:05d}") % 11 == 0)
    assert rrn_rules.check_digit(first_twelve) == 1


def _weighted(first_twelve: str) -> int:
    return sum(int(d) * w for d, w in zip(first_twelve, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True))


@pytest.mark.parametrize("text", VALID)
def test_known_valid_numbers_are_accepted(text):
    parsed = rrn_rules.parse(text)
    assert parsed.digits == text.replace("-", "")
    assert parsed.formatted == text


@pytest.mark.parametrize("text", ["9001011234568", " 900101-1234568 "])
def test_number_is_accepted_without_hyphen_and_with_surrounding_spaces(text):
    assert rrn_rules.parse(text).digits == "9001011234568"


@pytest.mark.parametrize("text", VALID)
def test_every_wrong_check_digit_before_october_2020_is_refused(text):
    digits = text.replace("-", "")
    for last in "0123456789":
        if last == digits[12]:
            continue
        assert reason(f"{digits[:6]}-{digits[6:12]}{last}") == "check_digit"


def test_wrong_check_digit_of_someone_born_on_30_september_2020_is_refused():
    assert reason(with_wrong_check_digit("200930312345")) == "check_digit"


@pytest.mark.parametrize("first_twelve", ["201001312345", "201001498765", "211231300000", "240229411111"])
def test_number_of_someone_born_from_october_2020_is_accepted_without_a_matching_check_digit(first_twelve):
    # Since 2020-10 the last six digits are random (주민등록법 시행규칙 개정).
    text = with_wrong_check_digit(first_twelve)
    parsed = rrn_rules.parse(text)
    assert parsed.birth_date >= datetime.date(2020, 10, 1)


@pytest.mark.parametrize(
    ("first_twelve", "born"),
    [
        ("900101123456", datetime.date(1990, 1, 1)),
        ("920315234567", datetime.date(1992, 3, 15)),
        ("050505345678", datetime.date(2005, 5, 5)),
        ("050505456789", datetime.date(2005, 5, 5)),
        ("000229312345", datetime.date(2000, 2, 29)),
        ("880808512345", datetime.date(1988, 8, 8)),  # registered foreigner, 1900s
        ("050505712345", datetime.date(2005, 5, 5)),  # registered foreigner, 2000s
        ("991231912345", datetime.date(1899, 12, 31)),
    ],
)
def test_the_seventh_digit_gives_the_century_of_the_birth_date(first_twelve, born):
    assert rrn_rules.parse(with_check_digit(first_twelve)).birth_date == born


@pytest.mark.parametrize(
    "first_twelve",
    [
        "900230123456",  # 30 February
        "010229312345",  # 29 February 2001, not a leap year
        "901301123456",  # month 13
        "900001123456",  # month 0
        "900132123456",  # day 32
        "900100123456",  # day 0
        "900431123456",  # 31 April
    ],
)
def test_impossible_birth_date_is_refused(first_twelve):
    assert reason(with_check_digit(first_twelve)) == "date"


@time_machine.travel(datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC), tick=False)
def test_birth_date_in_the_future_is_refused():
    assert reason(with_check_digit("261123312345")) == "date"
    assert reason(with_check_digit("991231412345")) == "date"  # 2099
    assert rrn_rules.parse(with_check_digit("261122312345")).birth_date == datetime.date(2026, 11, 22)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "900101-123456",  # 12 digits
        "900101-12345688",  # 14 digits
        "90010a-1234568",
        "900101_1234568",
        "900101 1234568",
        "９００１０１-１２３４５６８",  # full-width digits are digits to str.isdigit
        "٩٠٠١٠١-١٢٣٤٥٦٨",  # Arabic-Indic digits too
    ],
)
def test_wrong_length_or_non_digits_are_refused(text):
    assert reason(text) == "format"


def test_masked_number_shows_birth_date_and_gender_digit_only():
    assert rrn_rules.parse("900101-1234568").masked == "900101-1******"
    assert rrn_rules.mask("9203152345674") == "920315-2******"


@pytest.mark.parametrize(
    ("day", "age"),
    [
        (datetime.date(2004, 12, 31), 14),
        (datetime.date(2005, 1, 1), 15),
        (datetime.date(2025, 12, 31), 35),
        (datetime.date(2026, 1, 1), 36),
    ],
)
def test_age_counts_whole_years_from_the_birth_date(day, age):
    assert rrn_rules.age_on(rrn_rules.parse("900101-1234568"), day) == age


# --- Storage -----------------------------------------------------------------------------


def test_rrn_is_stored_encrypted_and_masked(customer):
    customer.refresh_from_db()
    assert "9001011234568" not in customer.rrn_ciphertext
    assert "1234568" not in customer.rrn_ciphertext
    assert customer.rrn_masked == "900101-1******"
    assert customer.decrypted_rrn() == "9001011234568"


def test_rrn_ciphertext_is_different_each_time_the_same_number_is_stored(make_customer):
    first = make_customer()
    second = make_customer(bank_code="902", login_id="gildong")
    assert first.rrn_ciphertext != second.rrn_ciphertext
    assert first.decrypted_rrn() == second.decrypted_rrn() == "9001011234568"


def test_rrn_index_is_the_same_keyed_digest_for_one_person_at_two_banks(make_customer, settings):
    at_nuri = make_customer()
    at_garam = make_customer(bank_code="902", login_id="gildong")
    assert at_nuri.bank != at_garam.bank
    assert at_nuri.rrn_index == at_garam.rrn_index
    # A keyed HMAC: without CERTBANK_INDEX_KEY the digest cannot be recomputed from the 10^7 possible numbers.
    key = crypto._key("CERTBANK_INDEX_KEY")
    expected = hmac.new(key, b"rrn\x00" + b"9001011234568", hashlib.sha256).hexdigest()
    assert at_nuri.rrn_index == expected
    assert at_nuri.rrn_index != hashlib.sha256(b"9001011234568").hexdigest()


def test_rrn_index_differs_for_different_people(make_customer):
    hong = make_customer()
    younghee = make_customer(login_id="younghee", rrn="920315-2345674", phone="01023456789")
    assert hong.rrn_index != younghee.rrn_index


def test_rrn_matches_only_the_stored_number(customer):
    assert customer.rrn_matches("9001011234568")
    assert not customer.rrn_matches("9203152345674")


def test_rrn_ciphertext_does_not_decrypt_under_another_purpose(customer):
    # The purpose is the AES-GCM associated data: a ciphertext copied to another column is useless there.
    with pytest.raises(InvalidTag):
        crypto.decrypt_field(customer.rrn_ciphertext, purpose="account-pin")
    assert crypto.decrypt_field(customer.rrn_ciphertext, purpose=RRN_PURPOSE) == "9001011234568"


def test_tampered_rrn_ciphertext_is_refused(customer):
    import base64

    raw = bytearray(base64.urlsafe_b64decode(customer.rrn_ciphertext))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        crypto.decrypt_field(base64.urlsafe_b64encode(bytes(raw)).decode(), purpose=RRN_PURPOSE)


def test_plain_rrn_never_reaches_audit_rows_sms_mail_or_logs_of_a_sign_up(
    client, banks, caplog, django_capture_on_commit_callbacks, sms_code
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/nuri/signup/",
            {
                "name": "김영희",
                "rrn": "920315-2345674",
                "phone": "010-2345-6789",
                "email": "younghee@example.com",
                "login_id": "younghee",
                "password1": PASSWORD,
                "password2": PASSWORD,
                "agree": "on",
            },
        )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/nuri/signup/verify/", {"code": sms_code("01023456789"), "pin1": PIN, "pin2": PIN}, follow=True)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="signup_completed").exists()

    forbidden = ("9203152345674", "920315-2345674", "2345674")
    places = {
        "audit": json.dumps([row.detail for row in AuditEvent.objects.all()], ensure_ascii=False),
        "sms": " ".join(SmsMessage.objects.values_list("body", flat=True)),
        "mail": " ".join(message.subject + message.body for message in mail.outbox),
        "log": caplog.text,
    }
    assert caplog.text  # the SMS gateway did log
    for place, text in places.items():
        for value in forbidden:
            assert value not in text, f"plain RRN in {place}"
