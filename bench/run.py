"""Certbank benchmarks: `make bench` (or `python bench/run.py`).

Measures, on a throw-away database (a temporary SQLite file, or the
PostgreSQL of DATABASE_URL), the costs the issue notes quote:

- 금융인증서, server side: the weak-PIN check at issuance (the server derives
  the verifier of every forbidden PIN, at the production iteration count),
  and PIN unlocks per second (keyed digest compare, row lock, counter,
  audit row, unsealing the server secret);
- money: transfers per second through banking.services.transfer, with one
  thread and with four;
- in Chromium (when /usr/bin/chromium exists): the browser's PIN verifier
  and key unwrap (static/js/crypto/cloud.js) at the production iteration
  count.

Nothing here asserts a number; it prints them. The test suite proves
behaviour, this measures it.
"""

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="certbank-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings_test")
os.environ["CERTBANK_DATA_DIR"] = str(WORK)
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORK / 'bench.sqlite3'}")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("CERTBANK_LOG_LEVEL", "WARNING")  # no SMS log line per transfer

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

PRODUCTION_ITERATIONS = 100_000  # the default of CERTBANK_CLOUD_PIN_ITERATIONS in bank/settings.py


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def report(name: str, value: str) -> None:
    print(f"  {name:<58} {value}")


def setup_database():
    if connection.vendor == "postgresql":
        # Use a database of its own on the server named by DATABASE_URL.
        name = f"certbank_bench_{os.getpid()}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        settings.DATABASES["default"]["NAME"] = name
        connections.close_all()
        connections["default"].settings_dict["NAME"] = name
        return name
    return None


def drop_database(name):
    if name:
        connections.close_all()
        connections["default"].settings_dict["NAME"] = "postgres"
        with connections["default"].cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def people():
    from accounts import rrn as rrn_rules
    from flows import demo
    from flows.signup import customer_create_verified

    banks = demo.seed_banks()

    def make(code, login_id, number, deposit):
        body = f"8001011{number:05d}"
        check = rrn_rules.check_digit(body)
        return customer_create_verified(
            bank=banks[code],
            login_id=login_id,
            password="Bench!2026pass",
            name="벤치",
            rrn=rrn_rules.parse(f"{body[:6]}-{body[6:]}{check}"),
            phone=f"010{number:08d}",
            email=f"{login_id}@example.com",
            pin="1234",
            deposit=deposit,
        )

    return make


def bench_cloud(make):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from certificates import services
    from certificates.challenges import challenge_create
    from certificates.client import cloud as client
    from certificates.models import Challenge
    from certificates.verify import pin_is_one_of, pin_verifier_for

    print("금융인증서 (server)")
    setup = services.cloud_setup_new()
    verifier = pin_verifier_for("482916", salt=setup.verifier_salt, iterations=PRODUCTION_ITERATIONS)
    weak = services.WEAK_PINS + ("800101",)
    samples = timed(lambda: pin_is_one_of(verifier, weak, salt=setup.verifier_salt, iterations=PRODUCTION_ITERATIONS), repeat=3)
    report(
        f"weak-PIN check at issuance ({len(weak)} PINs × {PRODUCTION_ITERATIONS:,} rounds)",
        f"{statistics.median(samples) * 1000:.0f} ms",
    )

    customer = make("901", "cloudbench", 1, 0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    r = os.urandom(20)
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key="bench", customer=customer)
    iterations = settings.CERTBANK_CLOUD_PIN_ITERATIONS
    certificate = services.certificate_issue_financial(
        customer=customer,
        bank=customer.bank,
        session_key="bench",
        token=challenge.token,
        public_key_spki=key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        signature=key.sign(bytes(challenge.to_sign), padding.PKCS1v15(), hashes.SHA256()),
        r=r,
        verifier=client.pin_verifier("482916", setup.verifier_salt, iterations),
        wrapped_key=client.wrap_key(key, r, "482916", setup.server_secret, setup.wrap_salt, iterations),
        setup=services.CloudSetup(setup.server_secret, setup.wrap_salt, setup.verifier_salt, iterations),
        device_token="B" * 43,
    )
    right = client.pin_verifier("482916", setup.verifier_salt, iterations)
    count = 200
    start = time.perf_counter()
    for _ in range(count):
        services.cloud_key_unlock(serial=certificate.serial, verifier=right, device_token="B" * 43, bank=customer.bank)
    elapsed = time.perf_counter() - start
    report("PIN unlocks (verifier check, lock, audit row, unseal)", f"{count / elapsed:,.0f} per second, one thread")


