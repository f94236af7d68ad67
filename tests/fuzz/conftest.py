"""The fuzzer's world (one per module, rolled back at its end), its settings
profiles, and the table of answers `make fuzz` prints.

FUZZ_CASES: cases to run in all (default 600: the bounded CI run; `make
fuzz` sets 10,000), spread evenly over the endpoints (at least 4 each).
FUZZ_SEED: `make fuzz` draws one at random and prints it; set it to replay
a run. Without it (CI) the seed is 0: every run the same cases. Each
endpoint draws from its own stream (the seed and its route), so endpoints
of the same shape do not all get the same cases.
FUZZ_SHRINK=0: report a failing case as found, without shrinking it (faster
when hunting many failures at once). FUZZ_ONLY=<text>: only the endpoints
whose route contains it. FUZZ_LOG=<file>: one JSON line per request.
"""

import math
import os
import time
import zlib

import pytest
from django.db import transaction
from django.test.utils import override_settings
from hypothesis import HealthCheck, Phase, settings

from tests.fuzz import cases, endpoints
from tests.fuzz import world as W

FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "600"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED") or 0)
MIN_PER_ENDPOINT = 4

_COMMON = dict(
    deadline=None,
    database=None,  # nothing written to .hypothesis/; a failure prints its reproduction instead
    print_blob=True,
    phases=[p for p in Phase if p is not Phase.explain and (p is not Phase.shrink or os.environ.get("FUZZ_SHRINK") != "0")],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile("fuzz", derandomize=False, **_COMMON)


def examples_per_endpoint(count: int) -> int:
    return max(MIN_PER_ENDPOINT, math.ceil(FUZZ_CASES / max(1, count)))


def fuzz_settings(count: int) -> settings:
    return settings(settings.get_profile("fuzz"), max_examples=examples_per_endpoint(count))


def seed_for(route: str) -> int:
    """The endpoint's own seed: FUZZ_SEED and its route."""
    return FUZZ_SEED ^ zlib.crc32(route.encode())


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker, _ca_folder):
    """The seeded world and what every endpoint accepts, in a transaction rolled back at the end."""
    from certificates import ca

    overrides = override_settings(
        DATA_DIR=_ca_folder,
        CERTBANK_CA_PASSPHRASE="test-ca-passphrase",
        CERTBANK_CA_KEY_BITS=2048,
        # Cases roll back, so a session's last-seen time never moves: no idle logout mid-run,
        # and the flows the actors are half-way through (a verification, a reviewed
        # transfer's challenge, an open 인증서 복사) stay open however long the run takes.
        CERTBANK_IDLE_TIMEOUT=7 * 24 * 3600,
        CERTBANK_VERIFICATION_MINUTES=7 * 24 * 60,
        CERTBANK_CHALLENGE_SECONDS=7 * 24 * 3600,
        CERTBANK_COPY_SECONDS=7 * 24 * 3600,
    )
    overrides.enable()
    ca.ca_reset_cache()
    started = time.monotonic()
    try:
        with django_db_blocker.unblock():
            with transaction.atomic():
                world = W.build_world()
                seeded = time.monotonic()
                endpoint_list = endpoints.endpoints()
                learned = endpoints.crawl(world, endpoint_list, W.CRAWLERS)
                print(f"fuzz world: seeded in {seeded - started:.1f} s, crawled in {time.monotonic() - seeded:.1f} s")
                world.accepts = {
                    e.route: endpoints.merge(endpoints.from_code(e), learned.get(e.route, endpoints.Accepts()))
                    for e in endpoint_list
                }
                world.setup_seconds = time.monotonic() - started
                yield world
                transaction.set_rollback(True)
    finally:
        ca.ca_reset_cache()
        overrides.disable()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    stats = cases.STATS
    if not stats.cases:
        return
    write = terminalreporter.write_line
    statuses = sorted({status for _route, status in stats.by_status})
    routes = sorted(stats.cases)
    width = max(len(r) for r in routes) + 3
    terminalreporter.section("fuzz: requests per endpoint and status")
    write("endpoint".ljust(width) + "cases  reached " + " ".join(f"{s:>6}" for s in statuses))
    for route in routes:
        row = " ".join(f"{stats.by_status.get((route, s), 0) or '':>6}" for s in statuses)
        write(f"{'/' + route:<{width}}{stats.cases[route]:>5} {stats.reached[route]:>8} {row}")
    total = sum(stats.by_status.values())
    totals = " ".join(f"{sum(n for (r, s), n in stats.by_status.items() if s == status):>6}" for status in statuses)
    write(f"{'total':<{width}}{sum(stats.cases.values()):>5} {sum(stats.reached.values()):>8} {totals}")
    write(f"{sum(stats.cases.values())} cases, {total} requests, {len(routes)} endpoints; FUZZ_SEED={FUZZ_SEED}")
    writes = ", ".join(f"{label} {n}" for label, n in stats.refusal_writes.most_common()) or "none"
    write(f"refusals that wrote a table they may write (cases.REFUSAL_MAY_WRITE): {writes}")
