"""A Python client that speaks Certbank's certificate protocol over HTTP,
as the browser does: fetch a challenge, sign its bytes with the key from the
customer's key files, post certificate and signature.

This is the customer's side (like pypinksign or a bank's desktop client),
so it holds a private key and signs; the server's code never does.
Used by tests, load tests, `manage.py certificate_login` and the demo seed.
"""

import base64
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class ProtocolError(Exception):
    """The server refused: `code` is its refusal reason, `message` its Korean text."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")


@dataclass
class Answer:
    status: int
    body: bytes
    url: str

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def sign_pkcs1(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class CertbankClient:
    """One browser-like session (cookies, CSRF) at one bank."""

    def __init__(self, base_url: str, bank: str, *, timeout: float = 20.0):
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.bank = bank
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.bank}/{path.lstrip('/')}"

    def _csrf_token(self) -> str:
        for cookie in self.cookies:
            if cookie.name == "csrftoken":
                return cookie.value
        self.get("login/")  # sets the CSRF cookie
        return next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")

    def _send(self, request: urllib.request.Request) -> Answer:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, response.read(), response.url)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), request.full_url)

    def get(self, path: str) -> Answer:
        # The scheme is checked once in __init__ (http or https only).
        return self._send(urllib.request.Request(self.url(path), method="GET"))  # noqa: S310

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            self.url(path),
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "X-CSRFToken": self._csrf_token(),
                "Referer": self.url("login/"),  # Django checks it over HTTPS
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        return self._send(request)

    def _json(self, answer: Answer) -> dict:
        try:
            data = answer.json()
        except ValueError:
            raise ProtocolError(answer.status, "not_json", answer.text[:200]) from None
        if answer.status != 200:
            raise ProtocolError(answer.status, data.get("code", ""), data.get("error", ""))
        return data

    def challenge(self, purpose: str = "login") -> tuple[str, bytes]:
        data = self._json(self.post("certificates/challenge/", {"purpose": purpose}))
        return data["challenge"], base64.b64decode(data["to_sign"])

    def login_with_certificate(self, certificate_der: bytes, private_key: rsa.RSAPrivateKey) -> str:
        """Log in; returns the page the server sends the customer to."""
        token, to_sign = self.challenge("login")
        data = self._json(
            self.post(
                "login/certificate/",
                {
                    "challenge": token,
                    "certificate": base64.b64encode(certificate_der).decode("ascii"),
                    "signature": base64.b64encode(sign_pkcs1(private_key, to_sign)).decode("ascii"),
                },
            )
        )
        return data["redirect"]
