"""Authorization sweep (issue 12 §4).

Every URL pattern Django resolves (tests/urlpatterns.py walks the root
resolver, the staff console and /ca/ included) is requested with its parameters
filled with *another* customer's identifiers: account numbers, transfer
numbers, certificate serials, favourite and device ids, copy and challenge
tokens, staff-console object ids. GET, and POST with plausible form data
(the identifiers, and for identity forms the victim's name, login ID and
RRN with a guessed PIN), as:

- an anonymous visitor;
- customers of the victim's bank and of other banks, at the victim's bank
  and at their own;
- staff of every role (flows.demo: the superuser, 창구 직원, 보안 책임자),
  and two more the console must hold to their permissions: one who may
  only view certificates, one with no permission at all.

Each request must leave nothing behind and show nothing:

- no answer (any status, body or headers, JSON unescaped) carries a
  victim's distinctive data: a rare name, login ID, phone, e-mail, masked
  RRN, balance, memo texts, account numbers, serials, fingerprints, transfer
  numbers, tokens, unless the request itself sent that value (an echo);
- no answer to anyone, staff included, carries a victim's RRN, its
  ciphertext or index, a PIN or password digest or an OTP key;
- staff open a console page of a model only when their role has the view
  (or change) permission for it, and change something only where
  STAFF_EDITS says their role's permissions allow it: both judged from the
  role's permissions, not from the console's own checks;
- no 5xx;
- nothing changes: row counts, every balance, the victims' customer rows,
  certificates, registrations, devices, grants, codes, copy sessions,
  pending challenges, and SMS and e-mail sent to them are compared with a
  snapshot after each request (each request runs in a savepoint that is
  rolled back, so every one starts from the same world).

A pattern that cannot be filled fails the coverage test unless SKIPPED
names it with a reason, so a new endpoint is swept as soon as it exists.
Demo mode is off, as in production (README: the demo phone page shows any
number's messages to anyone, by design and only in demo mode).
"""

import base64
import itertools
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection, transaction
from django.test import Client, TestCase
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Customer, DesignatedDevice, PhoneDevice, VerificationGrant
from bank.admin_site import staff_site
from banking.models import DepositAccount, FavouriteRecipient, LedgerEntry, Transfer
from certificates.challenges import challenge_consume, challenge_create
from certificates.exceptions import CertificateRefused
from certificates.login import certificate_login
from certificates.models import Certificate, CertificateRegistration, Challenge, CloudDevice, CloudKey, CopySession
from core.models import SmsMessage
from flows.views import StepUpView
from tests.certificates.conftest import sign
from tests.security import world as world_module
from tests.urlpatterns import UrlPattern, url_patterns

# Patterns not swept, with the reason. The coverage test fails on a pattern
# that is neither fillable nor listed here, and on a listed one that is gone.
SKIPPED: dict[str, str] = {}

# Changes a refused request may make, by URL name, with why they are not an authorization failure.
ALLOWED_CHANGES: dict[str, tuple[tuple[str, ...], str]] = {
    "accounts:login": (
        (r"^customer \d+ failed_login_count$",),
        "a wrong password for a known login ID counts toward its lock (README: anyone who knows the ID; §5 tests the lock)",
    ),
    "accounts:signup": (
        (r"^rows Customer$", r"^sms to "),
        "비대면 계좌개설 is open to anyone: an application stays inactive until the code sent to the phone typed is entered",
    ),
}

# --- The patterns ---------------------------------------------------------------------------------


class Pattern(UrlPattern):
    """A URL pattern (tests/urlpatterns.py) and what the sweep needs to know of it."""

    @property
    def params(self) -> list[str]:
        return [m.group(2) or m.group(3) for m in TOKEN.finditer(self.route)]

    @property
    def in_bank(self) -> bool:
        return self.route.startswith("<slug:bank>/")

    @property
    def admin_model(self) -> tuple[str, str] | None:
        match = re.match(r"staff/([a-z_]+)/([a-z_]+)/", self.route)
        if match and (match.group(1), match.group(2)) in ADMIN_MODELS:
            return match.group(1), match.group(2)
        return None

    @property
    def admin_view(self) -> str:
        """changelist, add, change, delete, history, config, qrcode, or "" (not a model view)."""
        if self.admin_model is None:
            return ""
        suffix = self.name.rsplit("_", 1)[-1] if self.name else ""
        return suffix if suffix in {"changelist", "add", "change", "delete", "history", "config", "qrcode"} else "redirect"

    @property
    def step_up(self) -> bool:
        view_class = getattr(self.callback, "view_class", None)
        return view_class is not None and issubclass(view_class, StepUpView)


