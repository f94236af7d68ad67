"""The demo world: banks, customers and a staff member (README lists them).

Used by `manage.py seed_demo` and by tests, through the same services a
real sign-up uses. Idempotent: running it again changes nothing.
"""

from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import rrn as rrn_rules
from accounts.models import Customer
from accounts.services import customer_create_verified
from banking.services import bank_ensure

BANKS = [
    dict(code="901", slug="nuri", name_ko="누리은행", name_en="Nuri Bank", colour="#1f4fd1", account_grouping="3-2-7-1"),
    dict(code="902", slug="garam", name_ko="가람은행", name_en="Garam Bank", colour="#0b7a5e", account_grouping="3-6-4"),
    dict(code="903", slug="daon", name_ko="다온은행", name_en="Daon Bank", colour="#c2410c", account_grouping="3-4-6"),
]

DEMO_PASSWORD = "Certbank!2026"
DEMO_PIN = "1234"
STAFF_USERNAME = "staff"
STAFF_PASSWORD = "Staff!Certbank2026"


@dataclass(frozen=True)
class DemoCustomer:
    bank_code: str
    login_id: str
    name: str
    rrn: str
    phone: str
    email: str
    deposit: int


# 홍길동 is a customer of two banks (one person, one RRN, two login IDs).
CUSTOMERS = [
    DemoCustomer("901", "hong", "홍길동", "900101-1234568", "01012345678", "hong@example.com", 5_000_000),
    DemoCustomer("902", "gildong", "홍길동", "900101-1234568", "01012345678", "hong@example.com", 3_000_000),
    DemoCustomer("901", "younghee", "김영희", "920315-2345674", "01023456789", "younghee@example.com", 2_500_000),
    DemoCustomer("903", "chulsoo", "이철수", "850720-1456782", "01034567890", "chulsoo@example.com", 10_000_000),
]


def seed_banks():
    return {spec["code"]: bank_ensure(**spec) for spec in BANKS}


def seed_customers(banks) -> list[Customer]:
    customers = []
    for spec in CUSTOMERS:
        bank = banks[spec.bank_code]
        existing = Customer.objects.filter(bank=bank, login_id=spec.login_id).first()
        if existing is None:
            existing = customer_create_verified(
                bank=bank,
                login_id=spec.login_id,
                password=DEMO_PASSWORD,
                name=spec.name,
                rrn=rrn_rules.parse(spec.rrn),
                phone=spec.phone,
                email=spec.email,
                pin=DEMO_PIN,
                deposit=spec.deposit,
            )
        customers.append(existing)
    return customers


def seed_staff() -> tuple[Customer, TOTPDevice]:
    with transaction.atomic():
        staff = Customer.objects.filter(username=STAFF_USERNAME).first()
        if staff is None:
            staff = Customer.objects.create_superuser(STAFF_USERNAME, STAFF_PASSWORD, name="데모 직원")
        device = TOTPDevice.objects.filter(user=staff, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=staff, name="직원 OTP", confirmed=True)
    return staff, device


def seed_all():
    banks = seed_banks()
    customers = seed_customers(banks)
    staff, device = seed_staff()
    return banks, customers, staff, device
