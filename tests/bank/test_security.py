"""Site-wide protections: security headers, no inline code, production settings, demo pages."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

ANONYMOUS_PAGES = ["/", "/nuri/", "/nuri/login/", "/nuri/signup/", "/nuri/unlock/", "/nuri/demo/phone/", "/staff/login/"]
CUSTOMER_PAGES = ["/nuri/accounts/", "/nuri/otp/", "/nuri/demo/otp/"]


def assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_every_page_carries_the_security_headers(client, banks, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert_security_headers(response)


@pytest.mark.parametrize("path", CUSTOMER_PAGES)
def test_every_customer_page_carries_the_security_headers(logged_in_client, path):
    response = logged_in_client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)


def test_error_pages_and_redirects_carry_the_security_headers(client, banks):
    assert_security_headers(client.get("/nobank/"))
    assert_security_headers(client.get("/nuri/accounts/"))


def test_session_and_csrf_cookies_are_http_only_and_same_site(logged_in_client):
    cookie = logged_in_client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert django_settings.CSRF_COOKIE_HTTPONLY


def test_post_without_a_csrf_token_is_refused(customer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.last_login is None


def test_post_with_the_csrf_token_of_the_page_is_accepted(customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/nuri/login/")
    token = client.cookies["csrftoken"].value
    response = client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


# --- No inline code in templates: the CSP forbids it, so it would break silently ------------------------


def template_files():
    files = sorted(TEMPLATES.rglob("*.html"))
    assert files, "no templates found"
    return files


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", template_files(), ids=relative)
def test_template_has_no_inline_script(path):
    text = path.read_text()
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", text, re.S | re.I):
        attributes, body = match.groups()
        assert "src=" in attributes, f"inline <script> in {relative(path)}"
        assert body.strip() == "", f"inline <script> body in {relative(path)}"
    assert not re.search(r"javascript:", text, re.I), relative(path)


@pytest.mark.parametrize("path", template_files(), ids=relative)
def test_template_has_no_event_handler_attribute(path):
    text = path.read_text()
    handlers = re.findall(r"<[^>]*?\son[a-z]+\s*=", text, re.I | re.S)
    assert handlers == [], f"on*= handler in {relative(path)}: {handlers}"


@pytest.mark.parametrize("path", template_files(), ids=relative)
def test_template_has_no_style_attribute_or_element(path):
    text = path.read_text()
    assert not re.search(r"<[^>]*?\sstyle\s*=", text, re.I | re.S), f"style= in {relative(path)}"
    assert not re.search(r"<style\b", text, re.I), f"<style> in {relative(path)}"


# --- Production settings ------------------------------------------------------------------------------------

PRODUCTION_KEYS = {
    "DJANGO_SECRET_KEY": "production-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "CERTBANK_FIELD_KEY": "cHJvZC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
    "CERTBANK_INDEX_KEY": "cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
    "CERTBANK_CA_PASSPHRASE": "prod-ca-passphrase-0123456789",
}
SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, settings.CERTBANK_DEMO_MODE)"


def run_production(tmp_path, **keys):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "CERTBANK_"))}
    env.update(DJANGO_ENV="production", DJANGO_SETTINGS_MODULE="bank.settings", CERTBANK_DATA_DIR=str(tmp_path), **keys)
    return subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    keys = {name: value for name, value in PRODUCTION_KEYS.items() if name != "DJANGO_SECRET_KEY"}
    result = run_production(tmp_path, **keys)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "dev-secrets.json").exists()  # no development fallback


@pytest.mark.parametrize("missing", ["CERTBANK_FIELD_KEY", "CERTBANK_INDEX_KEY", "CERTBANK_CA_PASSPHRASE"])
def test_production_refuses_to_start_without_the_field_keys(tmp_path, missing):
    keys = {name: value for name, value in PRODUCTION_KEYS.items() if name != missing}
    result = run_production(tmp_path, **keys)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_starts_with_its_secrets_and_without_debug_or_demo_pages(tmp_path):
    result = run_production(tmp_path, **PRODUCTION_KEYS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


# --- Demo pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nuri/demo/phone/", "/nuri/demo/otp/"])
def test_demo_pages_do_not_exist_outside_demo_mode(logged_in_client, settings, path):
    settings.CERTBANK_DEMO_MODE = False
    assert logged_in_client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/nuri/demo/phone/", "/nuri/demo/otp/"])
def test_demo_pages_do_not_exist_outside_demo_mode_for_visitors(client, banks, settings, path):
    settings.CERTBANK_DEMO_MODE = False
    assert client.get(path).status_code == 404


def test_demo_phone_shows_only_the_messages_of_the_phone_asked_for(client, make_customer, django_capture_on_commit_callbacks):
    from core.sms import sms_send

    with django_capture_on_commit_callbacks(execute=True):
        sms_send(phone="01012345678", body="for hong")
        sms_send(phone="01023456789", body="for younghee")
    body = client.get("/nuri/demo/phone/?phone=010-1234-5678").content.decode()
    assert "for hong" in body
    assert "for younghee" not in body
