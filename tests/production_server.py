"""A production-settings Certbank under gunicorn, for tests that must see what
production answers (issue 12 §3): DJANGO_ENV=production, DEBUG off, its own
secrets, data folder and SQLite file, static files collected, the demo data
seeded, serving plain HTTP on 127.0.0.1.

It stands behind an imagined TLS proxy (DJANGO_BEHIND_TLS_PROXY): a request
with `X-Forwarded-Proto: https` is one that reached the proxy over HTTPS, a
request without it came over plain http. The public URL written into
certificates is https://127.0.0.1:<port>, as a real deployment's would be.
"""

import http.client
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path

from tools.torture import server as gunicorn

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class ProductionServer:
    port: int
    data_dir: Path
    env: dict
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def shell(self, code: str) -> str:
        """Run Python in a production-settings Django process on this server's data."""
        return self.manage("shell", "-c", code).stdout

    def fetch(
        self, method: str, path: str, *, https: bool = False, headers: dict | None = None, body: bytes | None = None
    ) -> Answer:
        """One request, redirects not followed. `https`: as the TLS proxy forwards an HTTPS request."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Host": f"127.0.0.1:{self.port}", **({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


class Browser:
    """A minimal HTTPS browser against the server: a cookie jar and the CSRF
    token as a form would send it (Origin header, as browsers do)."""

    def __init__(self, server: ProductionServer):
        self.server = server
        self.jar: dict[str, str] = {}
        self.set_cookie_lines: list[str] = []  # every Set-Cookie it received, in order

    def _cookie_header(self) -> dict:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.jar.items())} if self.jar else {}

    def _keep(self, answer: Answer) -> Answer:
        self.set_cookie_lines.extend(answer.set_cookies())
        for line in answer.set_cookies():
            cookie = SimpleCookie()
            cookie.load(line)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self._keep(self.server.fetch("GET", path, https=True, headers=self._cookie_header()))

    def post(self, path: str, form: dict) -> Answer:
        from urllib.parse import urlencode

        token = self.jar.get("csrftoken", "")
        body = urlencode({"csrfmiddlewaretoken": token, **form}).encode()
        headers = {
            **self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.server.public_url,
            "Referer": f"{self.server.public_url}{path}",
        }
        return self._keep(self.server.fetch("POST", path, https=True, headers=headers, body=body))


def production_env(data_dir: Path, port: int) -> dict:
    """The inherited environment without any DJANGO_/CERTBANK_/DATABASE_ variable
    of the test session, and the production server's own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "CERTBANK_", "DATABASE_"))}
    env.update(
        gunicorn.production_environment(
            database_url=f"sqlite:///{data_dir / 'production.sqlite3'}",
            data_dir=data_dir,
            static_root=data_dir / "static",
            public_url=f"https://127.0.0.1:{port}",
            allowed_hosts="127.0.0.1",
            CERTBANK_CA_KEY_BITS="2048",  # faster to create; the profile is the same
            DJANGO_BEHIND_TLS_PROXY="true",
        )
    )
    return env


def start(data_dir: Path) -> ProductionServer:
    """Migrate, collect static files, seed the demo data and start gunicorn."""
    port = gunicorn.free_port()
    server = ProductionServer(port=port, data_dir=data_dir, env=production_env(data_dir, port))
    server.manage("migrate", "--noinput", "-v0")
    server.manage("collectstatic", "--noinput", "-v0")
    server.manage("seed_demo")
    server.log = data_dir / "gunicorn.log"
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            [sys.executable, "-m", "gunicorn", "bank.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            server.fetch("GET", "/ca/crl/issuing.crl")
            return server
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                stop(server)
                raise RuntimeError(f"gunicorn did not start:\n{server.log.read_text()}") from None
            time.sleep(0.2)


def stop(server: ProductionServer) -> None:
    if server.process is not None:
        gunicorn.process_stop(server.process)
