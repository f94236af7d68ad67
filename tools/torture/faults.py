"""Faults injected while the clients run, on a seeded schedule.

- kill_worker: SIGKILL of a gunicorn worker that is inside a request (its
  database connection, named torture-w<pid>, is running a statement or is
  inside a transaction); gunicorn's master starts a new one.
- pg_terminate_backend: the server ends the app's busy database connections.
- lock_timeout: ALTER DATABASE ... SET lock_timeout low (every request opens
  a new connection, CONN_MAX_AGE=0, so it applies at once) while another
  session holds a hot account's row lock longer than that.
- statement_timeout: the same with statement_timeout.

Every injection is logged with its time window, so that the 500s and lost
connections the clients saw can be matched to it afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tools.torture.world import conninfo

KINDS = ("kill_worker", "pg_terminate_backend", "lock_timeout", "statement_timeout")

BUSY_BACKENDS = """
    SELECT pid, application_name FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE 'torture-w%'
      AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()
"""


@dataclass
class Injection:
    kind: str
    started: float
    ended: float
    detail: str


@dataclass
class FaultLog:
    lock: threading.Lock = field(default_factory=threading.Lock)
    injections: list[Injection] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def add(self, injection: Injection) -> None:
        with self.lock:
            self.injections.append(injection)

    def by_kind(self) -> Counter:
        return Counter(i.kind for i in self.injections)

    def near(self, kind: str, started: float, ended: float, slack: float = 2.0) -> bool:
        """An injection of `kind` overlapping [started - slack, ended + slack]."""
        with self.lock:
            return any(i.kind == kind and i.started - slack <= ended and i.ended + slack >= started for i in self.injections)


class Injector(threading.Thread):
    """Injects one fault every `interval` seconds on average (seeded), until stopped."""

    def __init__(self, *, database_url: str, server, rng: random.Random, interval: float, hot_accounts: list[int], log: FaultLog):
        super().__init__(name="faults", daemon=True)
        self.database_url = database_url
        self.server = server
        self.rng = rng
        self.interval = interval
        self.hot_accounts = hot_accounts
        self.log = log
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def stop(self) -> None:
        self.stopping.set()

    def _connect(self):
        import psycopg

        return psycopg.connect(
            conninfo(self.database_url, application_name="torture-faults", options="-c statement_timeout=0 -c lock_timeout=0"),
            autocommit=True,
        )

    def run(self) -> None:
        try:
            with self._connect() as admin:
                self.admin = admin
                while not self.stopping.wait(self.rng.uniform(0.5, 1.5) * self.interval):
                    kind = self.rng.choice(KINDS)
                    getattr(self, kind)()
        except BaseException as error:  # noqa: BLE001 - reported by the runner
            self.error = error
        finally:
            self._reset_database_settings()

    # --- the faults ---------------------------------------------------------------------------

    def _busy(self, wait: float = 1.0) -> list[tuple[int, str]]:
        deadline = time.time() + wait
        while True:
            rows = self.admin.execute(BUSY_BACKENDS).fetchall()
            if rows or time.time() > deadline:
                return rows
            time.sleep(0.01)

    def kill_worker(self) -> None:
        busy = self._busy()
        workers = set(self.server.worker_pids())
        candidates = [int(name.removeprefix("torture-w")) for _pid, name in busy]
        candidates = [pid for pid in candidates if pid in workers]
        if not candidates:
            self.log.skipped["kill_worker (no worker inside a request)"] += 1
            return
        pid = self.rng.choice(sorted(set(candidates)))
        started = time.time()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.log.skipped["kill_worker (worker gone)"] += 1
            return
        self.log.add(Injection("kill_worker", started, time.time(), f"worker {pid}"))

    def pg_terminate_backend(self) -> None:
        busy = self._busy()
        if not busy:
            self.log.skipped["pg_terminate_backend (no busy connection)"] += 1
            return
        chosen = self.rng.sample(sorted(busy), k=min(len(busy), self.rng.randint(1, 2)))
        started = time.time()
        for pid, _name in chosen:
            self.admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        self.log.add(Injection("pg_terminate_backend", started, time.time(), f"{len(chosen)} backend(s)"))

    def _timeout_with_held_row(self, setting: str, value_ms: int, hold: float) -> None:
        account = self.rng.choice(self.hot_accounts)
        database = self.admin.execute("SELECT current_database()").fetchone()[0]
        started = time.time()
        with self._connect() as holder:
            holder.autocommit = False
            self.admin.execute(f"ALTER DATABASE \"{database}\" SET {setting} = '{value_ms}ms'")
            try:
                with holder.transaction():
                    # FOR NO KEY UPDATE: the lock a stuck transfer would hold on it.
                    holder.execute("SELECT id FROM banking_depositaccount WHERE id = %s FOR NO KEY UPDATE", [account])
                    time.sleep(hold)
            finally:
                self.admin.execute(f'ALTER DATABASE "{database}" RESET {setting}')
        self.log.add(Injection(setting, started, time.time(), f"{setting}={value_ms}ms, account {account} held {hold:.1f}s"))

    def lock_timeout(self) -> None:
        self._timeout_with_held_row("lock_timeout", value_ms=self.rng.choice([200, 400]), hold=self.rng.uniform(1.5, 3.0))

    def statement_timeout(self) -> None:
        self._timeout_with_held_row("statement_timeout", value_ms=self.rng.choice([250, 500]), hold=self.rng.uniform(1.5, 3.0))

    def _reset_database_settings(self) -> None:
        try:
            with self._connect() as admin:
                database = admin.execute("SELECT current_database()").fetchone()[0]
                for setting in ("lock_timeout", "statement_timeout"):
                    admin.execute(f'ALTER DATABASE "{database}" RESET {setting}')
        except Exception:  # noqa: BLE001, S110 - best effort on the way out
            pass
