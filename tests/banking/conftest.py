"""Transfer fixtures: customers of two demo banks, and certificate holders
(the certificate fixtures of tests/certificates, reused)."""

import pytest

from tests.certificates.conftest import holder, rsa_keys  # noqa: F401  (fixtures)


def rrn(n: int) -> str:
    """A valid RRN for a made-up person number n (check digit per DESIGN.md §1)."""
    body = f"900101{1}{n:05d}"
    check = (11 - sum(int(d) * w for d, w in zip(body, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5], strict=True)) % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


@pytest.fixture
def hong_account(customer):
    """홍길동 of 누리은행 (901), 1,000,000원."""
    return customer.deposit_accounts.get()


@pytest.fixture
def younghee(make_customer):
    """김영희 of 누리은행 (901), 500,000원."""
    return make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789", deposit=500_000)


@pytest.fixture
def chulsoo(make_customer):
    """이철수 of 다온은행 (903), 0원."""
    return make_customer(bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890", deposit=0)


@pytest.fixture
def rich_customer(make_customer):
    """박부자 of 누리은행 with 900,000,000원 (for the limits)."""
    return make_customer(login_id="rich", name="박부자", rrn="800101-1000008", phone="01099998888", email="", deposit=900_000_000)
