"""The world of the authorization sweep (test_authz_sweep.py): victims with
everything a customer can own, attackers and staff of every role, each in
their own logged-in browser.

Everything is made through the services and pages a person uses (sign-up,
본인확인 and SMS, certificate issuance, registration at another bank, a
signed transfer, 인증서 복사), never by writing rows. Each victim carries
distinctive values ("markers": a rare name, memo texts, a phone number, an
e-mail address, a balance) that the sweep searches every answer for.
"""

import base64
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import designation
from accounts import rrn as rrn_rules
from accounts.models import Customer
from audit.models import AuditEvent
from banking import services as banking_services
from banking.models import DepositAccount, LedgerEntry, Transfer
from certificates.client import copy as pycopy
from certificates.models import Certificate, CertificateRegistration, Challenge, CloudDevice
from core.models import Bank, SmsMessage
from flows import demo
from flows.signup import customer_create_verified
from tests.certificates.conftest import issue_for
from tests.certificates.test_cloud import issue_cloud
from tests.certificates.test_registration import register
from tests.conftest import PIN
from tests.verification import Purpose, verified
from tests.worlds import browser, log_in, signed_transfer, staff_log_in

VICTIM_PASSWORD = "Victim!Secret2026"
VICTIM_PIN = PIN  # what tests.verification's 본인확인 types
ATTACKER_PASSWORD = "Attacker!2026pw"
ATTACKER_PIN = "1357"


def rrn_for(front: str, serial: int) -> str:
    """A valid pre-2020 RRN `front`-G NNNNN C (check digit per DESIGN.md §1)."""
    body = f"{front}{serial:06d}"
    return f"{body[:6]}-{body[6:]}{rrn_rules.check_digit(body)}"


def device_token(label: str) -> str:
    """A device cookie value of the right shape (43 URL-safe characters)."""
    return (label * 43)[:43]


@dataclass
class Person:
    customer: Customer
    client: Client
    device: str

    @property
    def bank(self) -> Bank:
        return self.customer.bank

    @property
    def account(self) -> DepositAccount:
        return DepositAccount.objects.get(owner=self.customer, kind=DepositAccount.Kind.CUSTOMER)


@dataclass
class Victim(Person):
    rrn: str = ""
    # What a URL or form may name: filled into the sweep's parameters.
    serials: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    favourites: list[int] = field(default_factory=list)
    designated: list[int] = field(default_factory=list)
    totp_devices: list[int] = field(default_factory=list)
    copy_tokens: list[str] = field(default_factory=list)
    challenges: list[str] = field(default_factory=list)
    certificate_der: bytes = b""
    # (digits, as printed) of each of the victim's accounts
    account_numbers: list[tuple[str, str]] = field(default_factory=list)
    # Distinctive text an attacker must never be shown (label -> text).
    markers: dict[str, str] = field(default_factory=dict)
    # Values no one, staff included, is ever shown.
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def numbers(self) -> list[str]:
        account = self.account
        return [account.number, account.display_number]

    def admin_ids(self) -> dict[tuple[str, str], list[int]]:
        """The primary keys of this victim's rows, per staff-console model."""
        customer = self.customer
        accounts = DepositAccount.objects.filter(owner=customer)
        certificates = Certificate.objects.filter(person_index=customer.rrn_index)
        return {
            ("accounts", "customer"): [customer.pk],
            ("banking", "depositaccount"): list(accounts.values_list("pk", flat=True)),
            ("banking", "ledgerentry"): list(
                LedgerEntry.objects.filter(account__in=accounts).order_by("-pk").values_list("pk", flat=True)[:2]
            ),
            ("banking", "transfer"): list(Transfer.objects.filter(customer=customer).values_list("pk", flat=True)),
            ("certificates", "certificate"): list(certificates.values_list("pk", flat=True)),
            ("certificates", "certificateregistration"): list(
                CertificateRegistration.objects.filter(customer=customer).values_list("pk", flat=True)
            ),
            ("certificates", "clouddevice"): list(
                CloudDevice.objects.filter(person_index=customer.rrn_index).values_list("pk", flat=True)
            ),
            ("core", "smsmessage"): list(SmsMessage.objects.filter(phone=customer.phone).values_list("pk", flat=True)[:1]),
            ("otp_totp", "totpdevice"): self.totp_devices,
            ("audit", "auditevent"): list(AuditEvent.objects.filter(customer=customer).values_list("pk", flat=True)[:1]),
            ("core", "bank"): [customer.bank_id],
        }


@dataclass
class StaffMember:
    role: str
    user: Customer
    client: Client


@dataclass
class World:
    banks: dict[str, Bank]
    victims: list[Victim]
    attackers: list[Person]
    staff: list[StaffMember]


def _browser(device: str) -> Client:
    """A browser whose server errors come back as 500 answers (the sweep counts them)."""
    return browser(device, raise_request_exception=False)


