"""One browser session over plain HTTP: cookies (session, CSRF, device), the
Origin header a browser sends, redirects followed, and every answer
recorded with its time and X-Request-ID so that a 500 or a lost
connection can be matched to the fault that caused it afterwards.

The customer's key lives here, on the client side, as in the browser's
keystore: the server only ever sees the certificate and signatures.
"""

from __future__ import annotations

import base64
import http.client
import http.cookiejar
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from certificates.client.protocol import sign_pkcs1

TRACE = os.environ.get("TORTURE_TRACE", "")  # a file: one line per request (debugging a run)
DEVICE_COOKIE = "certbank_device"  # accounts.device.DEVICE_COOKIE (the tool imports no app module but the client)


@dataclass
class Answer:
    status: int
    body: bytes
    url: str
    request_id: str
    started: float
    ended: float

    @property
    def is_page(self) -> bool:
        """An HTML page (an error page), not a JSON answer."""
        return self.body.lstrip()[:1] == b"<"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class ConnectionLost(Exception):
    """No HTTP answer at all: the connection was reset or closed (a killed worker)."""

    def __init__(self, path: str, error: BaseException, started: float, ended: float):
        self.path, self.error, self.started, self.ended = path, error, started, ended
        super().__init__(f"{path}: {type(error).__name__}: {error}")


@dataclass
class Journal:
    """Every 5xx and lost connection any client saw, for attribution after the run."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    server_errors: list[tuple[float, float, int, str, str]] = field(default_factory=list)  # (start, end, status, rid, path)
    lost: list[tuple[float, float, str, str]] = field(default_factory=list)  # (start, end, path, error)
    # 400 pages (not JSON refusals): Django answers 400 when the session cannot be
    # saved at the end of a request (SessionInterrupted), a DatabaseError included.
    bad_requests: list[tuple[float, float, str, str]] = field(default_factory=list)  # (start, end, path, rid)
    requests: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)  # page -> [count, total seconds, worst]

    def count(self) -> None:
        with self.lock:
            self.requests += 1

    def timed(self, path: str, seconds: float) -> None:
        page = _PAGE.sub("<n>", path.split("?", 1)[0])
        with self.lock:
            entry = self.timings.setdefault(page, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += seconds
            entry[2] = max(entry[2], seconds)

    def server_error(self, answer: Answer, path: str) -> None:
        with self.lock:
            self.server_errors.append((answer.started, answer.ended, answer.status, answer.request_id, path))

    def bad_request(self, answer: Answer, path: str) -> None:
        with self.lock:
            self.bad_requests.append((answer.started, answer.ended, path, answer.request_id))

    def connection_lost(self, lost: ConnectionLost) -> None:
        with self.lock:
            self.lost.append((lost.started, lost.ended, lost.path, f"{type(lost.error).__name__}: {lost.error}"))


_PAGE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d{6,}")

_LOST = (
    ConnectionError,
    http.client.HTTPException,  # RemoteDisconnected, IncompleteRead, BadStatusLine
    socket.timeout,
    TimeoutError,
    urllib.error.URLError,
)


class Browser:
    """One browser profile (its cookie jar) at one bank. Given several base URLs
    (web nodes on one database, tools/torture/run.py --instances), its requests
    take them in turn, as a load balancer without sticky sessions would send them:
    cookies are per host, not per port, so the session travels along."""

    def __init__(self, base_url: str | list[str], bank: str, *, device_token: str, journal: Journal, timeout: float = 60.0):
        self.base_urls = [url.rstrip("/") for url in ([base_url] if isinstance(base_url, str) else base_url)]
        self.base_url = self.base_urls[0]
        self._turn = 0
        self.bank = bank
        self.timeout = timeout
        self.journal = journal
        self.cookies = http.cookiejar.CookieJar()
        host = urllib.parse.urlsplit(self.base_url).hostname or "127.0.0.1"
        self.cookies.set_cookie(_cookie(DEVICE_COOKIE, device_token, host))
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.logged_in = False

    def url(self, path: str, base: str = "") -> str:
        return f"{base or self.base_url}/{self.bank}/{path.lstrip('/')}"

    def _next_base(self) -> str:
        base = self.base_urls[self._turn % len(self.base_urls)]
        self._turn += 1
        return base

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")

    def _send(self, request: urllib.request.Request, path: str) -> Answer:
        self.journal.count()
        started = time.time()
        before = self.cookie("sessionid")[:8]
        try:
            with self._opener.open(request, timeout=self.timeout) as response:  # noqa: S310 - http only, our own server
                body = response.read()
                answer = Answer(
                    response.status, body, response.url, response.headers.get("X-Request-ID", ""), started, time.time()
                )
        except urllib.error.HTTPError as error:
            try:
                body = error.read()
            except _LOST:
                body = b""
            answer = Answer(
                error.code, body, error.url or request.full_url, error.headers.get("X-Request-ID", ""), started, time.time()
            )
        except _LOST as error:
            lost = ConnectionLost(path, error, started, time.time())
            self.journal.connection_lost(lost)
            raise lost from None
        self.journal.timed(path, answer.ended - answer.started)
        if TRACE:
            with self.journal.lock, open(TRACE, "a") as trace:
                trace.write(
                    f"{started:.3f} {answer.ended:.3f} {threading.current_thread().name} {id(self):x} {self.bank} "
                    f"{request.get_method()} {path} {answer.status} {answer.request_id} {before} {self.cookie('sessionid')[:8]}\n"
                )
        if answer.status >= 500:
            self.journal.server_error(answer, path)
        elif answer.status == 400 and answer.is_page:
            self.journal.bad_request(answer, path)
        return answer

    def get(self, path: str) -> Answer:
        return self._send(urllib.request.Request(self.url(path, self._next_base()), method="GET"), path)  # noqa: S310

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        if not self.cookie("csrftoken"):
            self.get("login/")
        base = self._next_base()
        request = urllib.request.Request(  # noqa: S310
            self.url(path, base),
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "X-CSRFToken": self.cookie("csrftoken"),
                "Origin": base,
                "Referer": self.url(path, base),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        return self._send(request, path)

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        """A form post as the page submits it: the CSRF token in the body."""
        if not self.cookie("csrftoken"):
            self.get(path)
        base = self._next_base()
        request = urllib.request.Request(  # noqa: S310
            self.url(path, base),
            data=urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookie("csrftoken"), **fields}).encode(),
            method="POST",
            headers={"Origin": base, "Referer": self.url(path, base), "Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._send(request, path)

    def login(self, certificate_der: bytes, private_key) -> Answer:
        """Certificate login, as the certificate window does it. Returns the last answer."""
        self.get("login/")
        answer = self.post("certificates/challenge/", {"purpose": "login"})
        data = answer.json()
        if answer.status != 200 or "challenge" not in data:
            return answer
        to_sign = base64.b64decode(data["to_sign"])
        answer = self.post(
            "login/certificate/",
            {
                "challenge": data["challenge"],
                "certificate": b64(certificate_der),
                "signature": b64(sign_pkcs1(private_key, to_sign)),
            },
        )
        self.logged_in = answer.status == 200 and "redirect" in answer.json()
        return answer


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _cookie(name: str, value: str, host: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=host,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=False,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": None},
    )


_ATTR = re.compile(r'data-(challenge|to-sign)="([^"]*)"')


def review_fields(html: str) -> dict[str, str]:
    """The review page's challenge token and the base64 bytes to sign (data attributes)."""
    return {name: value for name, value in _ATTR.findall(html)}
