"""Certbank over HTTP: `make bench` (issue 13), every figure beside its anchor from the same run.

    python bench/over_http.py [--rounds 3] [--seconds 6] [--clients 8] [--workers 3]

On the PostgreSQL server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/)
it creates a throw-away database, migrates and seeds it (tools/torture/world.py:
customers with 공동인증서 whose keys stay in this process, as in a browser),
starts gunicorn with production settings (3 sync workers) on 127.0.0.1, and
runs `--clients` concurrent clients against it. Each round measures every
figure once, in the same order, so that a noisy moment hits all of them
alike; rates and latency percentiles are taken over all rounds:

- the anchor for requests: a trivial view, GET /ca/;
- password login (the POST) and certificate login (challenge + signed POST);
- the whole signed transfer (form POST → review page → signed POST), and
  the signed POST alone (the forms and reviews made before the clock starts);
- the overview (전체계좌조회) and history (거래내역조회) pages;
- the anchor for transactions: `pgbench` TPC-B with -c 8 -j 2 on a database
  of its own on the same server.

Then, in this process: the in-process certificate check (certificate_login()
with its SQL) against the bare `cryptography` floor (load, chain, verify),
and the worker memory of a streamed CSV of --csv-rows ledger rows.

Prints one table and writes it as JSON to var/bench/latest.json. Nothing is
asserted: the test suite proves behaviour, this measures it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.torture import world  # noqa: E402

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"
DATABASE = "certbank_bench"
PGBENCH_DATABASE = "certbank_bench_pgbench"
CSRF = "b" * 32  # a CSRF cookie secret of our own making, as Django accepts it (32 characters)


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class Figure:
    """Completions and their latencies, over every round."""

    name: str
    done: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


# --- Clients ------------------------------------------------------------------------------------


def browser(base_url: str, person, journal):
    from tools.torture.browser import Browser, _cookie

    client = Browser(base_url, person.bank_slug, device_token=person.device_token, journal=journal)
    client.cookies.set_cookie(_cookie("csrftoken", CSRF, "127.0.0.1"))
    return client


def certificate_login(client, person) -> bool:
    from certificates.client.protocol import sign_pkcs1
    from tools.torture.browser import b64

    answer = client.post("certificates/challenge/", {"purpose": "login"})
    data = answer.json()
    if answer.status != 200 or "challenge" not in data:
        return False
    signed = sign_pkcs1(person.private_key, base64.b64decode(data["to_sign"]))
    answer = client.post(
        "login/certificate/",
        {"challenge": data["challenge"], "certificate": b64(person.certificate_der), "signature": b64(signed)},
    )
    return answer.status == 200 and "redirect" in answer.json()


def transfer_prepare(client, person, recipient, amount: int) -> dict | None:
    """Form POST and the review page it leads to: the challenge and the bytes to sign."""
    from tools.torture.browser import review_fields

    answer = client.post_form(
        "transfer/",
        {
            "from_account": str(person.account_id),
            "to_bank": recipient.bank_code,
            "to_number": recipient.account_number,
            "amount": str(amount),
            "memo_mine": "벤치",
            "memo_theirs": person.login_id,
        },
    )
    fields = review_fields(answer.text) if answer.status == 200 else {}
    return fields if "challenge" in fields else None


def transfer_sign(client, person, review: dict) -> bool:
    from certificates.client.protocol import sign_pkcs1
    from tools.torture.browser import b64

    signed = sign_pkcs1(person.private_key, base64.b64decode(review["to-sign"]))
    answer = client.post(
        "transfer/sign/",
        {
            "challenge": review["challenge"],
            "certificate": b64(person.certificate_der),
            "signature": b64(signed),
            "otp_code": "",
            "sms_code": "",
        },
    )
    return answer.status == 200 and "redirect" in answer.json()


def _measure(figure: Figure, lock: threading.Lock, operation, argument) -> None:
    started = time.perf_counter()
    ok = operation(argument)
    elapsed = time.perf_counter() - started
    with lock:
        if ok:
            figure.done += 1
            figure.latencies.append(elapsed)
        else:
            figure.failures += 1


def _threads(figure: Figure, bodies: list) -> None:
    """Run each body in a thread of its own, all released at once; the clock runs
    from the release to the last thread's end."""
    barrier = threading.Barrier(len(bodies) + 1)

    def run(body) -> None:
        barrier.wait()
        body()

    threads = [threading.Thread(target=run, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    figure.seconds += time.monotonic() - began


def timed_threads(figure: Figure, clients: int, seconds: float, operation) -> None:
    """`clients` threads each repeating operation(thread_index) for `seconds`."""
    lock = threading.Lock()
    stop = time.monotonic() + seconds + 0.5  # the threads start within the half second

    def repeat(index: int):
        def body() -> None:
            while time.monotonic() < stop:
                _measure(figure, lock, operation, index)

        return body

    _threads(figure, [repeat(i) for i in range(clients)])


def batch_threads(figure: Figure, work: list[list], operation) -> None:
    """One thread per list, each running operation(item) over its items (the signed
    POSTs alone, prepared beforehand)."""
    lock = threading.Lock()

    def over(items):
        def body() -> None:
            for item in items:
                _measure(figure, lock, operation, item)

        return body

    _threads(figure, [over(items) for items in work])


def _pgbench_connection(url: str) -> list[str]:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username or "postgres")
    return ["pgbench", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", user]


def pgbench(url: str, *, clients: int, seconds: float, figure: Figure) -> None:
    """TPC-B (pgbench's default script) on its own database of the same server: transactions per second."""
    import re

    duration = str(max(1, round(seconds)))
    command = [*_pgbench_connection(url), "-c", str(clients), "-j", "2", "-T", duration, "-n", PGBENCH_DATABASE]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    if tps and processed:
        figure.done += int(processed[1])
        figure.seconds += int(processed[1]) / float(tps[1])


# --- In this process ----------------------------------------------------------------------------


def certificate_check_costs(person, repeat: int) -> tuple[float, float, int]:
    """(µs of the cryptography floor, µs of certificate_login(), its SQL statements), medians."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.x509.verification import PolicyBuilder, Store
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from certificates import ca
    from certificates.challenges import challenge_create
    from certificates.client.protocol import sign_pkcs1
    from certificates.login import certificate_login
    from certificates.models import Challenge
    from core.models import Bank

    root, issuing = ca.ca_root_certificate(), ca.ca_issuing_certificate()
    data = os.urandom(200)
    signature = sign_pkcs1(person.private_key, data)
    floor = []
    for _ in range(repeat):
        started = time.perf_counter()
        leaf = x509.load_der_x509_certificate(person.certificate_der)
        PolicyBuilder().store(Store([root])).time(timezone.now()).build_client_verifier().verify(leaf, [issuing])
        leaf.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        floor.append(time.perf_counter() - started)
    bank = Bank.objects.get(code=person.bank_code)
    ours, statements = [], []
    for n in range(repeat):
        session_key = f"bench-{n}"
        challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=bank, session_key=session_key)
        signed = sign_pkcs1(person.private_key, bytes(challenge.to_sign))
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            certificate_login(
                bank=bank,
                session_key=session_key,
                token=challenge.token,
                certificate_der=person.certificate_der,
                signature=signed,
            )
            ours.append(time.perf_counter() - started)
        statements.append(len(queries))
    return statistics.median(floor) * 1e6, statistics.median(ours) * 1e6, int(statistics.median(statements))


def csv_memory(base_url: str, server, person, rows: int) -> tuple[float, float, float]:
    """Build `rows` ledger rows on the person's account (balanced pairs against the bank's
    fee account, so balances still equal ledgers), download the 3-month CSV, and read the
    largest worker RSS before and after: (seconds, MB before, MB after)."""
    from tools.torture.browser import Journal

    _ledger_rows(person, rows)
    client = browser(base_url, person, Journal())
    certificate_login(client, person)
    before = max(_rss_mb(pid) for pid in server.worker_pids())
    started = time.perf_counter()
    answer = client.get(f"accounts/{person.account_number}/history.csv?period=3m")
    elapsed = time.perf_counter() - started
    after = max(_rss_mb(pid) for pid in server.worker_pids())
    lines = answer.body.count(b"\n")
    if answer.status != 200 or lines < rows:
        say(f"  CSV download: status {answer.status}, {lines} lines for {rows} rows")
    return elapsed, before, after


def _ledger_rows(person, rows: int) -> None:
    """`rows` // 2 movements of 1원 each way between the person's account and its bank's
    fee account, in one INSERT ... SELECT: balances and ledgers stay equal."""
    from django.db import connection, transaction

    from banking.models import DepositAccount
    from banking.services import bank_fee_account
    from core.models import Bank

    account = DepositAccount.objects.get(pk=person.account_id)
    other = bank_fee_account(bank=Bank.objects.get(code=person.bank_code))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO banking_ledgerentry
                (account_id, movement, direction, amount, balance_after, description, counterparty, created_at)
            SELECT CASE WHEN leg = 0 THEN %(mine)s ELSE %(other)s END,
                   md5(n::text || %(salt)s)::uuid,
                   CASE WHEN (leg = 0) = (n %% 2 = 0) THEN 'debit' ELSE 'credit' END,
                   1,
                   CASE WHEN leg = 0 THEN %(mine_balance)s - (n %% 2 = 0)::int ELSE %(other_balance)s + (n %% 2 = 0)::int END,
                   '벤치 거래', '벤치', now() - interval '80 days' + n * interval '1 second'
            FROM generate_series(0, %(count)s - 1) AS n, (VALUES (0), (1)) AS legs(leg)
            """,
            {
                "mine": account.pk,
                "other": other.pk,
                "salt": os.urandom(8).hex(),
                "mine_balance": account.balance,
                "other_balance": other.balance,
                "count": rows,
            },
        )


