"""Hostile requests at every URL pattern (tests/fuzz/cases.py says what each
answer must be). The patterns come from Django's resolver, so a new
endpoint is fuzzed without being listed; tests/fuzz/endpoints.py EXCLUDED
holds the patterns left out, each with its reason."""

import os

import pytest
from django.urls import resolve
from hypothesis import given, seed

from tests.fuzz import cases, endpoints, strategies
from tests.fuzz.conftest import fuzz_settings, seed_for
from tests.fuzz.world import ACTORS

ALL = endpoints.endpoints()
FUZZED = [e for e in ALL if e.route not in endpoints.EXCLUDED]

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def check_every_pattern_is_fuzzed_or_excluded_with_a_reason(fuzz_world):
    routes = {e.route for e in ALL}
    assert all(reason.strip() for reason in endpoints.EXCLUDED.values())
    assert not set(endpoints.EXCLUDED) - routes, "an exclusion names a pattern that no longer exists"
    assert {e.route for e in FUZZED} | set(endpoints.EXCLUDED) == routes
    # Each fuzzed pattern can be reached: its URL builder makes paths that resolve to it.
    unreachable = []
    for endpoint in FUZZED:
        for actor in ACTORS:
            path = endpoints.example_path(fuzz_world, endpoint, actor)
            if resolve(path.split("?")[0]).route != endpoint.route:
                unreachable.append((endpoint.route, actor, path))
    assert not unreachable


def check_what_the_endpoints_accept_is_discovered(fuzz_world):
    """Spot checks that discovery finds fields from each source, so that a
    discovery bug cannot silently leave endpoints fuzzed with noise alone."""
    accepts = fuzz_world.accepts
    # json_endpoint's form (captured by the decorator).
    assert {"certificate", "signature", "challenge"} <= set(accepts["<slug:bank>/login/certificate/"].post)
    assert accepts["<slug:bank>/login/certificate/"].post["certificate"].kind == "base64"
    assert "ciphertext" in accepts["<slug:bank>/certificates/copy/upload/"].post
    # StepUpView's step forms, and the words its code compares with.
    issue = accepts["<slug:bank>/certificates/issue/"]
    assert {"rrn", "account_number", "pin", "code", "kind", "name"} <= set(issue.post)
    assert {"send", "identity", "finish", "restart"} <= issue.words
    # Forms of the pages (the suspend button lives on the detail page) and GET filters.
    assert "confirm" in accepts["<slug:bank>/certificates/<hex:serial>/suspend/"].post
    assert {"period", "date_from", "date_to"} <= set(accepts["<slug:bank>/accounts/<str:number>/history.csv"].query)
    # The staff console: change forms, search and filters, actions.
    assert {"name", "phone", "email"} <= set(accepts["staff/accounts/customer/<path:object_id>/change/"].post)
    changelist = accepts["staff/certificates/certificate/"]
    assert "q" in changelist.query and "status__exact" in changelist.query
    assert "action" in changelist.post and "_selected_action" in changelist.post
    # Which method each one takes: from require_POST / json_endpoint, or its pages' forms.
    assert accepts["<slug:bank>/logout/"].main_method == "POST"
    assert accepts["<slug:bank>/certificates/copy/join/"].main_method == "POST"
    assert accepts["<slug:bank>/accounts/<str:number>/"].main_method == "GET"
    assert accepts["<slug:bank>/certificates/cloud/"].main_method == "GET"


def _describe(failure: BaseException) -> str:
    """Each failure Hypothesis found (several make an ExceptionGroup), with its notes (the example)."""
    found = getattr(failure, "exceptions", None) or [failure]
    return "\n\n".join("\n".join([f"{type(e).__name__}: {e}", *getattr(e, "__notes__", [])]) for e in found)


def _attack(world, endpoint):
    """The property for one endpoint: whatever is sent, the answer is right (cases.run)."""

    @fuzz_settings(len(FUZZED))
    @given(case=strategies.cases(world, endpoint, world.accepts[endpoint.route]))
    def attack(case):
        cases.run(world, endpoint.route, case)

    return seed(seed_for(endpoint.route))(attack)


def test_every_endpoint_answers_hostile_requests_rightly(fuzz_world):
    """First that every pattern is fuzzed (or excluded) and reachable, and that
    discovery works; then each endpoint in turn (FUZZ_ONLY=<text> keeps those
    whose route contains it).

    One test, not one per endpoint: the world is built once (under pytest-xdist
    too), and a failing endpoint does not stop the others, so one run reports
    every class of failure it meets, each with its shrunk example."""
    check_every_pattern_is_fuzzed_or_excluded_with_a_reason(fuzz_world)
    check_what_the_endpoints_accept_is_discovered(fuzz_world)
    chosen = [e for e in FUZZED if os.environ.get("FUZZ_ONLY", "") in e.route]
    failures = []
    for endpoint in chosen:
        attack = _attack(fuzz_world, endpoint)
        try:
            attack()
        except Exception as failure:  # noqa: BLE001 - collected, reported together below
            failures.append(f"--- {endpoint.route}\n{_describe(failure)}")
            continue
        if not cases.STATS.reached[endpoint.route]:
            failures.append(f"--- {endpoint.route}\nno case reached its view")
    if failures:
        pytest.fail(f"{len(failures)} of {len(chosen)} endpoints failed:\n\n" + "\n\n".join(failures), pytrace=False)
