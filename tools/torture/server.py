"""gunicorn for the torture run, and reading what its log says about each 500.

`free_port`, `production_environment` and `process_stop` are also what
tests/production_server.py starts its production-settings server with.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_environment(
    *, database_url: str, data_dir: Path, static_root: Path, public_url: str, allowed_hosts: str, **more: str
) -> dict[str, str]:
    """What a DJANGO_ENV=production process needs in its environment, with
    fresh secrets of its own (the variables to set over the inherited ones),
    and `more` on top. Logging at WARNING: a 500 is logged at ERROR."""
    key = lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()  # noqa: E731
    return {
        "DJANGO_SETTINGS_MODULE": "bank.settings",
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "CERTBANK_FIELD_KEY": key(),
        "CERTBANK_INDEX_KEY": key(),
        "CERTBANK_CA_PASSPHRASE": secrets.token_urlsafe(24),
        "CERTBANK_DATA_DIR": str(data_dir),
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_ALLOWED_HOSTS": allowed_hosts,
        "CERTBANK_PUBLIC_URL": public_url,
        "CERTBANK_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        **more,
    }


def process_stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's graceful stop), SIGKILL after 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The live workers (children of the gunicorn master)."""
        master = self.process.pid
        try:
            return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        except OSError:
            pass
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == master:
                pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        process_stop(self.process)


@dataclass
class Cluster:
    """Several gunicorn instances (web nodes) on one database, started alike."""

    nodes: list[Server]

    @property
    def base_url(self) -> str:
        return self.nodes[0].base_url

    @property
    def base_urls(self) -> list[str]:
        return [node.base_url for node in self.nodes]

    @property
    def log_paths(self) -> list[Path]:
        return [node.log_path for node in self.nodes]

    def worker_pids(self) -> list[int]:
        return [pid for node in self.nodes for pid in node.worker_pids()]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start(*, env: dict[str, str], workers: int, work: Path, port: int, timeout: float = 60) -> Server:
    log_path = work / "gunicorn.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bank.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--backlog",
            "256",
            "--access-logfile",
            str(work / "access.log"),
            "--access-logformat",
            "%(t)s %(p)s %(s)s %(m)s %(U)s %(L)ss %({x-request-id}o)s",
            "--config",
            str(Path(__file__).with_name("gunicorn_conf.py")),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process=process, port=port, log_path=log_path)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/ca/", timeout=5) as answer:  # noqa: S310 - our own server
                if answer.status == 200 and len(server.worker_pids()) >= workers:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {log_path}")


# "2026-05-01 12:00:00,123 ERROR [a1b2c3d4e5f6] django.request: Internal Server Error: /nuri/transfer/sign/"
_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) \[(?P<rid>[^\]]*)\] (?P<logger>[\w.]+): ")
_GUNICORN = re.compile(r"^\[\d{4}-\d\d-\d\d [^\]]+\] \[(?P<pid>\d+)\] \[(?P<level>[A-Z]+)\] (?P<message>.*)$")

# What a 500 caused by an injected fault looks like in its traceback, by fault kind.
# The timeouts come first: their messages name the cause, while the generic
# "connection is lost" lines also follow a timeout (psycopg's pipeline cleanup
# after the cancelled statement), and matched first they misread it.
FAULT_SIGNATURES = {
    "lock_timeout": ("canceling statement due to lock timeout", "LockNotAvailable"),
    "statement_timeout": ("canceling statement due to statement timeout", "QueryCanceled"),
    "pg_terminate_backend": (
        "terminating connection due to administrator command",
        "AdminShutdown",
        "server closed the connection unexpectedly",
        "consuming input failed",
        "the connection is closed",
        "connection already closed",
        "the connection is lost",
    ),
}


def fault_kind_of(traceback_text: str) -> str | None:
    for kind, needles in FAULT_SIGNATURES.items():
        if any(needle in traceback_text for needle in needles):
            return kind
    return None


@dataclass
class LogReading:
    errors: dict[str, str]  # request id -> the logged error with its traceback
    worker_timeouts: list[str]  # gunicorn killed a worker that took too long
    unhandled: list[str]  # gunicorn's own "Error handling request" (outside Django's handler)


def read_log(*paths: Path) -> LogReading:
    """The 500s' tracebacks by request id, worker timeouts and unhandled errors of
    one or more gunicorn logs (request ids are unique across nodes)."""
    errors: dict[str, list[str]] = {}
    timeouts, unhandled = [], []
    for path in paths:
        _read_one_log(path, errors, timeouts, unhandled)
    return LogReading({rid: "\n".join(lines) for rid, lines in errors.items()}, timeouts, unhandled)


def _read_one_log(path: Path, errors: dict[str, list[str]], timeouts: list[str], unhandled: list[str]) -> None:
    current: list[str] | None = None
    gunicorn_block: list[str] | None = None
    for raw in path.read_text("utf-8", "replace").splitlines():
        line = _LINE.match(raw)
        gline = _GUNICORN.match(raw)
        if line or gline:
            if gunicorn_block is not None:
                unhandled.append("\n".join(gunicorn_block))
            current, gunicorn_block = None, None
        if line:
            if line["level"] in ("ERROR", "CRITICAL"):
                current = errors.setdefault(line["rid"], [])
                current.append(raw)
            continue
        if gline:
            message = gline["message"]
            if "WORKER TIMEOUT" in message:
                timeouts.append(raw)
            elif "Error handling request" in message or "Exception in worker process" in message:
                gunicorn_block = [raw]
            continue
        if current is not None:
            current.append(raw)
        elif gunicorn_block is not None:
            gunicorn_block.append(raw)
    if gunicorn_block is not None:
        unhandled.append("\n".join(gunicorn_block))
