"""The bank torture test: `make torture` (issue 12 §6).

    python tools/torture/run.py [--transfers 40000] [--clients 12] [--workers 3] [--seed N]

Creates its own PostgreSQL database on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrates and seeds it, starts gunicorn
with production settings on a free 127.0.0.1 port, and runs concurrent
browser-like clients doing signed transfers end to end while faults are
injected (tools/torture/faults.py). The checker (tools/torture/checker.py)
runs at intervals and at the end. Prints the seed, the commit, the
operations by kind and outcome, the faults by kind and every violation;
exits 1 on any violation, 2 when the target was not reached in time.

Logs and timelines stay in the work folder (default $TMPDIR/certbank-torture):
gunicorn.log (every 500's traceback with its request id), access.log,
faults.log; with TORTURE_TRACE=<file> every request a client makes is
written there too.

The workload is seeded: the same seed gives the same customers, the same
sequence of operations per client and the same fault schedule. The
interleaving of threads and the moments faults land are the machine's, so
a failing seed replays the same workload, not the same nanoseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.torture import world  # noqa: E402

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=40_000, help="completed transfers to reach (default 40000)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent client threads (default 12)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument(
        "--instances", type=int, default=1, help="gunicorn instances (web nodes) on one database, --workers each (default 1)"
    )
    parser.add_argument("--customers", type=int, default=96, help="seeded customers over the three banks (default 96)")
    parser.add_argument("--seed", type=int, default=None, help="workload seed (default: random, printed)")
    parser.add_argument("--fault-every", type=float, default=4.0, help="seconds between faults on average (default 4)")
    parser.add_argument("--no-faults", action="store_true", help="inject no faults")
    parser.add_argument("--check-every", type=float, default=120.0, help="seconds between checks during the run (default 120)")
    parser.add_argument(
        "--max-minutes", type=float, default=480.0, help="stop after this long even below the target (default 480)"
    )
    parser.add_argument(
        "--database", default="certbank_torture", help="name of the throw-away database (default certbank_torture)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "certbank-torture", help="data, static files and logs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and work folder afterwards")
    return parser.parse_args(argv)


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603, S607
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)  # noqa: S603, S607
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def say(text: str = "") -> None:
    print(text, flush=True)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s" if seconds >= 60 else f"{seconds:.1f} s"


class SmsReader:
    """The customer's phone: the newest SMS in the bank's outbox (the default gateway)."""

    _CODE = re.compile(r"\[(\d{6})\]")

    def last_id(self, phone: str) -> int:
        from core.models import SmsMessage

        return SmsMessage.objects.filter(phone=phone).order_by("-id").values_list("id", flat=True).first() or 0

    def code_after(self, phone: str, after: int, *, wait: float) -> str | None:
        from core.models import SmsMessage

        deadline = time.time() + wait
        while True:
            for body in SmsMessage.objects.filter(phone=phone, id__gt=after).order_by("-id").values_list("body", flat=True):
                found = self._CODE.search(body)
                if "이체 추가 인증" in body and found:
                    return found.group(1)
            if time.time() > deadline:
                return None
            time.sleep(0.1)

    def close(self) -> None:
        from django.db import connection

        connection.close()


def transfers_now() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM banking_transfer")
        return cursor.fetchone()[0]


def main(argv=None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    rng = random.Random(f"{seed}:world")  # noqa: S311 - a workload, not a secret
    began = time.monotonic()
    say("Certbank torture test")
    say(f"  seed {seed}   commit {git_commit()}")
    say(
        f"  target {args.transfers:,} transfers, {args.clients} clients, {args.instances} × {args.workers} gunicorn workers, "
        f"{args.customers} customers, faults {'off' if args.no_faults else f'every ~{args.fault_every:g} s'}"
    )

    maintenance, own = world.database_urls(os.environ.get("DATABASE_URL") or DEFAULT_SERVER, args.database)
    from tools.torture import server as gunicorn

    port = gunicorn.free_port()
    more_ports = tuple(gunicorn.free_port() for _ in range(args.instances - 1))
    world.prepare_files(args.work_dir)
    env = world.production_environment(database_url=own, work=args.work_dir, port=port, more_ports=more_ports)
    os.environ.update(env)  # this process reads the same settings and secrets as the server
    world.database_recreate(maintenance, args.database)
    step = time.monotonic()
    world.migrate_and_collect(env)
    say(f"setup: database {args.database} migrated, static files collected ({minutes(time.monotonic() - step)})")

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    # The tool's own connections: never a fault's target, never under a fault's timeouts.
    settings.DATABASES["default"].setdefault("OPTIONS", {}).update(
        application_name="torture-tool", options="-c statement_timeout=0 -c lock_timeout=0"
    )
    settings.PASSWORD_HASHERS = ["tools.torture.hashers.SeedPasswordHasher"]

    from tools.torture import checker

    step = time.monotonic()
    people, _totals = world.seed(customers=args.customers, rng=rng, progress=say)
    base = checker.baseline()
    say(f"setup: {len(people)} customers with accounts, certificates and devices seeded ({minutes(time.monotonic() - step)})")
    first = checker.check(base, final=False)
    if first.violations:
        say("the seeded database already violates the invariants:")
        for line in first.violations:
            say(f"  {line}")
        return 1
    connections.close_all()

    srv = gunicorn.Cluster([gunicorn.start(env=env, workers=args.workers, work=args.work_dir, port=port)])
    for number, node_port in enumerate(more_ports, start=2):
        # Another web node: the same environment (secrets, data folder, database), its own port and log.
        node_work = args.work_dir / f"node{number}"
        node_work.mkdir(parents=True, exist_ok=True)
        srv.nodes.append(gunicorn.start(env=env, workers=args.workers, work=node_work, port=node_port))
    try:
        return _run(args, seed, rng, people, base, srv, own, maintenance, began)
    finally:
        srv.stop()


def _run(args, seed, rng, people, base, srv, own, maintenance, began) -> int:
    from django.db import connections

    from tools.torture import checker, faults, workload
    from tools.torture import server as gunicorn
    from tools.torture.browser import Journal

    for node in srv.nodes:
        say(f"gunicorn: {node.base_url}, workers {node.worker_pids()}, log {node.log_path}")

    indexes = list(range(len(people)))
    rich = [i for i in indexes if not people[i].poor and people[i].designated]
    # With several nodes each browser's requests take them in turn (tools/torture/browser.py).
    shared = workload.Shared(people=people, base_url=srv.base_urls, journal=Journal(), seed=seed)
    shared.hot_senders = rng.sample(rich, k=min(4, len(rich)))
    shared.hot_recipients = rng.sample([i for i in indexes if i not in shared.hot_senders], k=min(3, len(indexes) - 4))
    hot_accounts = [people[i].account_id for i in shared.hot_recipients + shared.hot_senders]
    fault_log = faults.FaultLog()
    injector = None
    if not args.no_faults:
        injector = faults.Injector(
            database_url=own,
            server=srv,
            rng=random.Random(f"{seed}:faults"),  # noqa: S311
            interval=args.fault_every,
            hot_accounts=hot_accounts,
            log=fault_log,
        )
    clients = [workload.Client(i, shared, SmsReader(), clients=args.clients) for i in range(args.clients)]

    checks, violations = [], []
    run_started = time.monotonic()
    deadline = run_started + args.max_minutes * 60
    for client in clients:
        client.start()
    if injector is not None:
        injector.start()
    last_report = last_check = time.monotonic()
    last_signature_id = 0
    count = 0
    interrupted = False
    try:
        while True:
            time.sleep(1.0)
            count = transfers_now()
            now = time.monotonic()
            if count >= args.transfers or now > deadline or shared.stop.is_set():
                break
            if now - last_report >= 15:
                rate = count / (now - run_started)
                say(
                    f"  {minutes(now - run_started):>14}: {count:,} transfers ({rate:.1f}/s), "
                    f"{shared.journal.requests:,} requests, faults {dict(fault_log.by_kind())}"
                )
                last_report = now
            if now - last_check >= args.check_every:
                result = checker.check(base, final=False, signatures_from=last_signature_id)
                last_signature_id = result.numbers["last_transfer_id"]
                checks.append(result)
                violations += [f"[check {len(checks)}] {v}" for v in result.violations]
                say(f"  check {len(checks)}: {len(result.violations)} violation(s), {minutes(result.seconds)}")
                last_check = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: stopping the clients; the final check follows")
    finally:
        shared.stop.set()
        if injector is not None:
            injector.stop()
        for client in clients:
            client.join(timeout=120)
        if injector is not None:
            injector.join(timeout=30)
    run_seconds = time.monotonic() - run_started
    time.sleep(1.0)  # let the last commits land
    final = checker.check(base, final=True, signatures_from=last_signature_id)
    checks.append(final)
    violations += [f"[final check] {v}" for v in final.violations]
    violations += [f"[client view] {v}" for v in checker.check_intents(shared.intents)]
    violations += [f"[client] {v}" for v in shared.violations]
    for client in clients:
        if client.error is not None:
            violations.append(f"[tool] client {client.index} crashed: {type(client.error).__name__}: {client.error}")
    if injector is not None and injector.error is not None:
        violations.append(f"[tool] fault injector crashed: {type(injector.error).__name__}: {injector.error}")
    srv.stop()
    with (args.work_dir / "faults.log").open("w") as timeline:
        for injection in fault_log.injections:
            timeline.write(f"{injection.started:.3f} {injection.ended:.3f} {injection.kind} {injection.detail}\n")
    explained, unexplained = attribute(shared.journal, fault_log, gunicorn.read_log(*srv.log_paths))
    violations += unexplained
    connections.close_all()

    report(args, seed, shared, fault_log, explained, checks, final, count, run_seconds, time.monotonic() - began, violations)
    if violations:
        say(f"\nThe database {args.database} and {args.work_dir} are kept for inspection.")
    elif not args.keep:
        world.database_drop(maintenance, args.database)
    if violations:
        return 1
    if interrupted:
        return 130
    if count < args.transfers:
        say(f"\nTarget not reached: {count:,} of {args.transfers:,} transfers in {args.max_minutes:g} minutes.")
        return 2
    return 0


def attribute(journal, fault_log, log) -> tuple[Counter, list[str]]:
    """Match every 5xx and lost connection to an injected fault; the rest are violations."""
    from tools.torture.server import fault_kind_of

    explained: Counter = Counter()
    problems = []
    for started, ended, status, request_id, path in journal.server_errors:
        logged = log.errors.get(request_id)
        if logged is None:
            problems.append(f"[server] {status} at {path} with no logged traceback (request id {request_id or 'none'})")
            continue
        kind = fault_kind_of(logged)
        if kind is None:
            problems.append(f"[server] {status} at {path} not caused by a fault (request id {request_id}):\n{_tail(logged)}")
        elif not fault_log.near(kind, started, ended, slack=3.0):
            problems.append(
                f"[server] {status} at {path} looks like {kind} but none was injected then ({request_id}):\n{_tail(logged)}"
            )
        else:
            explained[f"{status} from {kind}"] += 1
    for started, ended, path, request_id in journal.bad_requests:
        # Django turns any DatabaseError while saving the session at the end of a
        # request into a 400 page (SessionInterrupted), without logging it.
        kinds = ("statement_timeout", "lock_timeout", "pg_terminate_backend")
        if any(fault_log.near(kind, started, ended, slack=3.0) for kind in kinds):
            explained["400 page: session not saved in a fault"] += 1
        else:
            problems.append(f"[server] 400 page at {path} with no fault near (request id {request_id})")
    for started, ended, path, error in journal.lost:
        if fault_log.near("kill_worker", started, ended, slack=0.5):
            explained["connection lost: worker killed"] += 1
        else:
            problems.append(f"[server] connection lost at {path} with no worker killed: {error}")
    for line in log.worker_timeouts:
        problems.append(f"[server] gunicorn worker timeout: {line}")
    for block in log.unhandled:
        problems.append(f"[server] gunicorn could not handle a request:\n{_tail(block)}")
    return explained, problems


def _tail(text: str, lines: int = 4) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


def report(args, seed, shared, fault_log, explained, checks, final, count, run_seconds, wall_seconds, violations) -> None:
    say("")
    say("Operations (kind: outcome × count)")
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for (kind, outcome), number in sorted(shared.outcomes.items()):
        by_kind.setdefault(kind, []).append((outcome, number))
    for kind, outcomes in by_kind.items():
        total = sum(n for _o, n in outcomes)
        say(f"  {kind:<24} {total:>8,}   " + ", ".join(f"{o} {n:,}" for o, n in outcomes))
    intents = len(shared.intents)
    say(f"  transfer intents {intents:,}: paid {sum(1 for i in shared.intents if i.applied):,}")
    say(
        f"  HTTP requests {shared.journal.requests:,}; 5xx {len(shared.journal.server_errors):,}; "
        f"400 pages {len(shared.journal.bad_requests):,}; connections lost {len(shared.journal.lost):,}"
    )
    say("  response times (page: count, mean, worst):")
    for page, (number, total, worst) in sorted(shared.journal.timings.items(), key=lambda item: -item[1][0]):
        say(f"    {page:<40} {number:>8,} {total / number * 1000:>8.0f} ms {worst * 1000:>8.0f} ms")
    say("")
    say("Faults injected")
    for kind, number in sorted(fault_log.by_kind().items()):
        say(f"  {kind:<24} {number:>6,}")
    if not fault_log.injections:
        say("  none")
    for reason, number in sorted(fault_log.skipped.items()):
        say(f"  skipped: {reason} × {number}")
    for what, number in sorted(explained.items()):
        say(f"  caused: {what} × {number:,}")
    say("")
    say(
        f"Checks: {len(checks)} ({len(checks) - 1} during the run, 1 final; the final took {minutes(final.seconds)}): "
        f"{final.numbers.get('transfers', 0):,} transfers, {final.numbers.get('ledger_rows', 0):,} ledger rows, "
        f"{final.numbers.get('audit_rows', 0):,} audit rows in a verified chain"
    )
    say(
        f"Transfers: {count:,} in {minutes(run_seconds)} ({count / max(run_seconds, 1e-9):.1f}/s); "
        f"wall time {minutes(wall_seconds)}"
    )
    say(f"Violations: {len(violations)}")
    for line in violations[:50]:
        say(f"  {line}")
    if len(violations) > 50:
        say(f"  ... and {len(violations) - 50} more")
    for key, text in sorted(shared.samples.items()):
        flat = re.sub(r"\s+", " ", text)[:200]
        say(f"  (sample) {key}: {flat}")
    say(f"Seed {seed}: replay with `make torture SEED={seed}` (or tools/torture/run.py --seed {seed})")


if __name__ == "__main__":
    sys.exit(main())
