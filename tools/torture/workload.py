"""The clients: threads of browser-like customers doing signed transfers.

Each client thread has its own seeded random stream and keeps one browser
session per customer it acts for (so one customer is often logged in on
several "devices" at once). Operations, picked at random:

- transfer: form → 수취인 조회/review (the exact text to sign) → sign → POST;
- pair: A→B and B→A posted at the same moment (opposite directions);
- overdraft: two transfers that together exceed the balance, posted at once;
- double: one signed request posted two or three times at once;
- replay: an old signed request again, an old signature on a fresh
  challenge, or another session's signed request;
- balance / history reads (the page, another page, the CSV);
- relogin: log out and in again.

Failures are handled as a careful person would: a page that fails is
fetched again; when the answer to the signed POST is lost or is an error,
the person looks at the account history for the memo they typed before
doing anything else, and only if the transfer is not there starts again
with a fresh review page and a new signature. Money is never sent twice
blindly: a transfer intent (its unique memo) is applied at most once, and
the checker verifies that from the database.
"""

from __future__ import annotations

import base64
import cProfile
import csv
import io
import os
import random
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from certificates.client.protocol import sign_pkcs1
from tools.torture.browser import Answer, Browser, ConnectionLost, Journal, b64, review_fields
from tools.torture.world import Person

OPERATIONS = {
    "transfer": 50,
    "pair": 9,
    "overdraft": 5,
    "double": 7,
    "replay": 6,
    "balance": 10,
    "history": 10,
    "relogin": 3,
}
MAX_ATTEMPTS = 6
SETTLE_SECONDS = 1.0  # after a lost answer, wait before reading the history (the commit may be on its way)


@dataclass
class Intent:
    """One transfer a person means to make; the memo names it in their history."""

    memo: str
    sender: Person
    recipient: Person
    amount: int
    operation: str
    reference: str = ""
    applied: bool | None = None  # True: landed; False: certainly not; None: unknown
    outcome: str = ""
    attempts: int = 0
    last: Prepared | None = None  # the latest signed request made for it


@dataclass
class Prepared:
    intent: Intent
    token: str
    signature: bytes
    sms_code: str = ""


@dataclass
class SignedRequest:
    person: int
    token: str
    signature: bytes
    reference: str


class Refused(Exception):
    def __init__(self, code: str, message: str = ""):
        self.code, self.message = code, message
        super().__init__(f"{code}: {message[:80]}")


class Faulted(Exception):
    """A page failed (5xx or no answer): fetch it again."""


class LoggedOut(Exception):
    """The session is gone (idle logout, or a fault lost it): log in again."""


@dataclass
class Shared:
    people: list[Person]
    base_url: str | list[str]  # several: the web nodes, taken in turn (Browser)
    journal: Journal
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    signed: list[SignedRequest] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)
    hot_senders: list[int] = field(default_factory=list)
    hot_recipients: list[int] = field(default_factory=list)

    def outcome(self, operation: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(operation, outcome)] += 1

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def sample(self, key: str, text: str) -> None:
        with self.lock:
            self.samples.setdefault(key, text[:300])


_FORM_REFUSALS = [
    ("잔액이 부족", "insufficient_funds"),
    ("1일 이체한도", "daily_limit_exceeded"),
    ("1회 이체한도", "transfer_limit_exceeded"),
    ("수취인 조회", "recipient_lookup_throttled"),
]
_OPTION_BALANCE = re.compile(r'<option value="(\d+)"[^>]*>[^<]*\(([\d,]+)원\)</option>')
# Refusals of the signed POST that end the intent: the bank said no, and nothing moved.
FINAL_REFUSALS = {
    "insufficient_funds",
    "insufficient_funds_for_transfer",
    "daily_limit_exceeded",
    "transfer_limit_exceeded",
    "extra_auth_required",
    "sms_code_invalid",
    "sms_code_expired",
}


def _path(answer: Answer) -> str:
    return urllib.parse.urlsplit(answer.url).path


