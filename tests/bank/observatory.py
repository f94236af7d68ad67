"""The MDN HTTP Observatory's score for one page, computed from real responses.

A port of the published rules (github.com/mdn/mdn-http-observatory,
src/analyzer/tests/*.js and src/grader/charts.js): ten tests, each giving a
result with a score modifier; start at 100, add every modifier; the bonuses
count only when the score without them is at least 90 (A); grade A+ is 100
or more. The Observatory fetches the page over http (to follow the redirect)
and over https (the "auto" response every other test reads, which must be
2xx), /robots.txt in the same session (for more cookies), and sends a CORS
preflight with a foreign Origin.

What it cannot know here: the HSTS preload list (127.0.0.1 is on none, so no
+5) and a TLS certificate chain (the test server stands behind an imagined
TLS proxy, tests/production_server.py).
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

# src/grader/charts.js SCORE_TABLE: result -> modifier.
SCORE_TABLE = {
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20,
    "redirection-missing": -20,
    "referrer-policy-private": 5,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-preloaded": 5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 0,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10,
    "corp-implemented-with-cross-origin": 0,
    "corp-not-implemented": 0,
    "corp-header-invalid": -5,
}
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
GRADES = {100: "A+", 95: "A", 90: "A", 85: "A-", 80: "B+", 75: "B", 70: "B", 65: "B-", 60: "C+", 55: "C", 50: "C"}
GRADES |= {45: "C-", 40: "D+", 35: "D", 30: "D", 25: "D-", 20: "F", 15: "F", 10: "F", 5: "F", 0: "F"}


@dataclass
class Response:
    """What the scorer needs of one HTTP response."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None


@dataclass
class Retrieval:
    """src/retriever/retriever.js: the http redirect route (the http URL first),
    the https ("auto") response, the Set-Cookie lines of the https session, the
    CORS preflight answer and the Origin it sent."""

    http_route: list[Response]
    auto: Response
    session_cookies: list[str] = field(default_factory=list)
    cors: Response | None = None
    cors_origin: str = "https://http-observatory.security.mozilla.org"


@dataclass
class Result:
    test: str
    result: str

    @property
    def modifier(self) -> int:
        return SCORE_TABLE[self.result]


@dataclass
class Scan:
    url: str
    results: list[Result]

    @property
    def score(self) -> int:
        uncurved = 100 + sum(result.modifier for result in self.results if result.modifier < 0)
        with_extra = 100 + sum(result.modifier for result in self.results)
        return max(with_extra if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved, 0)

    @property
    def grade(self) -> str:
        return GRADES[min(self.score - self.score % 5, 100)]

    def result(self, test: str) -> str:
        return next(result.result for result in self.results if result.test == test)

    def breakdown(self) -> str:
        lines = [f"{self.url}: {self.score} [{self.grade}]"]
        lines += [f"  [{result.modifier:+4d}] {result.test}: {result.result}" for result in self.results]
        return "\n".join(lines)


# --- Content-Security-Policy (src/analyzer/cspParser.js, tests/csp.js) -----------------------------

DANGEROUSLY_BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


class CspInvalid(ValueError):
    pass


def parse_csp(policy: str) -> dict[str, set[str]]:
    """One policy (this site sends one header): directive -> sources, lower-cased.
    A repeated directive makes the policy invalid (the Observatory's rule)."""
    policy = re.sub(r"[\r\n]", "", policy).strip()
    if len(policy) < len("img-src") - 1:
        raise CspInvalid(policy)
    directives: dict[str, set[str]] = {}
    for entry in policy.split(";"):
        directive, *sources = entry.strip().split() or [""]
        if not directive:
            continue
        directive = directive.lower()
        if directive in directives:
            raise CspInvalid(f"duplicate {directive}")
        values = {source.lower() for source in sources}
        if not values and directive.endswith("-src"):
            values = {"'none'"}
        directives[directive] = values
    return directives