def bench_transfers(make):
    from banking.services import transfer

    print(f"Transfers ({connection.vendor})")
    accounts = []
    for n in range(8):
        customer = make(["901", "902", "903"][n % 3], f"tbench{n}", 100 + n, 10_000_000)
        accounts.append((customer, customer.deposit_accounts.get()))

    def run(thread: int, count: int, done: list):
        import random

        rng = random.Random(thread)  # noqa: S311 - picks accounts and amounts, nothing secret
        ok = 0
        for _ in range(count):
            (customer, source), (_c, target) = rng.sample(accounts, 2)
            transfer(
                customer=customer,
                from_account=source,
                to_account=target,
                amount=rng.randint(1, 1000),
                unsigned_reason="benchmark",
            )
            ok += 1
        done.append(ok)
        connections.close_all()

    for threads, per_thread in ((1, 200), (4, 100)):
        done: list[int] = []
        workers = [threading.Thread(target=run, args=(t, per_thread, done)) for t in range(threads)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
        report(
            f"banking.services.transfer, {threads} thread(s)", f"{sum(done) / elapsed:,.0f} per second ({sum(done)} transfers)"
        )


def bench_browser():
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        print("Chromium: /usr/bin/chromium not found, browser figures skipped")
        return
    from http.server import ThreadingHTTPServer

    from playwright.sync_api import sync_playwright

    from tests.chromium import CHROMIUM_ARGS
    from tests.crypto.conftest import TEST_PAGE, StaticHandler

    handler = lambda *a, **k: StaticHandler(*a, directory=str(ROOT / "static"), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("금융인증서 (Chromium, static/js/crypto/cloud.js)")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}{TEST_PAGE}")
            result = page.evaluate(
                """async (iterations) => {
                  const cloud = await import('/js/crypto/cloud.js');
                  const signer = await import('/js/crypto/signer.js');
                  const { privateKeyPkcs8 } = await signer.generateKeyPair();
                  const secret = crypto.getRandomValues(new Uint8Array(32));
                  const salt = cloud.randomSalt();
                  const out = {verify: [], unwrap: []};
                  const blob = await cloud.wrapKey({privateKeyPkcs8, r: signer.randomR(), pin: '482916',
                                                    serverSecret: secret, wrapSalt: salt, iterations});
                  for (let i = 0; i < 5; i++) {
                    let t = performance.now();
                    await cloud.pinVerifier('482916', {verifierSalt: salt, iterations});
                    out.verify.push(performance.now() - t);
                    t = performance.now();
                    await cloud.unwrapKey({blob, pin: '482916', serverSecret: secret, wrapSalt: salt, iterations});
                    out.unwrap.push(performance.now() - t);
                  }
                  return out;
                }""",
                PRODUCTION_ITERATIONS,
            )
            browser.close()
    finally:
        server.shutdown()
    report(f"PIN verifier ({PRODUCTION_ITERATIONS:,} rounds)", f"{statistics.median(result['verify']):.0f} ms (median of 5)")
    report(
        f"key unwrap ({PRODUCTION_ITERATIONS:,} rounds + HKDF + AES-GCM + import)",
        f"{statistics.median(result['unwrap']):.0f} ms (median of 5)",
    )


def main():
    print(f"Certbank benchmark · {connection.vendor} · {os.cpu_count()} CPUs")
    name = setup_database()
    try:
        call_command("migrate", verbosity=0)
        make = people()
        bench_cloud(make)
        bench_transfers(make)
    finally:
        connections.close_all()
        drop_database(name)
    bench_browser()


if __name__ == "__main__":
    main()