def _title(html: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", html)
    return found.group(1).strip() if found else html[:120]


def _form_refusal(html: str) -> str:
    for needle, code in _FORM_REFUSALS:
        if needle in html:
            return code
    return "form_other"


class Client(threading.Thread):
    def __init__(self, index: int, shared: Shared, sms_reader, *, clients: int):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.shared = shared
        self.rng = random.Random(f"{shared.seed}:client:{index}")  # noqa: S311 - a workload, not a secret
        # The customers this client acts for: each customer is on about three
        # clients ("devices"), so one customer is often busy on two at once.
        groups = max(1, clients // 3)
        self.mine = [p for p in shared.people if p.index % groups == index % groups] or shared.people
        self.browsers: dict[int, Browser] = {}
        self.recent: dict[int, list[SignedRequest]] = {}
        self.sms_reader = sms_reader
        self.serial = 0
        self.error: BaseException | None = None

    # --- sessions -----------------------------------------------------------------------------

    def browser(self, person: Person) -> Browser:
        browser = self.browsers.get(person.index)
        if browser is None:
            browser = Browser(
                self.shared.base_url, person.bank_slug, device_token=person.device_token, journal=self.shared.journal
            )
            self.browsers[person.index] = browser
        if not browser.logged_in:
            self.login(person, browser)
        return browser

    def login(self, person: Person, browser: Browser) -> None:
        for attempt in range(MAX_ATTEMPTS * 2):
            try:
                answer = browser.login(person.certificate_der, person.private_key)
            except ConnectionLost:
                answer = None
            if browser.logged_in:
                self.shared.outcome("login", "ok" if attempt == 0 else "ok_after_retry")
                return
            if answer is not None and 400 <= answer.status < 500 and not (answer.status == 400 and answer.is_page):
                self.shared.violation(
                    f"certificate login of {person.login_id} refused: {answer.status} at {_path(answer)} "
                    f"(request id {answer.request_id}): {_title(answer.text)}"
                )
                break
            time.sleep(0.2 * (attempt + 1))
        self.shared.outcome("login", "failed")
        raise Faulted("login failed")

    def logged_out(self, answer: Answer, person: Person) -> bool:
        """The session is gone: a JSON 401, or a redirect to the login page or to the
        bank's front page (where the 10-minute idle logout sends a session)."""
        path = _path(answer)
        return answer.status == 401 or "/login/" in path or path == f"/{person.bank_slug}/"

    def page(self, person: Person, path: str, *, form: dict | None = None) -> Answer:
        """GET (or POST a form to) a page the way a person does: a failed page is
        loaded again, a lost session logged in again."""
        for attempt in range(MAX_ATTEMPTS):
            browser = self.browser(person)
            try:
                answer = browser.post_form(path, form) if form is not None else browser.get(path)
            except ConnectionLost:
                time.sleep(0.2 * (attempt + 1))
                continue
            if answer.status >= 500 or (answer.status == 400 and answer.is_page):
                # An error page (a 400 page is what Django shows when the session
                # could not be saved): load it again, as a person would.
                time.sleep(0.2 * (attempt + 1))
                continue
            if self.logged_out(answer, person):
                browser.logged_in = False
                if form is not None:
                    raise LoggedOut()
                continue
            return answer
        raise Faulted(path)

    # --- choosing ----------------------------------------------------------------------------

    def pick_sender(self) -> Person:
        hot = [p for p in self.mine if p.index in self.shared.hot_senders]
        if hot and self.rng.random() < 0.08 * len(self.shared.people) / len(self.mine):
            return self.rng.choice(hot)
        while True:
            person = self.rng.choice(self.mine)
            if person.designated or self.rng.random() < 0.5:
                return person

    def pick_mine(self, other_than: Person | None = None) -> Person:
        while True:
            person = self.rng.choice(self.mine)
            if other_than is None or person.index != other_than.index or len(self.mine) == 1:
                return person

    def pick_recipient(self, sender: Person) -> Person:
        people = self.shared.people
        while True:
            if self.rng.random() < 0.35:
                person = people[self.rng.choice(self.shared.hot_recipients)]
            else:
                person = self.rng.choice(people)
            if person.index != sender.index:
                return person

    def pick_amount(self, sender: Person) -> int:
        roll = self.rng.random()
        if sender.index in self.shared.hot_senders or roll < 0.80:
            return self.rng.randrange(1_000, 30_000, 100)
        if not sender.designated and roll > 0.95:
            return self.rng.randrange(1_000_000, 2_900_000, 10_000)  # toward the 3,000,000원 a day SMS check
        if roll < 0.98:
            return self.rng.randrange(30_000, 300_000, 1_000)
        return self.rng.randrange(300_000, 2_000_000, 10_000)

    def intent(self, operation: str, sender: Person, recipient: Person | None = None, amount: int | None = None) -> Intent:
        self.serial += 1
        intent = Intent(
            memo=f"T{self.index:02d}{self.serial:07d}",
            sender=sender,
            recipient=recipient or self.pick_recipient(sender),
            amount=amount or self.pick_amount(sender),
            operation=operation,
        )
        with self.shared.lock:
            self.shared.intents.append(intent)
        return intent

    # --- the transfer steps ------------------------------------------------------------------

    def prepare(self, intent: Intent) -> Prepared:
        """Form → review → (SMS code) → signature. Raises Refused at the form step."""
        person = intent.sender
        if self.rng.random() < 0.3:
            self.page(person, "transfer/")
        fields = {
            "from_account": str(person.account_id),
            "to_bank": intent.recipient.bank_code,
            "to_number": intent.recipient.account_number,
            "amount": f"{intent.amount:,}" if self.rng.random() < 0.3 else str(intent.amount),
            "memo_mine": intent.memo,
            "memo_theirs": person.login_id,
        }
        answer = self.page(person, "transfer/", form=fields)
        review = self.review(intent, answer)
        if review.get("needs_sms"):
            review = self.sms_step(intent, review)
        to_sign = base64.b64decode(review["to-sign"])
        text = to_sign.decode("utf-8")
        # What you see is what you sign: the person reads the text before signing.
        if f"금액: {intent.amount:,}원" not in text or f"메모(내 통장): {intent.memo}" not in text:
            self.shared.violation(f"review text does not show what {intent.memo} entered: {text!r}")
            raise Refused("text_mismatch")
        return Prepared(intent, review["challenge"], sign_pkcs1(person.private_key, to_sign), review.get("sms", ""))

    def review(self, intent: Intent, answer: Answer) -> dict:
        if answer.status == 200 and _path(answer).endswith("/transfer/review/"):
            fields = review_fields(answer.text)
            if "challenge" in fields and "to-sign" in fields:
                fields["needs_sms"] = "data-sms-code" in answer.text
                return fields
            raise Faulted("review page without a challenge")
        if _path(answer).endswith("/transfer/"):
            code = _form_refusal(answer.text)
            if code == "form_other":
                self.shared.sample(f"form refusal {answer.status} {answer.request_id}", _title(answer.text))
            raise Refused(code)
        raise Faulted(f"unexpected {answer.status} at {_path(answer)}")

    def sms_step(self, intent: Intent, review: dict) -> dict:
        """The extra SMS check: ask for the code, read it on the phone, enter it."""
        before = self.sms_reader.last_id(intent.sender.phone)
        answer = self.page(intent.sender, "transfer/review/", form={"action": "send_sms"})
        code = self.sms_reader.code_after(intent.sender.phone, before, wait=3.0)
        if code is None:
            self.shared.outcome("sms_check", "no_code_sent")
            raise Refused("sms_not_sent")  # e.g. the resend cooldown: the person gives up for now
        self.shared.outcome("sms_check", "code_read_on_the_phone")
        review = self.review(intent, answer)
        review["sms"] = code
        return review

    def post_signed(self, intent: Intent, token: str, signature: bytes, sms_code: str = "") -> Answer:
        browser = self.browser(intent.sender)
        return browser.post(
            "transfer/sign/",
            {
                "challenge": token,
                "certificate": b64(intent.sender.certificate_der),
                "signature": b64(signature),
                "otp_code": "",
                "sms_code": sms_code,
            },
        )

    def in_history(self, person: Person, memo: str) -> bool | None:
        """Whether the account history shows a debit with this memo (None: could not tell)."""
        for attempt in range(MAX_ATTEMPTS * 2):
            try:
                answer = self.page(person, f"accounts/{person.account_number}/history.csv?period=1w&direction=debit")
            except Faulted:
                time.sleep(0.3 * (attempt + 1))
                continue
            if answer.status != 200:
                self.shared.sample(f"history {answer.status}", answer.text)
                return None
            rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
            return any(len(row) > 3 and row[3] == memo for row in rows[1:])
        return None

    def settle(self, intent: Intent, answer: Answer | ConnectionLost) -> str:
        """What to do with the answer to the signed POST: 'ok', 'refused', 'retry' or 'unknown'."""
        if isinstance(answer, Answer) and self.logged_out(answer, intent.sender):
            # Logged out before the view ran (idle logout, a lost session): nothing was paid.
            self.browsers[intent.sender.index].logged_in = False
            return "retry"
        if isinstance(answer, Answer) and answer.status == 200:
            reference = answer.json().get("reference", "")
            if not reference:
                self.shared.violation(f"{intent.memo}: 200 without a reference: {answer.text[:200]}")
                return "unknown"
            if intent.reference and intent.reference != reference:
                self.shared.violation(f"{intent.memo}: paid twice: {intent.reference} and {reference}")
            intent.reference, intent.applied = reference, True
            return "ok"
        if isinstance(answer, Answer) and 400 <= answer.status < 500 and "code" in answer.json():
            code = answer.json()["code"]
            if code == "no_draft":
                return "retry"  # the session lost the review (a fault while it was saved): start again
            if code not in FINAL_REFUSALS:
                self.shared.sample(f"sign refusal {code}", answer.text)
            intent.outcome = f"refused:{code}"
            return "refused"
        # A 5xx, an error page or no answer: did it land? Look before doing anything else.
        time.sleep(SETTLE_SECONDS)
        landed = self.in_history(intent.sender, intent.memo)
        if landed:
            intent.applied = True
            intent.outcome = "landed_despite_error"
            return "landed"
        if landed is None:
            intent.outcome = "unknown"
            return "unknown"
        return "retry"

    def run_intent(self, intent: Intent, answer: Answer | ConnectionLost | None = None) -> None:
        """Carry one intent to its end with the careful person's retries. `answer`:
        the answer to a signed POST the caller already made (that attempt counted)."""
        result = "gave_up"
        while True:
            if answer is None:
                if intent.attempts >= MAX_ATTEMPTS:
                    intent.outcome = intent.outcome or "gave_up"
                    result = "gave_up"
                    break
                intent.attempts += 1
                try:
                    intent.last = self.prepare(intent)
                except Refused as refusal:
                    intent.outcome = f"refused_at_form:{refusal.code}"
                    result = "refused"
                    break
                except (Faulted, LoggedOut):
                    time.sleep(0.2)
                    continue
                try:
                    answer = self.post_signed(intent, intent.last.token, intent.last.signature, intent.last.sms_code)
                except ConnectionLost as lost:
                    answer = lost
            result = self.settle(intent, answer)
            answer = None
            if result != "retry":
                break
        if result == "ok":
            intent.outcome = "ok" if intent.attempts <= 1 else "ok_after_retry"
            self.remember(intent)
        elif result == "refused":
            intent.applied = False
        self.shared.outcome(intent.operation, intent.outcome)

    def remember(self, intent: Intent) -> None:
        """Keep the signed request that paid, for the replays."""
        if intent.last is None or not intent.reference:
            return
        signed = SignedRequest(intent.sender.index, intent.last.token, intent.last.signature, intent.reference)
        kept = self.recent.setdefault(intent.sender.index, [])
        kept.append(signed)
        del kept[:-8]
        with self.shared.lock:
            self.shared.signed.append(signed)
            if len(self.shared.signed) > 500:
                del self.shared.signed[:100]

    def first_attempt(self, intent: Intent) -> Prepared | None:
        """Prepare an intent for a simultaneous POST. A refusal ends it; a failure
        hands it to run_intent (which carries it through alone)."""
        intent.attempts += 1
        try:
            intent.last = self.prepare(intent)
            return intent.last
        except Refused as refusal:
            intent.applied, intent.outcome = False, f"refused_at_form:{refusal.code}"
            self.shared.outcome(intent.operation, intent.outcome)
        except (Faulted, LoggedOut):
            self.run_intent(intent)
        return None

    # --- operations --------------------------------------------------------------------------

    def op_transfer(self) -> None:
        intent = self.intent("transfer", self.pick_sender())
        self.run_intent(intent)
        if intent.applied and self.rng.random() < 0.1:
            try:
                self.page(intent.sender, f"transfer/{intent.reference}/")  # the 이체확인증
            except (Faulted, LoggedOut):
                pass

    def op_pair(self) -> None:
        a = self.pick_sender()
        b = self.pick_mine(other_than=a)
        there = self.intent("pair", a, b)
        back = self.intent("pair", b, a)
        prepared = [p for p in (self.first_attempt(there), self.first_attempt(back)) if p is not None]
        answers = concurrently([lambda p=p: self.post_signed(p.intent, p.token, p.signature, p.sms_code) for p in prepared])
        for p, answer in zip(prepared, answers, strict=True):
            self.run_intent(p.intent, answer=answer)

    def op_overdraft(self) -> None:
        poor = [p for p in self.mine if p.poor]
        sender = self.rng.choice(poor) if poor and self.rng.random() < 0.8 else self.pick_sender()
        try:
            page = self.page(sender, "transfer/")
        except Faulted:
            self.shared.outcome("overdraft", "page_failed")
            return
        balances = {int(pk): int(amount.replace(",", "")) for pk, amount in _OPTION_BALANCE.findall(page.text)}
        balance = balances.get(sender.account_id)
        if balance is None:
            self.shared.sample("overdraft: no balance on the form", page.text)
            self.shared.outcome("overdraft", "no_balance_shown")
            return
        if balance < 4_000:
            # Nothing to race with: try more than there is, which the form refuses.
            intent = self.intent("overdraft", sender, amount=balance + 10_000)
            self.run_intent(intent)
            return
        amount = min(max(1_000, (balance * 6 // 10) // 100 * 100), 2_000_000)
        first = self.intent("overdraft", sender, amount=amount)
        second = self.intent("overdraft", sender, recipient=self.pick_recipient(sender), amount=amount)
        prepared = [p for p in (self.first_attempt(first), self.first_attempt(second)) if p is not None]
        answers = concurrently([lambda p=p: self.post_signed(p.intent, p.token, p.signature, p.sms_code) for p in prepared])
        for p, answer in zip(prepared, answers, strict=True):
            self.run_intent(p.intent, answer=answer)

    def op_double(self) -> None:
        intent = self.intent("double", self.pick_sender())
        prepared = self.first_attempt(intent)
        if prepared is None:
            return
        copies = self.rng.choice([2, 2, 3])
        answers = concurrently([lambda: self.post_signed(intent, prepared.token, prepared.signature, prepared.sms_code)] * copies)
        references = {a.json().get("reference") for a in answers if isinstance(a, Answer) and a.status == 200}
        if len(references) > 1:
            self.shared.violation(f"{intent.memo}: one signed challenge paid {len(references)} times: {sorted(references)}")
        statuses = Counter("lost" if isinstance(a, ConnectionLost) else a.status for a in answers)
        self.shared.outcome("double_submit_answers", "+".join(f"{n}x{s}" for s, n in sorted(statuses.items(), key=str)))
        # What the person sees is the answer that says most: a payment, else a refusal
        # with its reason (not the "already used" of the copy that came second).
        ok = next((a for a in answers if isinstance(a, Answer) and a.status == 200), None)
        reason = next(
            (a for a in answers if isinstance(a, Answer) and a.json().get("code") not in (None, "challenge_replayed")), None
        )
        self.run_intent(intent, answer=ok or reason or answers[0])

    def op_replay(self) -> None:
        kind = self.rng.choice(["same_session", "fresh_challenge", "other_session"])
        if kind == "other_session":
            with self.shared.lock:
                signed = self.rng.choice(self.shared.signed) if self.shared.signed else None
            if signed is None:
                return
            owner = self.shared.people[signed.person]
            victim = self.pick_mine(other_than=owner)
            self.replay_expect_refusal("replay_other_session", victim, signed, owner.certificate_der)
            return
        candidates = [i for i, items in self.recent.items() if items]
        if not candidates:
            return
        person = self.shared.people[self.rng.choice(candidates)]
        signed = self.rng.choice(self.recent[person.index])
        if kind == "same_session":
            intent_stub = Intent("", person, person, 0, "replay")
            try:
                answer = self.post_signed(intent_stub, signed.token, signed.signature)
            except ConnectionLost:
                self.shared.outcome("replay_same_session", "lost")
                return
            if self.logged_out(answer, person):
                self.browsers[person.index].logged_in = False
                self.shared.outcome("replay_same_session", "session_had_ended")
            elif answer.status == 200:
                reference = answer.json().get("reference")
                if reference != signed.reference:
                    self.shared.violation(f"replayed signature paid again: {signed.reference} then {reference}")
                self.shared.outcome("replay_same_session", "returned_the_original_transfer")
            elif 400 <= answer.status < 500:
                self.shared.outcome("replay_same_session", f"refused:{answer.json().get('code', answer.status)}")
            else:
                self.shared.outcome("replay_same_session", f"http_{answer.status}")
            return
        # An old signature on a fresh challenge (a new review page): must be refused.
        intent = self.intent("replay_old_signature", person)
        intent.attempts += 1
        try:
            prepared = self.prepare(intent)
        except (Refused, Faulted, LoggedOut):
            intent.outcome = "not_prepared"
            self.shared.outcome("replay_old_signature", "not_prepared")
            return
        try:
            answer = self.post_signed(intent, prepared.token, signed.signature)
        except ConnectionLost:
            answer = None
        if answer is not None and self.logged_out(answer, person):
            self.browsers[person.index].logged_in = False
            intent.applied, intent.outcome = False, "session_had_ended"
            self.shared.outcome("replay_old_signature", intent.outcome)
        elif answer is not None and answer.status == 200:
            self.shared.violation(f"an old signature paid a new challenge: {answer.text[:200]}")
            intent.applied, intent.reference = True, answer.json().get("reference", "")
            self.shared.outcome("replay_old_signature", "PAID")
        elif answer is not None and 400 <= answer.status < 500:
            intent.applied, intent.outcome = False, f"refused:{answer.json().get('code', answer.status)}"
            self.shared.outcome("replay_old_signature", intent.outcome)
        else:
            # The refusal was lost in a fault: the person checks, as always.
            outcome = self.settle(intent, answer or ConnectionLost("sign", OSError("lost"), 0, 0))
            if outcome == "landed":
                self.shared.violation(f"an old signature paid a new challenge ({intent.memo}, found in history)")
            elif outcome == "retry":
                intent.applied = False
            self.shared.outcome("replay_old_signature", f"error_then_{outcome}")

    def replay_expect_refusal(self, name: str, person: Person, signed: SignedRequest, certificate_der: bytes) -> None:
        browser = self.browser(person)
        try:
            answer = browser.post(
                "transfer/sign/",
                {"challenge": signed.token, "certificate": b64(certificate_der), "signature": b64(signed.signature)},
            )
        except ConnectionLost:
            self.shared.outcome(name, "lost")
            return
        if self.logged_out(answer, person):
            browser.logged_in = False
            self.shared.outcome(name, "session_had_ended")
        elif answer.status == 200:
            self.shared.violation(f"{name}: another session's signed request was accepted: {answer.text[:200]}")
            self.shared.outcome(name, "ACCEPTED")
        else:
            self.shared.outcome(name, f"refused:{answer.json().get('code', answer.status)}")

    def op_balance(self) -> None:
        person = self.pick_mine()
        try:
            answer = self.page(person, "accounts/")
        except Faulted:
            self.shared.outcome("balance", "failed")
            return
        if answer.status != 200 or person.account_number[-4:] not in answer.text.replace("-", ""):
            self.shared.sample(f"balance page {answer.status}", answer.text)
            self.shared.outcome("balance", f"unexpected_{answer.status}")
            return
        self.shared.outcome("balance", "ok")

    def op_history(self) -> None:
        person = self.pick_mine()
        roll = self.rng.random()
        if roll < 0.2:
            path = f"accounts/{person.account_number}/history.csv"
        elif roll < 0.4:
            path = f"accounts/{person.account_number}/?page=2"
        else:
            path = f"accounts/{person.account_number}/"
        try:
            answer = self.page(person, path)
        except Faulted:
            self.shared.outcome("history", "failed")
            return
        self.shared.outcome("history", "ok" if answer.status == 200 else f"unexpected_{answer.status}")
        if answer.status != 200:
            self.shared.sample(f"history page {answer.status}", answer.text)

    def op_relogin(self) -> None:
        person = self.pick_mine()
        browser = self.browsers.get(person.index)
        if browser is not None and browser.logged_in:
            try:
                browser.post_form("logout/", {})
            except ConnectionLost:
                pass
            browser.logged_in = False
        try:
            self.browser(person)
        except Faulted:
            self.shared.outcome("relogin", "failed")
            return
        self.shared.outcome("relogin", "ok")

    def run(self) -> None:
        names, weights = zip(*OPERATIONS.items(), strict=True)
        profile = None
        if os.environ.get("TORTURE_PROFILE") and self.index == 0:
            profile = cProfile.Profile()  # client 0's own time, to a file (a tool for tuning the tool)
            profile.enable()
        try:
            while not self.shared.stop.is_set():
                operation = self.rng.choices(names, weights)[0]
                try:
                    getattr(self, f"op_{operation}")()
                except (Faulted, LoggedOut) as error:
                    self.shared.outcome(operation, f"gave_up:{type(error).__name__}")
        except BaseException as error:  # noqa: BLE001 - reported by the runner
            self.error = error
            self.shared.stop.set()
        finally:
            self.sms_reader.close()
            if profile is not None:
                profile.disable()
                profile.dump_stats(os.environ["TORTURE_PROFILE"])


def concurrently(calls: list) -> list:
    """Run the calls at the same moment (a barrier), each in its own thread; answers in order
    (a ConnectionLost in place of an answer that never came)."""
    if not calls:
        return []
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except ConnectionLost as lost:
            results[i] = lost

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
