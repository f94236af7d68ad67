"""The bank torture test, short (issue 12 §6): tools/torture/run.py with a few
hundred signed transfers over HTTP against gunicorn with production settings,
faults injected every couple of seconds, and the checker at intervals and at
the end. Two gunicorn instances share the database, and every browser's
requests alternate between them: nothing may depend on which web node
answers (no process-local state, the same secrets on every node). `make torture` is the long run (40,000 transfers).

PostgreSQL only: the run needs a server on which it creates its own
database (DATABASE_URL names the server; the test database of this session
is not used), and SQLite has no concurrent writers or row locks to torture.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = 20260512


def test_short_torture_run_keeps_the_books_exact_under_faults(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the torture test needs PostgreSQL: set DATABASE_URL=postgres://... (SQLite has no row locks to torture)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    command = [
        sys.executable,
        str(ROOT / "tools" / "torture" / "run.py"),
        "--transfers=300",
        "--clients=6",
        "--workers=2",
        "--instances=2",  # two web nodes on the one database, each browser's requests alternating between them
        "--customers=12",
        f"--seed={SEED}",
        "--fault-every=3",
        "--check-every=20",
        "--max-minutes=5",
        f"--database=certbank_torture_ci_{worker}",
        f"--work-dir={tmp_path / 'torture'}",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)  # noqa: S603
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Violations: 0" in output, output
    assert len(re.findall(r"^gunicorn: http://127\.0\.0\.1:\d+, workers", output, re.M)) == 2, output
    transfers = int(re.search(r"^Transfers: ([\d,]+)", output, re.M).group(1).replace(",", ""))
    assert transfers >= 300, output
    injected = dict(re.findall(r"^  (kill_worker|pg_terminate_backend|lock_timeout|statement_timeout)\s+([\d,]+)$", output, re.M))
    assert len(injected) >= 3 and sum(int(n) for n in injected.values()) >= 6, output
