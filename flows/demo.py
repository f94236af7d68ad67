"""The demo world: banks, customers and a staff member (README lists them).

Used by `manage.py seed_demo` and by tests, through the same services a
real sign-up uses. Idempotent: running it again changes nothing.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import rrn as rrn_rules
from accounts.models import Customer, PhoneDevice, VerificationGrant
from accounts.verification import grant_sms_send, grant_sms_verify
from banking.models import DepositAccount
from banking.services import bank_ensure
from certificates import demo as certificate_demo
from certificates.apps import SECURITY_OFFICER_GROUP, TELLER_GROUP
from flows import stepup
from flows.signup import customer_create_verified

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
class DemoStaffRole:
    username: str
    password: str
    name: str
    group: str  # created after every migrate (certificates.apps.staff_roles_ensure)


# Staff who are not superusers: what they may do comes from their group.
STAFF_ROLES = [
    DemoStaffRole("teller", "Teller!Certbank2026", "데모 창구 직원", TELLER_GROUP),
    DemoStaffRole("officer", "Officer!Certbank2026", "데모 보안 책임자", SECURITY_OFFICER_GROUP),
]


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


def seed_staff_roles() -> list[tuple[Customer, TOTPDevice]]:
    """The teller and the security officer, each with a confirmed TOTP device."""
    members = []
    with transaction.atomic():
        for role in STAFF_ROLES:
            member = Customer.objects.filter(username=role.username).first()
            if member is None:
                member = Customer.objects.create_user(role.username, role.password, name=role.name, is_staff=True)
            member.groups.add(Group.objects.get(name=role.group))
            device = TOTPDevice.objects.filter(user=member, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=member, name="직원 OTP", confirmed=True)
            members.append((member, device))
    return members


def seed_all():
    banks = seed_banks()
    customers = seed_customers(banks)
    staff, device = seed_staff()
    seed_staff_roles()
    return banks, customers, staff, device


def seed_demo_certificate(customer):
    """The demo customer's ready 공동인증서 (certificates.demo), issued after the
    verification a person makes: 본인확인 with the demo account's PIN, then the
    SMS code as the demo phone shows it."""
    current = certificate_demo.demo_certificate_current(customer)
    if current is not None:
        return certificate_demo.seed_demo_certificate(customer, grant="", session_key="")
    session_key = f"seed-demo-{secrets.token_hex(8)}"
    account = DepositAccount.objects.filter(owner=customer, kind=DepositAccount.Kind.CUSTOMER).order_by("pk").first()
    grant = stepup.stepup_start_logged_out(
        purpose=VerificationGrant.Purpose.ISSUE,
        bank=customer.bank,
        session_key=session_key,
        name=customer.name,
        rrn=customer.decrypted_rrn(),
        account_number=account.number,
        pin=DEMO_PIN,
        detail={"kind": "joint", "reason": "new"},
    )
    grant_sms_send(grant=grant)
    grant_sms_verify(grant=grant, code=PhoneDevice.objects.get(user=customer).token)
    return certificate_demo.seed_demo_certificate(customer, grant=grant.token, session_key=session_key)