def _customer(banks, *, code, login_id, name, rrn, phone, email, password, pin, deposit) -> Customer:
    return customer_create_verified(
        bank=banks[code],
        login_id=login_id,
        password=password,
        name=name,
        rrn=rrn_rules.parse(rrn),
        phone=phone,
        email=email,
        pin=pin,
        deposit=deposit,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _copy_through(victim: Victim, holder) -> str:
    """인증서 복사 from the victim's PC to the victim's phone, up to the upload:
    the relay holds the sealed certificate for the phone. Returns its token."""
    phone, pc = _browser(device_token("P")), _browser(device_token("Q"))
    base = f"/{victim.bank.slug}/certificates/copy/"
    receiver, sender = pycopy.create_receiver(), pycopy.create_sender()
    opened = phone.post(base + "open/", {"receiver_commitment": _b64(receiver.commitment)}).json()
    found = pc.post(base + "find/", {"number": opened["number"]}).json()
    assert pc.post(base + "join/", {"token": found["token"], "sender_public_key": _b64(sender.public_key)}).status_code == 200
    assert (
        phone.post(base + "reveal/", {"token": opened["token"], "receiver_public_key": _b64(receiver.public_key)}).status_code
        == 200
    )
    ciphertext = pycopy.seal_for_receiver(
        sender=sender,
        receiver_public_key=receiver.public_key,
        receiver_commitment=receiver.commitment,
        token=found["token"],
        certificate_der=holder.der,
        key_file=b"encrypted key file stand-in",
    )
    assert pc.post(base + "upload/", {"token": found["token"], "ciphertext": _b64(ciphertext)}).status_code == 200
    return opened["token"]


def _pending_transfer(victim: Victim, to_account: DepositAccount) -> str:
    """The victim's browser reviews a transfer: a signing challenge waits for it."""
    client = victim.client
    slug = victim.bank.slug
    response = client.post(
        f"/{slug}/transfer/",
        {
            "from_account": victim.account.pk,
            "to_bank": to_account.bank.code,
            "to_number": to_account.number,
            "amount": "30000",
            "memo_mine": victim.markers["pending memo"],
            "memo_theirs": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get(f"/{slug}/transfer/review/").status_code == 200
    challenge = Challenge.objects.filter(customer=victim.customer, purpose=Challenge.Purpose.TRANSFER).latest("pk")
    return challenge.token


def _markers(customer: Customer, rrn: str, **more) -> dict[str, str]:
    phone = customer.phone
    return {
        "name": customer.name,
        "login ID": customer.login_id,
        "phone": phone,
        "phone (formatted)": f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
        "phone (masked)": customer.masked_phone,
        "e-mail": customer.email,
        "RRN (masked)": customer.rrn_masked,
        **more,
    }


def _secrets(customer: Customer, rrn: str) -> dict[str, str]:
    customer.refresh_from_db()
    values = {
        "RRN": rrn,
        "RRN digits": rrn.replace("-", ""),
        "RRN ciphertext": customer.rrn_ciphertext,
        "RRN index": customer.rrn_index,
        "password hash": customer.password,
    }
    for account in DepositAccount.objects.filter(owner=customer):
        values[f"PIN digest {account.number}"] = account.pin_digest
    for device in TOTPDevice.objects.filter(user=customer):
        values["TOTP key"] = device.key
    return values


def _finish_markers(victim: Victim) -> None:
    customer = victim.customer
    for account in DepositAccount.objects.filter(owner=customer):
        victim.account_numbers.append((account.number, account.display_number))
        victim.markers[f"balance {account.number}"] = f"{account.balance:,}"
        victim.markers[f"account {account.number}"] = account.number
        victim.markers[f"account {account.display_number}"] = account.display_number
    for certificate in Certificate.objects.filter(person_index=customer.rrn_index):
        victim.markers[f"serial {certificate.serial}"] = certificate.serial
        victim.markers[f"fingerprint {certificate.serial}"] = certificate.fingerprint
    for reference in victim.references:
        victim.markers[f"transfer {reference}"] = reference
    for token in victim.copy_tokens:
        victim.markers["copy token"] = token
    for token in victim.challenges:
        victim.markers["transfer challenge"] = token
    victim.secrets = _secrets(customer, victim.rrn)


def _victim(banks, *, code, login_id, name, rrn, phone, email, deposit, device, **markers) -> Victim:
    customer = _customer(
        banks,
        code=code,
        login_id=login_id,
        name=name,
        rrn=rrn,
        phone=phone,
        email=email,
        password=VICTIM_PASSWORD,
        pin=VICTIM_PIN,
        deposit=deposit,
    )
    client = log_in(_browser(device), bank_slug=customer.bank.slug, login_id=customer.login_id, password=VICTIM_PASSWORD)
    return Victim(customer=customer, client=client, device=device, rrn=rrn, markers=_markers(customer, rrn, **markers))


def _staff_login(role: str, user: Customer, password: str, device: TOTPDevice) -> StaffMember:
    client = staff_log_in(_browser(device_token(f"staff-{role}-")), username=user.username, password=password, device=device)
    return StaffMember(role=role, user=user, client=client)


VIEWER_GROUP = "인증서 조회 전용 (시험)"


def _staff(banks) -> list[StaffMember]:
    """Every staff role of flows.demo, and two more the console must hold to
    their permissions: one who may only view certificates, one with none."""
    members = []
    superuser, device = demo.seed_staff()
    members.append(_staff_login("superuser", superuser, demo.STAFF_PASSWORD, device))
    for role, (user, device) in zip(demo.STAFF_ROLES, demo.seed_staff_roles(), strict=True):
        members.append(_staff_login(role.username, user, role.password, device))
    viewer_group, _created = Group.objects.get_or_create(name=VIEWER_GROUP)
    viewer_group.permissions.set([Permission.objects.get(content_type__app_label="certificates", codename="view_certificate")])
    for username, groups in [("viewer", [viewer_group]), ("nobody", [])]:
        password = f"{username.title()}!Staff2026"
        user = Customer.objects.create_user(username, password, name=f"시험 직원 {username}", is_staff=True)
        user.groups.set(groups)
        device = TOTPDevice.objects.create(user=user, name="직원 OTP", confirmed=True)
        members.append(_staff_login(username, user, password, device))
    return members


def build(rsa_keys) -> World:
    """Victims at 901 and 902, attackers at 901, 902 and 903, and staff of every role."""
    banks = demo.seed_banks()
    v1 = _victim(
        banks,
        code="901",
        login_id="vicnuri1",
        name="남궁피해",
        rrn=rrn_for("710203", 1_234_56),
        phone="01077770001",
        email="vic1.marker@example.com",
        deposit=7_654_321,
        device=device_token("V"),
        **{
            "memo (mine)": "V1내통장메모XQ",
            "memo (theirs)": "V2받는메모ZK",
            "pending memo": "V1대기메모PW",
            "favourite nickname": "V1즐겨찾기NK",
            "device name": "V1지정단말DM",
        },
    )
    v1b = _victim(
        banks,
        code="902",
        login_id="vicgaram1b",
        name="남궁피해",
        rrn=v1.rrn,
        phone=v1.customer.phone,
        email=v1.customer.email,
        deposit=3_456_789,
        device=device_token("W"),
    )
    v2 = _victim(
        banks,
        code="902",
        login_id="vicgaram2",
        name="선우표적",
        rrn=rrn_for("680415", 2_345_67),
        phone="01077770002",
        email="vic2.marker@example.com",
        deposit=8_765_432,
        device=device_token("X"),
    )
    session = "sweep-seed-session"
    holder1 = issue_for(v1.customer, rsa_keys[0], session_key=session)
    holder2 = issue_for(v2.customer, rsa_keys[1], session_key=session)
    issue_cloud(v1.customer, rsa_keys[2], device=v1.device)
    register(holder1, v1b.customer, session_key=session)
    record = signed_transfer(
        holder1,
        v2.account,
        amount=50_000,
        memo_mine=v1.markers["memo (mine)"],
        memo_theirs=v1.markers["memo (theirs)"],
        session_key=session,
        device_token=v1.device,
    )
    v1.references.append(str(record.reference))
    favourite = banking_services.favourite_add(
        customer=v1.customer, account=v2.account, nickname=v1.markers["favourite nickname"]
    )
    v1.favourites.append(favourite.pk)
    grant = verified(v1.customer, Purpose.DESIGNATE, session_key=session)
    device = designation.device_designate(
        customer=v1.customer, grant=grant, session_key=session, device_token=v1.device, name=v1.markers["device name"]
    )
    v1.designated.append(device.pk)
    v2.totp_devices.append(TOTPDevice.objects.create(user=v2.customer, name="OTP", confirmed=True).pk)
    v1.copy_tokens.append(_copy_through(v1, holder1))
    v1.challenges.append(_pending_transfer(v1, v2.account))
    for victim, holder in [(v1, holder1), (v1b, holder1), (v2, holder2)]:
        victim.certificate_der = holder.der
        victim.serials = list(Certificate.objects.filter(person_index=victim.customer.rrn_index).values_list("serial", flat=True))
        _finish_markers(victim)

    attackers = []
    for n, code in enumerate(["901", "902", "903"], start=1):
        customer = _customer(
            banks,
            code=code,
            login_id=f"attacker{n}",
            name="공격자",
            rrn=rrn_for("950505", 1_000_00 + n),
            phone=f"010999951{n}{n}",  # the last four differ from every victim's
            email=f"attacker{n}@example.com",
            password=ATTACKER_PASSWORD,
            pin=ATTACKER_PIN,
            deposit=10_000,
        )
        device = device_token(f"{n}")
        client = log_in(_browser(device), bank_slug=customer.bank.slug, login_id=customer.login_id, password=ATTACKER_PASSWORD)
        attackers.append(Person(customer=customer, client=client, device=device))
    return World(banks=banks, victims=[v1, v1b, v2], attackers=attackers, staff=_staff(banks))
