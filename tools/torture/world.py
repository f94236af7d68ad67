"""The torture world: a throw-away database, production settings, and the
seeded customers, each with an account, a 공동인증서 whose key pair the
client side made, and (most of them) a designated device.

Seeding goes through the same services a person's steps reach (sign-up,
본인확인 + SMS, issuance with proof of possession, 단말기 지정 with the
login and an SMS code), in this process, before the server starts.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tools.torture import server

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Torture!2026pass"
PIN = "1234"


@dataclass
class Person:
    """A seeded customer as the client side knows them (the key never leaves the client)."""

    index: int
    customer_id: int
    bank_code: str
    bank_slug: str
    login_id: str
    account_id: int
    account_number: str
    phone: str
    certificate_der: bytes
    private_key: object
    device_token: str
    designated: bool
    poor: bool
    initial: int


def database_urls(base_url: str, name: str) -> tuple[str, str]:
    """(URL of the maintenance database, URL of the torture database) on the server of `base_url`."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"torture needs PostgreSQL: DATABASE_URL is {parts.scheme or 'empty'}:// (see --help)")
    maintenance = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    own = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    return maintenance, own


def conninfo(url: str, **options: str) -> str:
    """A libpq conninfo for psycopg from a postgres:// URL (and options such as application_name)."""
    parts = urllib.parse.urlsplit(url)
    fields = {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": urllib.parse.unquote(parts.username or "postgres"),
        "dbname": parts.path.lstrip("/") or "postgres",
    }
    if parts.password:
        fields["password"] = urllib.parse.unquote(parts.password)
    fields.update(options)
    return " ".join(f"{key}='{value}'" for key, value in fields.items())


def database_recreate(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(conninfo(maintenance_url, application_name="torture-setup"), autocommit=True) as connection:
        # Never pull a database from under a run that is still using it (a second `make torture`
        # once dropped a 150-minute run's database WITH (FORCE)): refuse while anyone is connected.
        users = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]
        if users:
            raise SystemExit(f"database {name} is in use ({users} connections): another run? Pass --database=<other name>.")
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(conninfo(maintenance_url, application_name="torture-setup"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_environment(*, database_url: str, work: Path, port: int, more_ports: tuple[int, ...] = ()) -> dict[str, str]:
    """The server's environment: DJANGO_ENV=production with its own fresh secrets,
    plain HTTP on 127.0.0.1 (no secure cookies, no HTTPS redirect, no HSTS).
    `more_ports`: other web nodes started with this same environment (the same
    secrets and data folder), whose origins the forms are also posted from."""
    return server.production_environment(
        database_url=database_url,
        data_dir=work / "data",
        static_root=work / "static",
        public_url=f"http://127.0.0.1:{port}",
        allowed_hosts="127.0.0.1,localhost",
        DJANGO_CSRF_TRUSTED_ORIGINS=",".join(f"http://127.0.0.1:{p}" for p in (port, *more_ports)),
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SSL_REDIRECT="false",
        DJANGO_HSTS_SECONDS="0",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        CERTBANK_DEMO_MODE="false",
        DATABASE_CONN_MAX_AGE="0",  # the settings default: a connection per request
    )


def prepare_files(work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    (work / "data").mkdir(parents=True)


def migrate_and_collect(env: dict[str, str]) -> None:
    """migrate and collectstatic in a child process with the server's environment
    (the manifest static storage of production needs collectstatic)."""
    running = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(ROOT / "manage.py"), *command, "--noinput", "-v0"], cwd=ROOT, env={**os.environ, **env}
        )
        for command in (["migrate"], ["collectstatic"])
    ]
    for process in running:
        if process.wait() != 0:
            raise SystemExit(f"{' '.join(process.args[1:])} failed with exit code {process.returncode}")


def _rrn(n: int) -> str:
    from accounts import rrn as rrn_rules

    body = f"850101{1 + n % 2}{n:05d}"
    return f"{body[:6]}-{body[6:]}{rrn_rules.check_digit(body)}"


NAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지민", "예준", "수아"]


