"""The world the fuzzer attacks: the demo banks, customers and staff, each
with real rows to point at (accounts, certificates, transfers, favourites,
devices, copy sessions, challenges), and one browser per actor, logged in
or half-way through a flow.

Built once per test module inside one transaction that is rolled back at
the end; every fuzz case runs in a savepoint of its own (tests/fuzz/cases.py).
"""

import base64
import hashlib
import os
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.apps import apps
from django.db import models
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import designation
from accounts.models import Customer
from banking.models import Transfer
from banking.services import favourite_add
from certificates import ca
from certificates.challenges import challenge_create
from certificates.client import copy as pycopy
from certificates.models import Challenge
from flows import demo
from tests.certificates.conftest import issue_for
from tests.certificates.test_cloud import issue_cloud
from tests.certificates.test_registration import register
from tests.verification import Purpose, verified, web_verify
from tests.worlds import browser, log_in, signed_transfer, staff_log_in

HONG_DEVICE = "H" * 43
YOUNGHEE_DEVICE = "Y" * 43
CHULSOO_DEVICE = "C" * 43

# Who sends the requests. A customer actor is also "the person" whose rows it may change.
ANON = "anon"
ANON_SIGNUP = "anon_signup"  # a sign-up waiting for its SMS code
ANON_ISSUE = "anon_issue"  # logged out, identity verified for issuance (the keys page)
ANON_COPY = "anon_copy"  # a receiving device that opened a 인증서 복사
HONG = "hong"  # 누리은행 customer, mid-transfer (a reviewed draft in the session)
CHULSOO = "chulsoo"  # 다온은행 customer with OTP
STAFF = "staff"  # superuser
TELLER = "teller"
OFFICER = "officer"
CUSTOMER_ACTORS = (HONG, CHULSOO)
STAFF_ACTORS = (STAFF, TELLER, OFFICER)
ACTORS = (ANON, ANON_SIGNUP, ANON_ISSUE, ANON_COPY, HONG, CHULSOO, STAFF, TELLER, OFFICER)
# Whose pages teach the fuzzer the forms (the superuser sees every form of the staff console).
CRAWLERS = (ANON, ANON_SIGNUP, ANON_ISSUE, ANON_COPY, HONG, STAFF)


@dataclass
class World:
    banks: dict
    customers: dict  # login id -> Customer
    cookies: dict = field(default_factory=dict)  # actor -> SimpleCookie
    person: dict = field(default_factory=dict)  # actor -> rrn_index of the customer acting (customer actors)
    person_of_customer: dict = field(default_factory=dict)  # every customer pk (staff too) -> rrn_index
    own: dict = field(default_factory=dict)  # customer actor -> {name: the actor's own values}
    # Real values by field name (every model's text/number fields, e.g. "serial",
    # "number", "token"), for path parameters and form fields alike.
    values: dict = field(default_factory=dict)
    path_values: dict = field(default_factory=dict)  # where a path parameter means less than the field of its name
    pks: dict = field(default_factory=dict)  # model label -> [pk, ...]
    der: dict = field(default_factory=dict)  # "certificate" -> [DER bytes of real certificates]
    ocsp_issuer: tuple = (b"", b"")  # SHA-1 issuer name and key hashes of the issuing CA

    def client(self, actor: str, *, enforce_csrf_checks: bool = False) -> Client:
        """A fresh browser with `actor`'s cookies (a case's logout or language
        change leaves the next case's browser as it was)."""
        client = Client(enforce_csrf_checks=enforce_csrf_checks, raise_request_exception=True)
        client.cookies = SimpleCookie({name: morsel.value for name, morsel in self.cookies[actor].items()})
        return client