def csp_test(retrieval: Retrieval) -> tuple[Result, dict[str, set[str]] | None]:
    policies = [part.strip() for value in retrieval.auto.all("Content-Security-Policy") for part in value.split(",")]
    if not policies:
        return Result("content-security-policy", "csp-not-implemented"), None
    # Several policies are merged by the Observatory's parser; this port reads one, as this site sends.
    assert len(policies) == 1, f"more than one Content-Security-Policy: {policies}"
    try:
        csp = parse_csp(policies[0])
    except CspInvalid:
        return Result("content-security-policy", "csp-header-invalid"), None
    default = csp.get("default-src")
    object_src = set(csp.get("object-src") or default or {"*"})
    script_src = set(csp.get("script-src") or default or {"*"})
    style_src = set(csp.get("style-src") or default or {"*"})
    for sources in (script_src, style_src):
        if any(source.startswith(NONCES_HASHES) for source in sources):
            sources.discard("'unsafe-inline'")
    result = None
    if "'strict-dynamic'" in script_src and not any(source.startswith(NONCES_HASHES) for source in script_src):
        result = "csp-header-invalid"
    active = [source for name, sources in csp.items() if name not in ("img-src", "media-src", "script-src") for source in sources]
    active += list(script_src)
    passive = [source for name in ("img-src", "media-src") for source in (csp.get(name) or default or set())]
    https = urlsplit(retrieval.auto.url).scheme == "https"

    def first(candidate: str) -> None:
        nonlocal result
        if result is None:
            result = candidate

    if script_src & (DANGEROUSLY_BROAD | UNSAFE_INLINE) or object_src & DANGEROUSLY_BROAD:
        first("csp-implemented-with-unsafe-inline")
    if https and any(source.startswith(("http:", "ftp:")) for source in active):
        first("csp-implemented-with-insecure-scheme")
    if "'unsafe-eval'" in script_src | style_src:
        first("csp-implemented-with-unsafe-eval")
    if https and any(source.startswith(("http:", "ftp:")) for source in passive):
        first("csp-implemented-with-insecure-scheme-in-passive-content-only")
    if style_src & (DANGEROUSLY_BROAD | UNSAFE_INLINE):
        first("csp-implemented-with-unsafe-inline-in-style-src-only")
    if default == {"'none'"}:
        first("csp-implemented-with-no-unsafe-default-src-none")
    first("csp-implemented-with-no-unsafe")
    return Result("content-security-policy", result), csp


# --- Cookies (tests/cookies.js) ------------------------------------------------------------------

COOKIE_GOODNESS = [
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
]


def _only_if_worse(new: str, old: str | None) -> str:
    if old is None or COOKIE_GOODNESS.index(new) > COOKIE_GOODNESS.index(old):
        return new
    return old


def _cookie_attributes(line: str) -> tuple[str, dict[str, str | bool]]:
    name = line.split("=", 1)[0].strip()
    attributes: dict[str, str | bool] = {}
    for part in line.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.strip().lower()] = value.strip() if _ else True
    return name, attributes


def cookies_test(retrieval: Retrieval, *, hsts: bool) -> Result:
    result = None
    cookies = {}
    for line in retrieval.session_cookies:
        name, attributes = _cookie_attributes(line)
        samesite = attributes.get("samesite")
        if samesite is not None and (samesite is True or str(samesite).lower() not in ("lax", "strict", "none")):
            result = _only_if_worse("cookies-samesite-flag-invalid", result)
        cookies[name] = attributes  # the jar keeps the last cookie of a name
    if not cookies:
        return Result("cookies", "cookies-not-found")
    missing_samesite = False
    for name, attributes in cookies.items():
        secure = bool(attributes.get("secure"))
        samesite = attributes.get("samesite")
        session = any(word in name.lower() for word in ("login", "sess"))
        anticsrf = "csrf" in name.lower()
        if not secure and isinstance(samesite, str) and samesite.lower() == "none":
            result = _only_if_worse("cookies-samesite-flag-invalid", result)
        if not secure:
            result = _only_if_worse(
                "cookies-without-secure-flag-but-protected-by-hsts" if hsts else "cookies-without-secure-flag", result
            )
        if anticsrf and not samesite:
            result = _only_if_worse("cookies-anticsrf-without-samesite-flag", result)
        if session and not secure:
            result = _only_if_worse(
                "cookies-session-without-secure-flag-but-protected-by-hsts" if hsts else "cookies-session-without-secure-flag",
                result,
            )
        if session and not attributes.get("httponly"):
            result = _only_if_worse("cookies-session-without-httponly-flag", result)
        missing_samesite |= not samesite
    if result is None:
        result = (
            "cookies-secure-with-httponly-sessions" if missing_samesite else "cookies-secure-with-httponly-sessions-and-samesite"
        )
    return Result("cookies", result)