def large_bank(base_url: str, journal, *, customers: int, rows: int, clients: int) -> list:
    """manage.py generate_data's bank (flows/generate.py) added to the running one: its
    first `clients` customers have long histories and log in with the seeded password.
    Logged-in (client, person) pairs for the page figures."""
    import types

    from django.db import connections

    from banking.models import DepositAccount
    from flows.generate import generate

    started = time.perf_counter()
    summary = generate(customers=customers, ledger_rows=rows, deep=clients, password=world.PASSWORD)
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    say(
        f"large bank: {summary.customers:,} customers, {summary.ledger_rows:,} ledger rows, "
        f"{summary.transfers:,} transfers in {time.perf_counter() - started:.0f} s"
    )
    accounts = DepositAccount.objects.select_related("bank", "owner").filter(owner__login_id__in=summary.deep_login_ids)
    logged_in = []
    for account in sorted(accounts, key=lambda a: a.owner.login_id):
        person = types.SimpleNamespace(
            bank_slug=account.bank.slug, device_token=os.urandom(16).hex(), account_number=account.number
        )
        client = browser(base_url, person, journal)
        answer = client.post_form("login/", {"login_id": account.owner.login_id, "password": world.PASSWORD})
        if answer.status == 200 and not answer.url.endswith("/login/"):
            logged_in.append((client, person))
    connections.close_all()
    if len(logged_in) != clients:
        raise SystemExit(f"large bank: {len(logged_in)} of {clients} deep customers could log in")
    return logged_in