def build_world() -> World:
    """Seed everything (call inside a transaction the caller rolls back)."""
    banks, customers, _staff, _device = demo.seed_all()
    by_login = {customer.login_id: customer for customer in customers}
    hong, gildong, younghee, chulsoo = (by_login[name] for name in ("hong", "gildong", "younghee", "chulsoo"))
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]

    # Certificates: 공동인증서 for three people (홍길동's also registered at 가람은행), 금융인증서 for two.
    hong_holder = issue_for(hong, keys[0], session_key="fuzz-seed-hong")
    younghee_holder = issue_for(younghee, keys[1], session_key="fuzz-seed-younghee")
    chulsoo_holder = issue_for(chulsoo, keys[2], session_key="fuzz-seed-chulsoo")
    register(hong_holder, gildong, session_key="fuzz-seed-gildong")
    issue_cloud(hong, keys[3], device=HONG_DEVICE)
    issue_cloud(younghee, keys[4], device=YOUNGHEE_DEVICE)

    # Money that moved, with signed receipts: each customer actor has sent and received.
    account = {c.login_id: c.deposit_accounts.get() for c in (hong, younghee, chulsoo)}
    sent = ((hong_holder, "chulsoo", 120_000), (younghee_holder, "hong", 30_000), (chulsoo_holder, "younghee", 45_000))
    for n, (holder, to, amount) in enumerate(sent, start=1):
        signed_transfer(
            holder,
            account[to],
            amount=amount,
            memo_mine="퍼즈 시험",
            memo_theirs=holder.customer.name,
            session_key=f"fuzz-seed-t{n}",
            device_token="T" * 43,
        )
    favourite_add(customer=hong, account=account["chulsoo"], nickname="철수")
    favourite_add(customer=younghee, account=account["hong"], nickname="길동")
    favourite_add(customer=chulsoo, account=account["younghee"], nickname="영희")

    # 단말기 지정 (designated devices) for two people; OTP for 이철수.
    for customer, device in ((hong, HONG_DEVICE), (younghee, YOUNGHEE_DEVICE)):
        session_key = f"fuzz-seed-designate-{customer.login_id}"
        grant = verified(customer, Purpose.DESIGNATE, session_key=session_key)
        designation.device_designate(customer=customer, grant=grant, session_key=session_key, device_token=device, name="집 PC")
    TOTPDevice.objects.create(user=chulsoo, name="OTP", confirmed=True)

    # Someone else's challenges and copy sessions, for their tokens and numbers.
    for bank in banks.values():
        challenge_create(purpose=Challenge.Purpose.LOGIN, bank=bank, session_key="fuzz-seed-other")

    world = World(banks=banks, customers={c.login_id: c for c in Customer.objects.exclude(login_id="")})
    clients = {}

    # --- the actors' browsers -------------------------------------------------------------------
    clients[ANON] = Client()
    clients[ANON].get("/nuri/")

    clients[ANON_SIGNUP] = Client()
    response = clients[ANON_SIGNUP].post(
        "/garam/signup/",
        {
            "name": "박신규",
            "rrn": "950505-1234561",
            "phone": "01055556666",
            "email": "new@example.com",
            "login_id": "newbie",
            "password1": "Newbie!2026x",
            "password2": "Newbie!2026x",
            "agree": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]

    clients[ANON_ISSUE] = Client()
    web_verify(
        clients[ANON_ISSUE], "/nuri/certificates/issue/", younghee, logged_in=False, detail={"kind": "joint", "reason": "new"}
    )

    clients[ANON_COPY] = Client()
    receiver = pycopy.create_receiver()
    response = clients[ANON_COPY].post(
        "/nuri/certificates/copy/open/", {"receiver_commitment": base64.b64encode(receiver.commitment).decode()}
    )
    assert response.status_code == 200, response.content
    other_copy = Client()
    other_copy.post("/daon/certificates/copy/open/", {"receiver_commitment": base64.b64encode(os.urandom(32)).decode()})

    clients[HONG] = log_in(browser(HONG_DEVICE), bank_slug="nuri", login_id="hong", password=demo.DEMO_PASSWORD)
    response = clients[HONG].post(
        "/nuri/transfer/",
        {
            "from_account": account["hong"].pk,
            "to_bank": "903",
            "to_number": account["chulsoo"].number,
            "amount": "10,000",
            "memo_mine": "",
            "memo_theirs": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert clients[HONG].get("/nuri/transfer/review/").status_code == 200
    clients[CHULSOO] = log_in(browser(CHULSOO_DEVICE), bank_slug="daon", login_id="chulsoo", password=demo.DEMO_PASSWORD)

    roles = {role.username: role for role in demo.STAFF_ROLES}
    for actor, (member, device) in zip((TELLER, OFFICER), demo.seed_staff_roles(), strict=True):
        clients[actor] = staff_log_in(Client(), username=member.username, password=roles[member.username].password, device=device)
    _staff, staff_device = demo.seed_staff()
    clients[STAFF] = staff_log_in(Client(), username=demo.STAFF_USERNAME, password=demo.STAFF_PASSWORD, device=staff_device)

    world.cookies = {actor: client.cookies for actor, client in clients.items()}
    world.person = {HONG: hong.rrn_index, CHULSOO: chulsoo.rrn_index}
    world.person_of_customer = dict(Customer.objects.values_list("pk", "rrn_index"))
    world.own = {actor: _own_values(customer) for actor, customer in ((HONG, hong), (CHULSOO, chulsoo))}
    # Visitors half-way through a flow are at the bank of that flow.
    world.own.update({ANON_SIGNUP: {"bank": ["garam"]}, ANON_ISSUE: {"bank": ["nuri"]}, ANON_COPY: {"bank": ["nuri"]}})
    _collect_values(world)
    world.der["certificate"] = [h.der for h in (hong_holder, younghee_holder, chulsoo_holder)]
    world.ocsp_issuer = _issuer_hashes()
    return world


def _own_values(customer) -> dict:
    from accounts.models import DesignatedDevice
    from banking.models import DepositAccount, FavouriteRecipient
    from certificates.models import Certificate

    return {
        "bank": [customer.bank.slug],
        "number": list(DepositAccount.objects.filter(owner=customer).values_list("number", flat=True)),
        "serial": list(Certificate.objects.filter(person_index=customer.rrn_index).values_list("serial", flat=True)),
        "reference": [str(r) for r in Transfer.objects.filter(customer=customer).values_list("reference", flat=True)],
        "pk": [str(pk) for pk in FavouriteRecipient.objects.filter(customer=customer).values_list("pk", flat=True)]
        + [str(pk) for pk in DesignatedDevice.objects.filter(customer=customer).values_list("pk", flat=True)],
    }


# Text-like model fields whose values make good form and path values ("serial",
# "number", "token", "login_id", ...). Secrets and blobs are left out.
_SKIP_FIELDS = {"password", "rrn_ciphertext", "rrn_index", "key", "token_digest", "pin_digest", "hash", "prev_hash"}
_VALUE_TYPES = (models.CharField, models.TextField, models.UUIDField, models.IntegerField, models.SlugField)


# Models whose values are secrets of this world (SMS codes, OTP keys, sessions) or its record of them.
_SKIP_MODELS = {"accounts.PhoneDevice", "otp_totp.TOTPDevice", "sessions.Session", "audit.AuditEvent", "audit.AuditChainHead"}


def _collect_values(world: World) -> None:
    values: dict[str, list] = {}
    for model in apps.get_models():
        label = model._meta.label
        world.pks[label] = list(model.objects.values_list("pk", flat=True)[:50])
        if label in _SKIP_MODELS:
            continue
        for model_field in model._meta.concrete_fields:
            if model_field.name in _SKIP_FIELDS or not isinstance(model_field, _VALUE_TYPES):
                continue
            found = model.objects.exclude(**{f"{model_field.attname}__isnull": True}).values_list(model_field.attname, flat=True)
            bucket = values.setdefault(model_field.name, [])
            for value in found.distinct()[:30]:
                text = str(value)
                if text and text not in bucket:
                    bucket.append(text)
    values.setdefault("slug", []).extend(bank.slug for bank in world.banks.values())
    values["bank"] = [bank.slug for bank in world.banks.values()] + [bank.code for bank in world.banks.values()]
    world.values = values
    # <slug:bank> in a path is a slug; a form's "bank" field (수취인 조회) is a code.
    world.path_values = {"bank": [bank.slug for bank in world.banks.values()]}


def _issuer_hashes() -> tuple[bytes, bytes]:
    """The issuing CA's CertID hashes (RFC 6960 §4.1.1, SHA-1): its subject
    name, and the value of its subjectPublicKey BIT STRING (for RSA, the PKCS#1 key)."""
    issuing = x509.load_der_x509_certificate(ca.ca_certificate_bytes("issuing", "der"))
    name_hash = hashlib.sha1(issuing.subject.public_bytes()).digest()
    key_hash = hashlib.sha1(issuing.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)).digest()
    return name_hash, key_hash
