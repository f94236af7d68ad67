"""Account numbers: bank code, product, serial and a Luhn check digit (banking.accountnumbers)."""

import pytest

from banking import accountnumbers

# A spread of real-looking numbers of each demo bank.
SAMPLES = [accountnumbers.make(code, "10", serial) for code in ("901", "902", "903") for serial in (0, 1234, 7654321, 9999999)]


def test_luhn_check_digit_matches_the_textbook_example():
    # ISO/IEC 7812 example: 7992739871 → 3.
    assert accountnumbers.luhn_check_digit("7992739871") == "3"


@pytest.mark.parametrize(("body", "check"), [("000000000000", "0"), ("901100001234", "2"), ("901990000000", "2")])
def test_luhn_check_digit_of_account_bodies(body, check):
    assert accountnumbers.luhn_check_digit(body) == check


def test_number_is_bank_code_product_serial_and_check_digit():
    number = accountnumbers.make("901", "10", 1234)
    # Luhn over 901100001234, doubling every second digit from the right:
    # 8 + 3 + 4 + 1 + 0 + 0 + 0 + 0 + 2 + 1 + 0 + 9 = 28 → (10 - 8) % 10 = 2
    assert number == "901" + "10" + "0001234" + "2"
    assert len(number) == accountnumbers.LENGTH
    assert accountnumbers.is_valid(number)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_made_number_is_valid(number):
    assert accountnumbers.is_valid(number)


@pytest.mark.parametrize("number", SAMPLES)
def test_any_single_digit_change_is_refused(number):
    for position, original in enumerate(number):
        for digit in "0123456789":
            if digit == original:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            assert not accountnumbers.is_valid(typo), typo


@pytest.mark.parametrize("number", SAMPLES)
def test_any_swap_of_two_different_neighbours_is_refused_except_0_and_9(number):
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a == b or {a, b} == {"0", "9"}:
            continue
        swapped = number[:position] + b + a + number[position + 2 :]
        assert not accountnumbers.is_valid(swapped), swapped


def test_swapping_neighbouring_0_and_9_is_the_one_transposition_luhn_misses():
    # A documented blind spot of the Luhn algorithm: 09 ↔ 90 keep the sum.
    number = accountnumbers.make("901", "10", 90)  # ...0000090 + check
    position = number.index("90", 5)
    swapped = number[:position] + "09" + number[position + 2 :]
    assert accountnumbers.is_valid(swapped)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "901100001234",  # 12 digits
        "90110000123426",  # 14 digits
        "901-10-0001234-2",  # hyphens are removed by normalise(), not accepted by is_valid()
        "90110000123a2",
        "９０１１０００01２３４２",  # full-width digits
    ],
)
def test_malformed_numbers_are_not_valid(text):
    assert not accountnumbers.is_valid(text)


@pytest.mark.parametrize("text", ["901-10-0001234-2", "901 10 0001234 2", "9011000012342"])
def test_customers_may_type_hyphens_or_spaces(text):
    assert accountnumbers.normalise(text) == "9011000012342"


@pytest.mark.parametrize(
    ("grouping", "shown"),
    [
        ("3-2-7-1", "901-10-0001234-2"),  # 누리은행
        ("3-6-4", "901-100001-2342"),  # 가람은행
        ("3-4-6", "901-1000-012342"),  # 다온은행
    ],
)
def test_display_groups_digits_as_the_bank_prints_them(grouping, shown):
    assert accountnumbers.display("9011000012342", grouping) == shown


def test_display_leaves_a_number_alone_when_the_grouping_does_not_fit():
    assert accountnumbers.display("9011000012342", "3-3-3") == "9011000012342"


@pytest.mark.parametrize(
    ("bank_code", "pattern"),
    [("901", [3, 2, 7, 1]), ("902", [3, 6, 4]), ("903", [3, 4, 6])],
)
def test_each_demo_bank_prints_its_accounts_in_its_own_grouping(make_customer, bank_code, pattern):
    customer = make_customer(bank_code=bank_code)
    account = customer.deposit_accounts.get()
    assert account.number.startswith(bank_code + accountnumbers.PRODUCT_DEMAND_DEPOSIT)
    assert accountnumbers.is_valid(account.number)
    assert [len(part) for part in account.display_number.split("-")] == pattern
    assert account.display_number.replace("-", "") == account.number


def test_internal_account_numbers_use_the_internal_product_code(banks):
    internal = banks["901"].accounts.filter(kind="internal").order_by("number")
    assert list(internal.values_list("number", "product_name")) == [
        (accountnumbers.make("901", accountnumbers.PRODUCT_INTERNAL, accountnumbers.SERIAL_OPERATING), "본점 운영계정"),
        (accountnumbers.make("901", accountnumbers.PRODUCT_INTERNAL, accountnumbers.SERIAL_FEE_INCOME), "타행이체 수수료 수입"),
    ]
    assert all(accountnumbers.is_valid(account.number) for account in internal)