BROWSER_COSTS = """
async (repeat) => {
  const signer = await import("/static/js/crypto/signer.js");
  const npki = await import("/static/js/crypto/npki.js");
  const password = "bench-Passw0rd!";
  const issue = [], unlock = [];
  for (let i = 0; i < repeat; i++) {
    let t = performance.now();
    const { privateKeyPkcs8 } = await signer.generateKeyPair();
    const keyFile = await npki.encryptKeyFile({ privateKeyPkcs8, r: signer.randomR(), password });
    issue.push(performance.now() - t);
    t = performance.now();
    const opened = await npki.decryptKeyFile(keyFile, password);
    const key = await signer.importSigningKey(opened.privateKeyPkcs8);
    await signer.sign(key, "[Certbank] bench challenge " + i);
    unlock.push(performance.now() - t);
  }
  return { issue, unlock };
}
"""


def browser_costs(base_url: str, bank_slug: str, repeat: int) -> tuple[list[float], list[float]] | None:
    """In Debian's Chromium, on a page of the running server (the site's own modules):
    issuance (RSA-2048 key generation + PBKDF2 600,000 + SEED-CBC key file) and
    unlock + sign (PBKDF2 + SEED-CBC open + import + RSA signature), ms each. None
    without Chromium."""
    from tests.chromium import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        say(f"  {CHROMIUM} is missing: the browser figures are not measured")
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = chromium.new_page()
            page.goto(f"{base_url}/{bank_slug}/login/")
            times = page.evaluate(BROWSER_COSTS, repeat)
        finally:
            chromium.close()
    return times["issue"], times["unlock"]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- The run ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per figure per round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--customers", type=int, default=24)
    parser.add_argument("--csv-rows", type=int, default=125_000)
    parser.add_argument("--browser-repeat", type=int, default=6, help="issuances and unlocks timed in Chromium")
    parser.add_argument("--big-customers", type=int, default=100_000, help="then 0 skips the large bank")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="ledger rows of the large bank")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "latest.json")
    args = parser.parse_args(argv)
    rng = random.Random(13)  # noqa: S311 - a workload

    base = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    maintenance, own = world.database_urls(base, DATABASE)
    from tools.torture import server as gunicorn

    work = Path(tempfile.mkdtemp(prefix="certbank-bench-http-"))
    port = gunicorn.free_port()
    world.prepare_files(work)
    env = world.production_environment(database_url=own, work=work, port=port)
    os.environ.update(env)
    world.database_recreate(maintenance, DATABASE)
    world.database_recreate(maintenance, PGBENCH_DATABASE)
    subprocess.run([*_pgbench_connection(own), "-i", "-q", "-s", "8", PGBENCH_DATABASE], check=True, capture_output=True)  # noqa: S603
    world.migrate_and_collect(env)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.PASSWORD_HASHERS = ["tools.torture.hashers.SeedPasswordHasher"]
    say(f"seeding {args.customers} customers (keys made here, as a browser makes them) ...")
    people, _totals = world.seed(customers=args.customers, rng=rng, progress=lambda _line: None)
    rich = [p for p in people if p.designated and not p.poor]
    connections.close_all()

    server = gunicorn.start(env=env, workers=args.workers, work=work, port=port)
    from tools.torture.browser import Journal

    journal = Journal()
    figures = {
        name: Figure(name)
        for name in (
            "trivial",
            "password_login",
            "certificate_login",
            "transfer",
            "transfer_post",
            "overview",
            "history",
            "pgbench",
            "trivial_big",
            "overview_big",
            "history_big",
        )
    }
    try:
        # Warm-up: every worker imports and connects; the seeded passwords (hashed with few
        # rounds to seed fast) are upgraded to the production hasher at their first login.
        for person in people:
            client = browser(server.base_url, person, journal)
            client.post_form("login/", {"login_id": person.login_id, "password": world.PASSWORD})
        sessions = []
        for index in range(args.clients):
            person = rich[index % len(rich)]
            client = browser(server.base_url, person, journal)
            certificate_login(client, person)
            sessions.append((client, person))

        def trivial(_i):
            with urllib.request.urlopen(f"{server.base_url}/ca/", timeout=60) as answer:  # noqa: S310
                answer.read()
                return answer.status == 200

        def password_login(i):
            person = people[(i * 7 + rng.randrange(len(people))) % len(people)]
            client = browser(server.base_url, person, journal)
            answer = client.post_form("login/", {"login_id": person.login_id, "password": world.PASSWORD})
            return answer.status == 200 and not answer.url.endswith("/login/")

        def cert_login(i):
            person = rich[(i + rng.randrange(len(rich))) % len(rich)]
            return certificate_login(browser(server.base_url, person, journal), person)

        def transfer(i):
            client, person = sessions[i]
            recipient = rich[(rich.index(person) + 1) % len(rich)]
            review = transfer_prepare(client, person, recipient, 1_000)
            return review is not None and transfer_sign(client, person, review)

        def page(kind, logged_in=sessions):
            figure = figures[kind]

            def run(i):
                client, person = logged_in[i]
                path = "accounts/" if kind.startswith("overview") else f"accounts/{person.account_number}/"
                return client.get(path).status == 200

            return figure, run

        for number in range(1, args.rounds + 1):
            say(f"round {number}/{args.rounds}")
            timed_threads(figures["trivial"], args.clients, args.seconds, trivial)
            timed_threads(figures["password_login"], args.clients, args.seconds, password_login)
            timed_threads(figures["certificate_login"], args.clients, args.seconds, cert_login)
            timed_threads(figures["transfer"], args.clients, args.seconds, transfer)
            # The signed POST alone: each client prepares reviews in sessions of its own first.
            prepared = []
            for i in range(args.clients):
                person = rich[i % len(rich)]
                recipient = rich[(i + 1) % len(rich)]
                items = []
                for _ in range(12):
                    client = browser(server.base_url, person, journal)
                    if certificate_login(client, person):
                        review = transfer_prepare(client, person, recipient, 1_000)
                        if review is not None:
                            items.append((client, person, review))
                prepared.append(items)
            batch_threads(figures["transfer_post"], prepared, lambda item: transfer_sign(*item))
            for kind in ("overview", "history"):
                figure, run = page(kind)
                timed_threads(figure, args.clients, args.seconds, run)
            pgbench(own, clients=args.clients, seconds=args.seconds, figure=figures["pgbench"])

        if args.big_customers:
            big = large_bank(server.base_url, journal, customers=args.big_customers, rows=args.big_rows, clients=args.clients)
            for number in range(1, args.rounds + 1):
                say(f"large bank round {number}/{args.rounds}")
                timed_threads(figures["trivial_big"], args.clients, args.seconds, trivial)
                for kind in ("overview_big", "history_big"):
                    figure, run = page(kind, big)
                    timed_threads(figure, args.clients, args.seconds, run)
        connections.close_all()
        in_browser = browser_costs(server.base_url, rich[0].bank_slug, repeat=args.browser_repeat)
        floor_us, ours_us, statements = certificate_check_costs(rich[0], repeat=200)
        csv_seconds, rss_before, rss_after = csv_memory(server.base_url, server, rich[1], args.csv_rows)
    finally:
        server.stop()
        connections.close_all()
        world.database_drop(maintenance, DATABASE)
        world.database_drop(maintenance, PGBENCH_DATABASE)

    trivial_rate = figures["trivial"].rate
    pg_rate = figures["pgbench"].rate
    rows = []

    def row(name, value, anchor_name, anchor, goal, p95=None):
        ratio = value / anchor if anchor else 0.0
        rows.append(
            {
                "figure": name,
                "value": round(value, 2),
                "p95_ms": None if p95 is None else round(p95, 1),
                "anchor": anchor_name,
                "anchor_value": round(anchor, 2),
                "ratio": round(ratio, 4),
                "goal": goal,
            }
        )

    f = figures
    row("trivial view GET /ca/ (req/s)", trivial_rate, "itself", trivial_rate, "anchor", f["trivial"].percentile(95))
    row(
        "certificate login (challenge + signed POST, /s)",
        f["certificate_login"].rate,
        "trivial view",
        trivial_rate,
        "≥ 0.3×",
        f["certificate_login"].percentile(95),
    )
    row(
        "certificate login vs password login",
        f["certificate_login"].rate,
        "password login /s",
        f["password_login"].rate,
        "≥ 30×",
        f["password_login"].percentile(95),
    )
    row(
        "whole signed transfer (form → review → signed POST, /s)",
        f["transfer"].rate,
        "pgbench TPC-B tps",
        pg_rate,
        "≥ 0.05×",
        f["transfer"].percentile(95),
    )
    row(
        "signed transfer POST alone (/s)",
        f["transfer_post"].rate,
        "trivial view",
        trivial_rate,
        "≥ 0.25×",
        f["transfer_post"].percentile(95),
    )
    for kind in ("overview", "history"):
        label = f"{kind} p50 (ms), {args.clients} users, small"
        row(label, f[kind].percentile(50), "p95 ms", f[kind].percentile(95), "p95 < 50")
    if args.big_customers:
        big_size = f"{args.big_rows // 1_000_000}M rows" if args.big_rows >= 1_000_000 else f"{args.big_rows:,} rows"
        for kind, label in (("overview_big", "overview"), ("history_big", "history")):
            row(
                f"{label} p50 (ms), {args.clients} users, {big_size}",
                f[kind].percentile(50),
                "p95 ms",
                f[kind].percentile(95),
                "p95 < 50",
            )
    if in_browser is not None:
        issue, unlock = in_browser
        row("Chromium: issuance, keygen + PBKDF2 + SEED (ms, median)", statistics.median(issue), "goal ms", 1500, "< 1.5 s")
        row("Chromium: unlock + sign (ms, median)", statistics.median(unlock), "goal ms", 500, "< 0.5 s")
    row("in-process certificate check (µs)", ours_us, f"cryptography floor µs ({statements} SQL)", floor_us, "≤ 5×")
    row(
        f"3-month CSV of {args.csv_rows:,} rows: worker RSS after (MB)",
        rss_after,
        "RSS before (MB)",
        rss_before,
        "growth < 20 MB",
    )
    say()
    say(f"{'figure':<58} {'value':>10} {'p95 ms':>8}   {'anchor':<34} {'anchor':>10} {'ratio':>8}   goal")
    for r in rows:
        p95 = "" if r["p95_ms"] is None else f"{r['p95_ms']:.0f}"
        say(
            f"{r['figure']:<58} {r['value']:>10,.1f} {p95:>8}   {r['anchor']:<34} {r['anchor_value']:>10,.1f} "
            f"{r['ratio']:>8.3f}   {r['goal']}"
        )
    failures = {name: figure.failures for name, figure in figures.items() if figure.failures}
    say(
        f"CSV download {csv_seconds:.2f} s; failed operations: {failures or 'none'}; "
        f"server errors: {len(journal.server_errors)}; requests: {journal.requests:,}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"rounds": args.rounds, "seconds": args.seconds, "clients": args.clients, "workers": args.workers, "rows": rows},
            ensure_ascii=False,
            indent=2,
        )
    )
    say(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
