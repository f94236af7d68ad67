"""The Mozilla HTTP Observatory grade of production responses is A+ (issue
12 §3), with the default-src 'none' bonus: the home page, a bank's login page
and a logged-in page, scored by the Observatory's published rules
(tests/bank/observatory.py) from a production-settings server under gunicorn
(tests/production_server.py). Run with -s to see the breakdowns."""

from urllib.parse import urlsplit

import pytest

from flows.demo import DEMO_PASSWORD
from tests import production_server
from tests.bank import observatory
from tests.bank.observatory import Response, Retrieval

pytestmark = pytest.mark.slow

CORS_ORIGIN = "https://http-observatory.security.mozilla.org"


@pytest.fixture(scope="module")
def customer_browser(production):
    browser = production_server.Browser(production)
    assert browser.get("/nuri/login/").status == 200
    answer = browser.post("/nuri/login/", {"login_id": "hong", "password": DEMO_PASSWORD})
    assert answer.status == 302, answer.text[:2000]
    assert answer.header("Location") == "/nuri/accounts/"
    return browser


def _response(answer, url) -> Response:
    return Response(url=url, status=answer.status, headers=list(answer.headers.items()), body=answer.body)


def retrieve(server: production_server.ProductionServer, path: str, browser=None) -> Retrieval:
    """What the Observatory fetches: the http URL and its redirects (a fresh
    session), the https page in the browser's session, /robots.txt in the same
    session, and a CORS preflight."""
    browser = browser or production_server.Browser(server)
    route = []
    url = f"{server.http_url}{path}"
    for _ in range(10):
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.port == server.port, url
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = server.fetch("GET", target, https=parts.scheme == "https")
        route.append(_response(answer, url))
        if answer.status not in (301, 302, 303, 307, 308):
            break
        location = answer.header("Location")
        url = location if "://" in location else f"{parts.scheme}://{parts.netloc}{location}"

    url = f"{server.public_url}{path}"
    answer = browser.get(path)
    for _ in range(10):
        if answer.status not in (301, 302, 303, 307, 308):
            break
        location = answer.header("Location")
        url = location if "://" in location else f"{server.public_url}{location}"
        answer = browser.get(urlsplit(url).path)
    auto = _response(answer, url)
    browser.get("/robots.txt")
    cors = server.fetch(
        "OPTIONS", urlsplit(url).path, https=True, headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    return Retrieval(
        http_route=route,
        auto=auto,
        session_cookies=list(browser.set_cookie_lines),  # the session's jar: login included
        cors=_response(cors, url),
        cors_origin=CORS_ORIGIN,
    )


def assert_a_plus(scan):
    print(scan.breakdown())
    assert scan.grade == "A+", scan.breakdown()
    assert scan.score >= 100, scan.breakdown()
    assert scan.result("content-security-policy") == "csp-implemented-with-no-unsafe-default-src-none", scan.breakdown()
    assert all(result.modifier >= 0 for result in scan.results), scan.breakdown()


@pytest.mark.parametrize("path", ["/", "/nuri/login/", "/ca/cps"])
def test_public_pages_score_a_plus(production, path):
    scan = observatory.score(retrieve(production, path))
    assert_a_plus(scan)
    assert scan.result("redirection") == "redirection-to-https"


def test_a_logged_in_page_scores_a_plus(production, customer_browser):
    retrieval = retrieve(production, "/nuri/accounts/", customer_browser)
    assert retrieval.auto.url.endswith("/nuri/accounts/") and "홍길동" in retrieval.auto.body.decode()
    scan = observatory.score(retrieval)
    assert_a_plus(scan)
    # The session and CSRF cookies count here: Secure, HttpOnly, SameSite.
    assert scan.result("cookies") == "cookies-secure-with-httponly-sessions-and-samesite", scan.breakdown()


# --- The scorer itself, on the Observatory's own examples ---------------------------------------


def _retrieval(headers, *, cookies=(), body=b"<html></html>", redirect=True):
    page = "https://example.org/"
    route = [Response("http://example.org/", 301, [("Location", page)])]
    if redirect:
        route.append(Response(page, 200, []))
    return Retrieval(
        http_route=route,
        auto=Response(page, 200, [("Content-Type", "text/html"), *headers], body),
        session_cookies=list(cookies),
        cors=Response(page, 200, []),
    )


def test_a_page_without_any_security_header_fails():
    scan = observatory.score(
        _retrieval(
            [], cookies=["sessionid=x; Path=/"], body=b'<script src="http://cdn.example.com/a.js"></script>', redirect=False
        )
    )
    # CSP -25, cookies -40 (session cookie without Secure, no HSTS), redirection -20, HSTS -20,
    # SRI -50, X-Content-Type-Options -5, X-Frame-Options -20: far below 0.
    assert scan.score == 0 and scan.grade == "F"
    assert scan.result("cookies") == "cookies-session-without-secure-flag"
    assert scan.result("subresource-integrity") == "sri-not-implemented-and-external-scripts-not-loaded-securely"


def test_bonuses_count_only_from_an_a():
    good = [
        ("Strict-Transport-Security", "max-age=31536000"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]
    self_csp = observatory.score(_retrieval([*good, ("Content-Security-Policy", "default-src 'self'")]))
    assert self_csp.result("content-security-policy") == "csp-implemented-with-no-unsafe"
    assert self_csp.score == 100 + 5 + 5 and self_csp.grade == "A+"
    unsafe = observatory.score(
        _retrieval([*good, ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")])
    )
    assert unsafe.result("content-security-policy") == "csp-implemented-with-unsafe-inline"
    assert unsafe.score == 80 and unsafe.grade == "B+"  # 100 - 20; the Referrer-Policy +5 does not count below an A
    none = observatory.score(
        _retrieval([*good, ("Content-Security-Policy", "default-src 'none'; script-src 'self'; frame-ancestors 'none'")])
    )
    assert none.result("content-security-policy") == "csp-implemented-with-no-unsafe-default-src-none"
    assert none.result("x-frame-options") == "x-frame-options-implemented-via-csp"
    assert none.score == 100 + 10 + 5 + 5


def test_a_repeated_directive_makes_the_policy_invalid():
    scan = observatory.score(_retrieval([("Content-Security-Policy", "default-src 'none'; default-src 'self'")]))
    assert scan.result("content-security-policy") == "csp-header-invalid"