# --- The other tests -----------------------------------------------------------------------------


def cors_test(retrieval: Retrieval) -> Result:
    answer = retrieval.cors
    allowed = answer.first("Access-Control-Allow-Origin") if answer else None
    if not allowed:
        return Result("cross-origin-resource-sharing", "cross-origin-resource-sharing-not-implemented")
    allowed = allowed[:256].strip().lower()
    if allowed == "*":
        return Result("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-public-access")
    credentials = (answer.first("Access-Control-Allow-Credentials") or "").strip().lower() == "true"
    if allowed == retrieval.cors_origin and credentials:
        return Result("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-universal-access")
    return Result("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-restricted-access")


def redirection_test(retrieval: Retrieval) -> Result:
    route = [urlsplit(response.url) for response in retrieval.http_route]
    if not route:
        result = "redirection-not-needed-no-http"
    elif len(route) == 1:
        result = "redirection-missing"
    elif route[-1].scheme != "https":
        result = "redirection-not-to-https"
    elif route[1].scheme == "http":
        result = "redirection-not-to-https-on-initial-redirection"
    elif route[0].hostname != route[1].hostname:
        result = "redirection-off-host-from-http"
    else:
        result = "redirection-to-https"
    return Result("redirection", result)


def referrer_policy_test(retrieval: Retrieval) -> Result:
    good = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"]
    bad = ["origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"]
    values = retrieval.auto.all("Referrer-Policy")
    if not values:
        return Result("referrer-policy", "referrer-policy-not-implemented")
    known = [value.strip().lower() for value in ", ".join(values).split(",") if value.strip().lower() in good + bad]
    policy = known[-1] if known else ""
    if policy in good:
        return Result("referrer-policy", "referrer-policy-private")
    return Result("referrer-policy", "referrer-policy-unsafe" if policy in bad else "referrer-policy-header-invalid")


def hsts_test(retrieval: Retrieval) -> Result:
    header = retrieval.auto.first("Strict-Transport-Security")
    if header is None:
        return Result("strict-transport-security", "hsts-not-implemented")
    header = header[:1024]
    max_age = None
    if "," in header:
        return Result("strict-transport-security", "hsts-header-invalid")
    for parameter in (part.strip().lower() for part in header.split(";")):
        if parameter.startswith("max-age="):
            digits = re.match(r"\d+", parameter[8:128])
            max_age = int(digits.group()) if digits else None
    if max_age is None:
        return Result("strict-transport-security", "hsts-header-invalid")
    six_months = 15_552_000
    return Result(
        "strict-transport-security",
        "hsts-implemented-max-age-at-least-six-months"
        if max_age >= six_months
        else "hsts-implemented-max-age-less-than-six-months",
    )


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