def seed(*, customers: int, rng: random.Random, progress=print) -> tuple[list[Person], dict]:
    """Banks, the CA, and `customers` people spread over the three demo banks.

    About one in eight is poor (a small balance: overdraft attempts), the rest
    hold a few million won. Three in four designate the tool's browser as a
    device (no extra SMS check from 3,000,000원 a day); the others get the SMS
    code through the outbox, as their phone would.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.db.models import Sum

    from accounts import rrn as rrn_rules
    from accounts.designation import device_designate
    from accounts.models import PhoneDevice, VerificationGrant
    from accounts.verification import Factor, grant_open, grant_sms_send, grant_sms_verify
    from banking.models import DepositAccount
    from certificates import services
    from certificates.challenges import challenge_create
    from certificates.client import npki
    from certificates.client.protocol import sign_pkcs1
    from certificates.models import Challenge
    from flows import demo, stepup
    from flows.signup import customer_create_verified

    banks = demo.seed_banks()
    codes = sorted(banks)
    people: list[Person] = []
    for index in range(customers):
        code = codes[index % len(codes)]
        bank = banks[code]
        poor = index % 8 == 5
        deposit = rng.randrange(20_000, 300_000, 1_000) if poor else rng.randrange(3_000_000, 30_000_000, 10_000)
        name = NAMES[index % len(NAMES)] + GIVEN[(index // len(NAMES)) % len(GIVEN)]
        phone = f"0109{index:07d}"
        customer = customer_create_verified(
            bank=bank,
            login_id=f"t{index:04d}",
            password=PASSWORD,
            name=name,
            rrn=rrn_rules.parse(_rrn(index + 1)),
            phone=phone,
            email=f"t{index:04d}@example.com",
            pin=PIN,
            deposit=deposit,
        )
        account = DepositAccount.objects.get(owner=customer, kind=DepositAccount.Kind.CUSTOMER)
        # The client side makes the key pair (as WebCrypto in the browser would);
        # the bank sees the public key, a proof-of-possession signature and R.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        session_key = f"torture-seed-{secrets.token_hex(8)}"
        grant = stepup.stepup_start_logged_out(
            purpose=VerificationGrant.Purpose.ISSUE,
            bank=bank,
            session_key=session_key,
            name=name,
            rrn=customer.decrypted_rrn(),
            account_number=account.number,
            pin=PIN,
            detail={"kind": "joint", "reason": "new"},
        )
        grant_sms_send(grant=grant)
        phone_device = PhoneDevice.objects.get(user=customer)
        grant_sms_verify(grant=grant, code=phone_device.token)
        challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, customer=customer)
        certificate = services.certificate_issue_joint(
            grant=grant.token,
            bank=bank,
            session_key=session_key,
            token=challenge.token,
            public_key_spki=npki.public_key_spki(key),
            signature=sign_pkcs1(key, bytes(challenge.to_sign)),
            r=os.urandom(20),
        )
        device_token = secrets.token_urlsafe(32)
        designated = index % 4 != 3
        if designated:
            # 단말기 지정 from a logged-in session with an SMS code. The phone
            # waits out the resend cooldown of the issuance code first.
            PhoneDevice.objects.get(user=customer).cooldown_reset()
            designate = grant_open(
                purpose=VerificationGrant.Purpose.DESIGNATE,
                customer=customer,
                bank=bank,
                session_key=session_key,
                factors=[Factor.LOGIN],
            )
            grant_sms_send(grant=designate)
            grant_sms_verify(grant=designate, code=PhoneDevice.objects.get(user=customer).token)
            device_designate(
                customer=customer, grant=designate.token, session_key=session_key, device_token=device_token, name="토처 PC"
            )
        PhoneDevice.objects.filter(user=customer).update(last_generated_timestamp=None)  # the next code may go at once
        people.append(
            Person(
                index=index,
                customer_id=customer.pk,
                bank_code=code,
                bank_slug=bank.slug,
                login_id=customer.login_id,
                account_id=account.pk,
                account_number=account.number,
                phone=phone,
                certificate_der=bytes(certificate.der),
                private_key=key,
                device_token=device_token,
                designated=designated,
                poor=poor,
                initial=deposit,
            )
        )
        if (index + 1) % 20 == 0:
            progress(f"  seeded {index + 1}/{customers} customers")
    totals = {
        "all": int(DepositAccount.objects.aggregate(s=Sum("balance"))["s"] or 0),
        "customers": int(DepositAccount.objects.filter(kind="customer").aggregate(s=Sum("balance"))["s"] or 0),
    }
    return people, totals
