"""`make bench` in miniature (issue 13): bench/over_http.py runs from a clean
clone against gunicorn and PostgreSQL, every figure of its table is measured
(the large bank of manage.py generate_data and the Chromium figures
included) and written to its JSON, and the run made no server errors.
The figures themselves are `make bench`'s, on an idle machine, never a test's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_measures_every_figure_of_its_table(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the bench runs gunicorn on PostgreSQL: set DATABASE_URL=postgres://...")
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "over_http.py"),
        "--rounds=1",
        "--seconds=1",
        "--clients=4",
        "--customers=6",
        "--big-customers=40",
        "--big-rows=2000",
        "--csv-rows=2000",
        "--browser-repeat=1",
        f"--out={out}",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)  # noqa: S603
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "failed operations: none; server errors: 0" in output, output
    rows = {row["figure"]: row for row in json.loads(out.read_text())["rows"]}
    expected = [
        "trivial view GET /ca/ (req/s)",
        "certificate login (challenge + signed POST, /s)",
        "certificate login vs password login",
        "whole signed transfer (form → review → signed POST, /s)",
        "signed transfer POST alone (/s)",
        "overview p50 (ms), 4 users, small",
        "history p50 (ms), 4 users, small",
        "overview p50 (ms), 4 users, 2,000 rows",
        "history p50 (ms), 4 users, 2,000 rows",
        "in-process certificate check (µs)",
        "3-month CSV of 2,000 rows: worker RSS after (MB)",
    ]
    if Path(CHROMIUM).exists():
        expected += ["Chromium: issuance, keygen + PBKDF2 + SEED (ms, median)", "Chromium: unlock + sign (ms, median)"]
    assert sorted(rows) == sorted(expected)
    assert all(rows[name]["value"] > 0 and rows[name]["anchor_value"] > 0 for name in expected), rows