def sri_test(retrieval: Retrieval) -> Result:
    mime = (retrieval.auto.first("Content-Type") or "").split(";")[0].strip()
    if mime and mime not in ("text/html", "application/xhtml+xml"):
        return Result("subresource-integrity", "sri-not-implemented-response-not-html")
    parser = _Scripts()
    parser.feed(retrieval.auto.body.decode("utf-8", "replace"))
    if not parser.scripts:
        return Result("subresource-integrity", "sri-not-implemented-but-no-scripts-loaded")
    page = urlsplit(retrieval.auto.url)
    result = None
    foreign = False
    goodness = [
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-implemented-but-external-scripts-not-loaded-securely",
        "sri-not-implemented-but-external-scripts-loaded-securely",
        "sri-not-implemented-and-external-scripts-not-loaded-securely",
        "sri-not-implemented-response-not-html",
    ]

    def worse(new):
        nonlocal result
        if result is None or goodness.index(new) > goodness.index(result):
            result = new

    for script in parser.scripts:
        src = script.get("src")
        if not src:
            continue
        integrity = script.get("integrity")
        relative_protocol = src.startswith("//") and not src.startswith("///")
        full = re.match(r"https?://", src) is not None
        relative_origin = not relative_protocol and not full
        same_site = relative_protocol or relative_origin or urlsplit(src).hostname == page.hostname
        secure_origin = relative_origin or (same_site and not relative_protocol)
        scheme = urlsplit(src).scheme if full else None
        secure_scheme = scheme == "https" or (relative_origin and page.scheme == "https")
        if not secure_origin:
            foreign = True
            if integrity and not secure_scheme:
                worse("sri-implemented-but-external-scripts-not-loaded-securely")
            elif not integrity and secure_scheme:
                worse("sri-not-implemented-but-external-scripts-loaded-securely")
            elif not integrity:
                worse("sri-not-implemented-and-external-scripts-not-loaded-securely")
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if result is None:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely"
            if foreign
            else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
        )
    return Result("subresource-integrity", result)


def x_content_type_options_test(retrieval: Retrieval) -> Result:
    header = retrieval.auto.first("X-Content-Type-Options")
    if header is None:
        return Result("x-content-type-options", "x-content-type-options-not-implemented")
    ok = header[:256].strip().lower() == "nosniff"
    return Result("x-content-type-options", "x-content-type-options-nosniff" if ok else "x-content-type-options-header-invalid")


def x_frame_options_test(retrieval: Retrieval, csp: dict | None) -> Result:
    if csp and "frame-ancestors" in csp:
        return Result("x-frame-options", "x-frame-options-implemented-via-csp")
    header = (retrieval.auto.first("X-Frame-Options") or "")[:1024].strip().lower()
    if not header:
        return Result("x-frame-options", "x-frame-options-not-implemented")
    if header in ("deny", "sameorigin"):
        return Result("x-frame-options", "x-frame-options-sameorigin-or-deny")
    if header.startswith("allow-from"):
        return Result("x-frame-options", "x-frame-options-allow-from-origin")
    return Result("x-frame-options", "x-frame-options-header-invalid")


def corp_test(retrieval: Retrieval) -> Result:
    header = (retrieval.auto.first("Cross-Origin-Resource-Policy") or "")[:256].strip().lower()
    results = {
        "": "corp-not-implemented",
        "same-site": "corp-implemented-with-same-site",
        "same-origin": "corp-implemented-with-same-origin",
        "cross-origin": "corp-implemented-with-cross-origin",
    }
    return Result("cross-origin-resource-policy", results.get(header, "corp-header-invalid"))


def score(retrieval: Retrieval) -> Scan:
    """src/scanner/index.js: run the ten tests on what was retrieved."""
    assert 200 <= retrieval.auto.status < 300, f"the Observatory refuses a {retrieval.auto.status} page"
    csp_result, csp = csp_test(retrieval)
    hsts = hsts_test(retrieval)
    hsts_passes = hsts.result in ("hsts-implemented-max-age-at-least-six-months", "hsts-preloaded")
    results = [
        csp_result,
        cookies_test(retrieval, hsts=hsts_passes),
        cors_test(retrieval),
        redirection_test(retrieval),
        referrer_policy_test(retrieval),
        hsts,
        sri_test(retrieval),
        x_content_type_options_test(retrieval),
        x_frame_options_test(retrieval, csp),
        corp_test(retrieval),
    ]
    return Scan(url=retrieval.auto.url, results=results)