TOKEN = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
ADMIN_MODELS = {(model._meta.app_label, model._meta.model_name): admin for model, admin in staff_site._registry.items()}


def all_patterns() -> list[Pattern]:
    return url_patterns(Pattern)


# --- Filling a pattern's parameters with a victim's identifiers ----------------------------------


@dataclass
class Target:
    """One victim, and what to fill their identifiers with."""

    victim: world_module.Victim
    ocsp_requests: list[str]
    content_types: list[tuple[int, int]]
    admin_ids: dict = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)
    target_data: dict = field(default_factory=dict)
    identity_data: dict = field(default_factory=dict)


def _ocsp_get(serial: str, issuer_der: bytes) -> str:
    """An OCSP GET path (RFC 6960 Appendix A) asking about the victim's certificate."""
    leaf = x509.load_der_x509_certificate(bytes(Certificate.objects.get(serial=serial).der))
    issuer = x509.load_der_x509_certificate(issuer_der)
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    return base64.b64encode(request.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _pk_source(route: str) -> str | None:
    """Which of a victim's lists fills an <int:pk> of this route."""
    for fragment, attribute in (("/favourites/", "favourites"), ("/devices/", "designated"), ("/totpdevice/", "totp_devices")):
        if fragment in route:
            return attribute
    return None


FILLED = {"bank", "slug", "number", "reference", "serial", "pk", "object_id", "encoded", "app_label", "url"}


def values_for(name: str, pattern: Pattern, target: Target, slugs: list[str]) -> list[str]:
    """The values to put for one URL parameter (FILLED names the parameters this knows)."""
    victim = target.victim
    if name in ("bank", "slug"):
        return slugs
    if name == "number":
        return target.numbers
    if name == "reference":
        return victim.references
    if name == "serial":
        return victim.serials
    if name == "pk":
        return [str(pk) for pk in getattr(victim, _pk_source(pattern.route))]
    if name == "object_id":
        return [str(pk) for pk in target.admin_ids.get(pattern.admin_model, [])]
    if name == "encoded":
        return target.ocsp_requests
    if name == "app_label":
        return sorted({app for app, _model in ADMIN_MODELS})
    if name == "url":
        customer_pk = victim.customer.pk
        return [f"accounts/customer/{customer_pk}", f"accounts/customer/{customer_pk}/change"]
    raise KeyError(name)


VIEW_ON_SITE = "staff/r/<path:content_type_id>/<path:object_id>/"


def fillable(pattern: Pattern) -> bool:
    """Whether every parameter of the pattern has a filler."""
    if pattern.route == VIEW_ON_SITE:
        return True
    for name in pattern.params:  # the cases values_for() knows
        if name not in FILLED:
            return False
        if name == "pk" and _pk_source(pattern.route) is None:
            return False
        if name == "object_id" and pattern.admin_model is None:
            return False
    return True


def urls_for(pattern: Pattern, target: Target, slugs: list[str]) -> list[str]:
    """Every URL of `pattern` for this victim (none when the victim has no such thing)."""
    if pattern.route == VIEW_ON_SITE:
        return [f"/staff/r/{ct}/{pk}/" for ct, pk in target.content_types]
    names = pattern.params
    choices = [values_for(name, pattern, target, slugs) for name in names]
    urls = []
    for combination in itertools.product(*choices):
        mapping = dict(zip(names, combination, strict=True))
        url = TOKEN.sub(lambda m: mapping[m.group(2) or m.group(3)], pattern.route)
        urls.append("/" + url.replace("^", "").rstrip("$"))
    return urls


# --- Plausible form data ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _ec_point() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def target_data(victim: world_module.Victim) -> dict:
    """What a form would carry to act on the victim's things (no personal data)."""
    account = victim.account
    cloud_devices = victim.admin_ids()[("certificates", "clouddevice")]
    return {
        "from_account": str(account.pk),
        "to_bank": victim.bank.code,
        "to_number": account.number,
        "amount": "10000",
        "memo_mine": "공격",
        "memo_theirs": "공격",
        "bank": victim.bank.code,
        "number": account.number,
        "serial": victim.serials[0],
        "token": (victim.copy_tokens or [""])[0],
        "challenge": (victim.challenges or ["A" * 43])[0],
        "certificate": _b64(victim.certificate_der),
        "signature": _b64(os.urandom(256)),
        "new_signature": _b64(os.urandom(256)),
        "public_key": _b64(os.urandom(294)),
        "r": _b64(os.urandom(20)),
        "verifier": _b64(os.urandom(32)),
        "old_verifier": _b64(os.urandom(32)),
        "new_verifier": _b64(os.urandom(32)),
        "new_verifier_salt": _b64(os.urandom(16)),
        "new_wrap_salt": _b64(os.urandom(16)),
        "wrapped_key": _b64(b"\x01" + os.urandom(12 + 1250 + 16)),
        "receiver_commitment": _b64(os.urandom(32)),
        "sender_public_key": _b64(_ec_point()),
        "receiver_public_key": _b64(_ec_point()),
        "ciphertext": _b64(os.urandom(200)),
        "device": str((cloud_devices or [0])[0]),
        "action": "remove",
        "confirm": "yes",
        "nickname": "공격",
        "purpose": "login",
        "code": "123456",
        "otp_code": "",
        "sms_code": "",
        "step": "finish",
        "next": "/",
    }


def identity_data(victim: world_module.Victim) -> dict:
    """What someone who knows the victim's name, login ID and RRN (not the PIN or password) types."""
    return {
        **target_data(victim),
        "step": "identity",
        "name": victim.customer.name,
        "login_id": victim.customer.login_id,
        "username": victim.customer.username,
        "rrn": victim.rrn,
        "account_number": victim.account.number,
        "pin": "0000",
        "phone": victim.customer.phone,
        "email": victim.customer.email,
        "password": "wrong-password-1",
        "password1": "New!Password2026",
        "password2": "New!Password2026",
        "agree": "on",
        "pin1": "1111",
        "pin2": "1111",
        "kind": "joint",
        "reason": "new",
    }


TAMPER = {
    "name": "변조된이름",
    "phone": "01000000000",
    "email": "tampered@example.com",
    "is_active": "on",
    "balance": "999999999",
    "amount": "1",
    "status": "revoked",
    "post": "yes",
    "old_password": "wrong-password",
    "new_password1": "Tampered!2026pw",
    "new_password2": "Tampered!2026pw",
    "language": "en",
    "next": "/",
}

ACTIONS = {
    ("accounts", "customer"): ["unlock_logins"],
    ("certificates", "certificate"): ["suspend_certificates", "restore_certificates", "revoke_certificates"],
}


def requests_for(pattern: Pattern, url: str, target: Target, *, outsider: bool) -> list[tuple[str, str, dict]]:
    """(method, url, data) to send for one URL. An `outsider` (a customer in
    the staff console, staff at a bank: signed in to neither) gets a GET and
    one POST with everything a form could name."""
    victim = target.victim
    sent = [("GET", url, {})]
    if outsider:
        tamper = {**TAMPER, "username": victim.customer.username, "password": "wrong-password"}
        return sent + [("POST", url, tamper if pattern.staff else target.identity_data)]
    if pattern.staff:
        sent.append(("GET", url, {"q": victim.customer.name, "term": victim.customer.name, "app_label": "accounts",
                                  "model_name": "customer", "field_name": "bank"}))  # fmt: skip
        if pattern.admin_view == "changelist":
            ids = [str(pk) for pk in target.admin_ids[pattern.admin_model]]
            for action in ["delete_selected", *ACTIONS.get(pattern.admin_model, [])]:
                data = {"action": action, "_selected_action": ids, "index": "0", "post": "yes", "reason": "key_compromise"}
                sent.append(("POST", url, data))
        else:
            sent.append(("POST", url, {**TAMPER, "username": victim.customer.username, "password": "wrong-password"}))
        return sent
    sent.append(("POST", url, target.target_data))
    sent.append(("POST", url, target.identity_data))
    if pattern.step_up:
        for step in ("send", "otp", "sms"):
            sent.append(("POST", url, {**target.target_data, "step": step}))
    return sent


# --- What a request may not leave behind ------------------------------------------------------------

CUSTOMER_FIELDS = [
    "name",
    "phone",
    "email",
    "is_active",
    "password",
    "login_id",
    "username",
    "last_login",
    "failed_login_count",
    "login_locked_at",
    "identity_failed_count",
    "identity_locked_at",
    "signup_completed_at",
    "rrn_index",
]


class Snapshot:
    """What a request may not change, read in one query: "kind id" -> value.

    Row counts of the tables that hold money, certificates and what a
    customer owns; every balance and PIN count; each victim's customer row
    field by field, grants, SMS code and OTP device; every certificate's
    status, registration, 금융인증서 key and device, designated device and
    favourite; the victims' copy sessions and pending challenge; and the
    SMS and e-mail sent to the victims."""

    COUNTED = (
        Customer,
        DepositAccount,
        LedgerEntry,
        Transfer,
        Certificate,
        CertificateRegistration,
        FavouriteRecipient,
        DesignatedDevice,
        CloudDevice,
        CloudKey,
    )

    def __init__(self, world: world_module.World):
        victims = [v.customer for v in world.victims]
        self.phones = sorted({c.phone for c in victims})
        self.emails = sorted({c.email for c in victims})
        self.parts: list[str] = []
        self.params: list = []
        q = connection.ops.quote_name
        for model in self.COUNTED:
            self.parts.append(f"SELECT 'rows {model.__name__}', CAST(COUNT(*) AS TEXT) FROM {q(model._meta.db_table)}")
        ids = [c.pk for c in victims]
        for name in CUSTOMER_FIELDS:
            self._rows(f"customer {{}} {name}", Customer, [name], "id", ids)
        self._rows("account {} balance", DepositAccount, ["balance"])
        self._rows("account {} pin", DepositAccount, ["pin_failed_count", "pin_locked_at"])
        self._rows("certificate {}", Certificate, ["serial", "status", "revocation_reason", "revoked_at", "not_after"])
        self._rows("registration {}", CertificateRegistration, ["certificate", "bank", "customer"])
        self._rows("cloud key {}", CloudKey, ["failed_pins", "locked_at", "verifier_digest", "updated_at"])
        self._rows("cloud device {}", CloudDevice, ["person_index", "device_digest", "last_used_at"])
        self._rows("designated {}", DesignatedDevice, ["customer", "token_digest"])
        self._rows("favourite {}", FavouriteRecipient, ["customer", "account", "nickname"])
        grant_fields = ["consumed_at", "expires_at", "identity_at", "account_pin_at", "otp_at", "sms_at"]
        self._rows("grant {}", VerificationGrant, grant_fields, "customer", ids)
        self._rows(
            "phone device {}",
            PhoneDevice,
            ["token", "valid_until", "throttling_failure_count", "bound_to", "number"],
            "user",
            ids,
        )
        self._rows("totp device {}", TOTPDevice, ["confirmed", "key", "last_t", "throttling_failure_count"], "user", ids)
        copy_fields = ["joined_at", "revealed_at", "uploaded_at", "downloaded_at", "cancelled_at", "sender_session_digest"]
        tokens = [t for v in world.victims for t in v.copy_tokens]
        self._rows("copy {}", CopySession, copy_fields, "token", tokens, extra=f"LENGTH({q('ciphertext')})")
        challenges = [t for v in world.victims for t in v.challenges]
        self._rows("challenge {}", Challenge, ["consumed_at"], "token", challenges)
        for phone in self.phones:
            self.parts.append(
                f"SELECT 'sms to {phone}', CAST(COUNT(*) AS TEXT) FROM {q(SmsMessage._meta.db_table)} WHERE phone = %s"
            )
            self.params.append(phone)
        self.sql = " UNION ALL ".join(self.parts)

    def _rows(self, key: str, model, fields, where_field=None, values=(), extra=None) -> None:
        q = connection.ops.quote_name
        columns = [f"COALESCE(CAST({q(model._meta.get_field(name).column)} AS TEXT), '-')" for name in fields]
        if extra:
            columns.append(f"CAST({extra} AS TEXT)")
        value = " || '|' || ".join(columns)
        pk = q(model._meta.pk.column)
        prefix, suffix = key.split("{}")
        sql = f"SELECT '{prefix}' || CAST({pk} AS TEXT) || '{suffix}', {value} FROM {q(model._meta.db_table)}"
        if where_field is not None:
            if not values:
                return
            column = q(model._meta.get_field(where_field).column)
            sql += f" WHERE {column} IN ({', '.join(['%s'] * len(values))})"
            self.params.extend(values)
        self.parts.append(sql)

    def take(self) -> dict[str, str]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            state = dict(cursor.fetchall())
        for email in self.emails:
            state[f"mail to {email}"] = str(sum(email in message.to for message in mail.outbox))
        return state


def changed(before: dict, after: dict) -> list[str]:
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def _change_allowed(pattern: Pattern, key: str) -> bool:
    allowed, _reason = ALLOWED_CHANGES.get(pattern.name, ((), ""))
    return any(re.search(expression, key) for expression in allowed)


# --- What an answer may not show ---------------------------------------------------------------------


def _body(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    headers = " ".join(f"{k}: {v}" for k, v in response.items()).encode()
    return content + b"\n" + headers


def _forms(text: str) -> list[bytes]:
    forms = {text.encode(), json.dumps(text)[1:-1].encode()}
    return [form for form in forms if form]


def _request_text(url: str, data: dict) -> str:
    values = [url]
    for value in data.values():
        values += value if isinstance(value, list) else [str(value)]
    return "\n".join(values)


def markers_shown(body: bytes, request_text: str, markers: dict[str, str], world: world_module.World) -> list[str]:
    """The labels of the markers in `body` that the request did not send itself."""
    known = request_text
    for victim in world.victims:
        if _b64(victim.certificate_der) in request_text:
            # The sender holds this public certificate: its subject and serial are no news to them.
            known += "\n" + victim.customer.name + "\n" + "\n".join(victim.serials)
        if victim.rrn in request_text:
            known += "\n" + victim.customer.rrn_masked
        if victim.customer.phone in request_text:
            known += "\n" + victim.customer.masked_phone
        for digits, printed in victim.account_numbers:
            if digits in request_text or printed in request_text:
                known += f"\n{digits}\n{printed}"
    shown = []
    for label, text in markers.items():
        if not text or text in known:
            continue
        if any(form in body for form in _forms(text)):
            shown.append(label)
    return shown


# --- The sweep ---------------------------------------------------------------------------------


@dataclass
class Baseline:
    snapshot: Snapshot
    state: dict
    markers: dict  # every victim's markers, labelled "<login ID> <label>"
    secrets: dict


@dataclass
class Actor:
    label: str
    client: Client
    bank_slug: str | None = None  # a customer's own bank
    staff: world_module.StaffMember | None = None


@dataclass
class Report:
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    covered: set = field(default_factory=set)
    failures: list = field(default_factory=list)
    authorised_changes: Counter = field(default_factory=Counter)
    allowed_changes: Counter = field(default_factory=Counter)

    def fail(self, actor, method, url, problem):
        self.failures.append(f"{actor.label} {method} {url}: {problem}")


# What staff may change in the console, and the permission each needs
# (certificates/apps.py gives the roles their permissions; README "staff
# console"). Everything else there is read-only: ledgers, transfers,
# accounts, audit rows, banks, SMS, registrations, devices; certificates
# change only through their actions; customers are neither added nor deleted.
STAFF_EDITS = {
    ("accounts", "customer", "change"): "accounts.change_customer",
    ("accounts", "customer", "unlock_logins"): "accounts.change_customer",
    ("certificates", "certificate", "suspend_certificates"): "certificates.suspend_certificate",
    ("certificates", "certificate", "restore_certificates"): "certificates.suspend_certificate",
    ("certificates", "certificate", "revoke_certificates"): "certificates.revoke_certificate",
    ("otp_totp", "totpdevice", "change"): "otp_totp.change_totpdevice",
    ("otp_totp", "totpdevice", "delete"): "otp_totp.delete_totpdevice",
    ("otp_totp", "totpdevice", "delete_selected"): "otp_totp.delete_totpdevice",
}


# No request of the sweep moves money, whoever sends it (staff included).
MONEY = re.compile(r"^account \d+ balance$|^rows (LedgerEntry|Transfer|DepositAccount)$")


def _staff_may_change(pattern: Pattern, member: world_module.StaffMember | None, data: dict) -> bool:
    if pattern.admin_model is None or member is None:
        return False
    what = data.get("action", "") if pattern.admin_view == "changelist" else pattern.admin_view
    permission = STAFF_EDITS.get((*pattern.admin_model, what))
    return permission is not None and member.user.has_perm(permission)


def _staff_may_view(pattern: Pattern, member: world_module.StaffMember | None) -> bool:
    """The role's permissions, not the console's code, say what it may see."""
    if pattern.admin_model is None or member is None:
        return False
    app, model = pattern.admin_model
    return member.user.has_perm(f"{app}.view_{model}") or member.user.has_perm(f"{app}.change_{model}")


def send(world, baseline, report: Report, actor: Actor, pattern: Pattern, method: str, url: str, data: dict) -> None:
    client = actor.client
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    mails = len(mail.outbox)
    with transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = client.get(url, data) if method == "GET" else client.post(url, data)
        after = baseline.snapshot.take()
        transaction.set_rollback(True)
    client.cookies = SimpleCookie(cookies)
    del mail.outbox[mails:]
    report.requests[actor.label] += 1
    report.statuses[response.status_code] += 1
    report.covered.add(pattern.route)

    if response.status_code >= 500:
        report.fail(actor, method, url, f"status {response.status_code}")
    body = _body(response)
    request_text = _request_text(url, data)
    for label in markers_shown(body, request_text, baseline.secrets, world):
        report.fail(actor, method, url, f"shows the {label}")
    may_view = _staff_may_view(pattern, actor.staff)
    if pattern.admin_model is not None and actor.staff is not None and response.status_code == 200 and not may_view:
        report.fail(actor, method, url, f"opened without permission to view {pattern.admin_model}")
    if not may_view:
        for label in markers_shown(body, request_text, baseline.markers, world):
            report.fail(actor, method, url, f"{response.status_code} shows {label}")
    diff = changed(baseline.state, after)
    if any(MONEY.search(key) for key in diff):
        report.fail(actor, method, url, f"moved money: {[key for key in diff if MONEY.search(key)]}")
    elif diff and method == "POST" and _staff_may_change(pattern, actor.staff, data):
        report.authorised_changes[f"{actor.label} {pattern.name or pattern.route} {data.get('action', '')}".strip()] += 1
    elif diff:
        refused = [key for key in diff if not _change_allowed(pattern, key)]
        if not refused:
            report.allowed_changes[pattern.name] += 1
        else:
            shown = ", ".join(f"{key}: {baseline.state.get(key)!r} -> {after.get(key)!r}" for key in refused[:4])
            report.fail(actor, method, url, f"{response.status_code} changed {shown}")


def target(victim, issuer_der) -> Target:
    content_types = [
        (ContentType.objects.get_for_model(Customer).pk, victim.customer.pk),
        (ContentType.objects.get_for_model(Certificate).pk, Certificate.objects.filter(serial=victim.serials[0]).get().pk),
    ]
    return Target(
        victim=victim,
        ocsp_requests=[_ocsp_get(serial, issuer_der) for serial in victim.serials],
        content_types=content_types,
        admin_ids=victim.admin_ids(),
        numbers=victim.numbers,
        target_data=target_data(victim),
        identity_data=identity_data(victim),
    )


def sweep(world, actors: list[Actor], patterns: list[Pattern]) -> Report:
    issuer = Client().get("/ca/issuing.der").content
    targets = [target(victim, issuer) for victim in (world.victims[0], world.victims[2])]
    snapshot = Snapshot(world)
    baseline = Baseline(
        snapshot=snapshot,
        state=snapshot.take(),
        markers={f"{v.customer.login_id} {label}": text for v in world.victims for label, text in v.markers.items()},
        secrets={f"{v.customer.login_id} {label}": text for v in world.victims for label, text in v.secrets.items()},
    )
    report = Report()
    for pattern in patterns:
        if pattern.route in SKIPPED:
            continue
        for actor in actors:
            sent = set()
            outsider = pattern.staff != (actor.staff is not None)
            for tgt in targets:
                slugs = [tgt.victim.bank.slug]
                if pattern.in_bank and actor.bank_slug and actor.bank_slug != tgt.victim.bank.slug:
                    slugs.append(actor.bank_slug)
                urls = urls_for(pattern, tgt, slugs)
                if outsider and sent and urls:
                    break  # an outsider needs one victim's URLs (the first that has any)
                for url in urls:
                    for method, address, data in requests_for(pattern, url, tgt, outsider=outsider):
                        key = (method, address, json.dumps(data, sort_keys=True))
                        if key in sent:
                            continue
                        sent.add(key)
                        send(world, baseline, report, actor, pattern, method, address, data)
    return report


def summary(report: Report, patterns: list[Pattern], seconds: float) -> str:
    swept = [p for p in patterns if p.route not in SKIPPED]
    return (
        f"\n{len(report.covered)}/{len(swept)} patterns swept ({len(SKIPPED)} skipped), "
        f"{sum(report.requests.values())} requests in {seconds:.1f} s: {dict(report.requests)}; "
        f"statuses {dict(sorted(report.statuses.items()))}; "
        f"authorised staff changes {dict(report.authorised_changes)}; "
        f"allowed changes {dict(report.allowed_changes)}; {len(report.failures)} failures"
    )


def assert_clean(report: Report, patterns: list[Pattern]) -> None:
    missing = {p.route for p in patterns if p.route not in SKIPPED} - report.covered
    problems = report.failures + [f"not swept: {route}" for route in sorted(missing)]
    assert problems == [], "\n".join(problems[:80]) + (f"\n... and {len(problems) - 80} more" if len(problems) > 80 else "")


@pytest.fixture
def world(db, test_ca, rsa_keys, settings, django_capture_on_commit_callbacks):
    settings.CERTBANK_DEMO_MODE = False  # as in production (the module docstring)
    with django_capture_on_commit_callbacks(execute=True):
        built = world_module.build(rsa_keys)
    # Then the clock stands still: sessions cannot idle out while the sweep
    # runs, and every request sees the same world.
    with time_machine.travel(timezone.now(), tick=False):
        yield built


# --- The tests ----------------------------------------------------------------------------------


def test_every_url_pattern_is_swept_or_skipped_with_a_reason():
    patterns = all_patterns()
    routes = {p.route for p in patterns}
    unfillable = [p.route for p in patterns if p.route not in SKIPPED and not fillable(p)]
    assert unfillable == [], f"no filler for the parameters of {unfillable}: teach values_for() or give SKIPPED a reason"
    assert set(SKIPPED) <= routes, f"SKIPPED names patterns that are gone: {set(SKIPPED) - routes}"
    assert all(reason.strip() for reason in SKIPPED.values())
    assert len(patterns) > 100 and any(p.staff for p in patterns) and any(p.route.startswith("ca/") for p in patterns)


@pytest.mark.parametrize("stranger", ["another session", "another purpose", "another bank"])
def test_a_stranger_holding_a_challenge_token_cannot_use_it_up(holder, banks, stranger):
    """Found by the sweep: a certificate login from another session, carrying
    the token of someone's pending challenge, used that challenge up (the
    holder's signature was then refused as a replay)."""
    mine = "the holder's session"
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=holder.customer.bank, session_key=mine)
    signature = sign(holder.key, bytes(challenge.to_sign))
    attempt = {
        "another session": dict(bank=holder.customer.bank, session_key="a stranger's session", purpose=Challenge.Purpose.LOGIN),
        "another purpose": dict(bank=holder.customer.bank, session_key=mine, purpose=Challenge.Purpose.TRANSFER),
        "another bank": dict(bank=banks["902"], session_key=mine, purpose=Challenge.Purpose.LOGIN),
    }[stranger]
    with pytest.raises(CertificateRefused):
        challenge_consume(token=challenge.token, **attempt)
    assert Challenge.objects.get(pk=challenge.pk).consumed_at is None
    customer = certificate_login(
        bank=holder.customer.bank, session_key=mine, token=challenge.token, certificate_der=holder.der, signature=signature
    )
    assert customer == holder.customer


@pytest.mark.slow
def test_the_sweep_fills_real_identifiers(world):
    """The victims' own browsers open what the sweep names: the 404s others get are not for made-up ids."""
    v1 = world.victims[0]
    client = v1.client
    slug = v1.bank.slug
    number = v1.account.number
    reference = v1.references[0]
    joint = Certificate.objects.get(serial__in=v1.serials, kind=Certificate.Kind.JOINT, issuing_bank=v1.bank).serial
    pages = {
        f"/{slug}/accounts/{number}/": v1.markers[f"balance {number}"],
        f"/{slug}/accounts/{number}/history.csv": v1.markers["memo (mine)"],
        f"/{slug}/transfer/{reference}/": v1.markers["memo (mine)"],
        f"/{slug}/transfer/{reference}/signed.txt": v1.markers["memo (theirs)"],
        f"/{slug}/transfer/": v1.markers["favourite nickname"],
        f"/{slug}/devices/": v1.markers["device name"],
        f"/{slug}/certificates/{joint}/": v1.markers[f"fingerprint {joint}"],
    }
    for url, marker in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert marker in _body(response).decode("utf-8", "replace"), (url, marker)
    assert client.get(f"/{slug}/transfer/{reference}/receipt.p7s").status_code == 200
    for serial in v1.serials:
        assert client.get(f"/{slug}/certificates/{serial}/signCert.der").status_code == 200
    officer = next(member for member in world.staff if member.role == "officer")
    body = officer.client.get(f"/staff/accounts/customer/{v1.customer.pk}/change/").content.decode()
    assert v1.customer.name in body and v1.customer.rrn_masked in body and v1.rrn not in body


@pytest.mark.slow
def test_anonymous_visitors_and_other_customers_see_and_change_nothing_of_a_victim(world):
    actors = [Actor("anonymous", Client(raise_request_exception=False))] + [
        Actor(f"customer of {a.bank.code}", a.client, bank_slug=a.bank.slug) for a in world.attackers
    ]
    patterns = all_patterns()
    started = time.monotonic()
    report = sweep(world, actors, patterns)
    print(summary(report, patterns, time.monotonic() - started))
    for attacker in world.attackers:  # still logged in at the end: the sweep ran as them
        assert attacker.client.get(f"/{attacker.bank.slug}/accounts/").status_code == 200
    assert_clean(report, patterns)


@pytest.mark.slow
def test_staff_see_and_change_only_what_their_role_allows(world):
    actors = [Actor(f"staff {m.role}", m.client, staff=m) for m in world.staff]
    patterns = all_patterns()
    started = time.monotonic()
    report = sweep(world, actors, patterns)
    print(summary(report, patterns, time.monotonic() - started))
    for member in world.staff:
        assert member.client.get("/staff/").status_code == 200  # still logged in: the sweep ran as them
    # The console did let the roles do what they may (the sweep saw it, then rolled it back).
    done = " ".join(report.authorised_changes)
    assert "staff teller" in done and "suspend_certificates" in done
    assert "staff officer admin:accounts_customer_change" in done and "revoke_certificates" in done
    assert "staff viewer" not in done and "staff nobody" not in done
    assert_clean(report, patterns)
