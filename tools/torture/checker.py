"""The bank's invariants, read straight from the database.

One REPEATABLE READ, READ ONLY transaction per check, so every query sees
the same committed state while transfers go on:

- money is conserved: the sum of every balance (customers, the banks'
  operating and fee-income accounts) is what it was after seeding; the
  operating accounts did not move; the fee accounts grew by exactly the
  fees of the transfers;
- no customer balance is negative;
- every balance equals the sum of its ledger rows, and every ledger row's
  running balance follows from the one before it;
- every movement is one debit and one credit of one amount; every transfer
  has exactly its two legs (sender → recipient, its amount) and its fee leg;
  no transfer leg exists without its transfer; one intent (memo) paid at
  most once; the daily limit held;
- every transfer's challenge is a consumed, unexpired transfer challenge of
  the same customer and bank, used by no other transfer, whose stored text
  is the transfer's (amount, fee, accounts, memo, request number), and the
  signature over it verifies with the signer's registered certificate;
- the audit log: one transfer_completed row per transfer, one money_moved
  row per movement, the hash chain verifies and, at the end, after the
  final seal (what the cron backstop does), no row is left unsealed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

TRANSFER_LEGS = ("당행이체", "타행이체")
FEE_LEG = "타행이체 수수료"


@dataclass
class Baseline:
    total_all: int
    operating: dict[int, int]  # operating account id -> balance after seeding
    fee_accounts: dict[int, int]  # fee income account id -> balance after seeding (bank id -> via the account)
    other_movements: int  # movements that are neither transfer nor fee legs (welcome deposits)


@dataclass
class CheckResult:
    violations: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _rows(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _one(cursor, sql: str, params=()):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def baseline() -> Baseline:
    from django.db import connection

    with connection.cursor() as cursor:
        total = int(_one(cursor, "SELECT coalesce(sum(balance), 0) FROM banking_depositaccount"))
        internal = _rows(cursor, "SELECT id, balance, product_name FROM banking_depositaccount WHERE kind = 'internal'")
        others = _one(
            cursor,
            "SELECT count(DISTINCT movement) FROM banking_ledgerentry WHERE description NOT IN (%s, %s, %s)",
            [*TRANSFER_LEGS, FEE_LEG],
        )
    from banking.services.ledger import FEE_INCOME_NAME

    return Baseline(
        total_all=total,
        operating={pk: balance for pk, balance, name in internal if name != FEE_INCOME_NAME},
        fee_accounts={pk: balance for pk, balance, name in internal if name == FEE_INCOME_NAME},
        other_movements=int(others),
    )


def check(base: Baseline, *, final: bool, signatures_from: int = 0, audit: bool = True) -> CheckResult:
    """Run every check in one snapshot. `signatures_from`: verify the signed
    texts and signatures of transfers with a larger id only (the earlier ones
    were verified by an earlier check)."""
    from django.conf import settings
    from django.db import connection, transaction

    started = time.monotonic()
    result = CheckResult()
    bad = result.violations.append
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")

        # --- money -----------------------------------------------------------------------------
        total = int(_one(cursor, "SELECT coalesce(sum(balance), 0) FROM banking_depositaccount"))
        if total != base.total_all:
            bad(
                f"money not conserved: all balances sum to {total:,}, "
                f"{total - base.total_all:+,} against the seeded {base.total_all:,}"
            )
        for pk, balance in _rows(
            cursor, "SELECT id, balance FROM banking_depositaccount WHERE id = ANY(%s)", [list(base.operating)]
        ):
            if balance != base.operating[pk]:
                bad(f"operating account {pk} moved during the run: {base.operating[pk]:,} → {balance:,}")
        fees_paid = int(_one(cursor, "SELECT coalesce(sum(fee), 0) FROM banking_transfer"))
        fee_balances = _rows(
            cursor, "SELECT id, balance FROM banking_depositaccount WHERE id = ANY(%s)", [list(base.fee_accounts)]
        )
        fee_growth = sum(balance - base.fee_accounts[pk] for pk, balance in fee_balances)
        if fee_growth != fees_paid:
            bad(f"fee accounts grew by {fee_growth:,}, the transfers' fees sum to {fees_paid:,}")
        by_bank = _rows(
            cursor,
            """SELECT a.bank_id, coalesce(sum(t.fee), 0) FROM banking_transfer t
               JOIN banking_depositaccount a ON a.id = t.from_account_id GROUP BY a.bank_id""",
        )
        fee_of_bank = dict(
            _rows(cursor, "SELECT bank_id, id FROM banking_depositaccount WHERE id = ANY(%s)", [list(base.fee_accounts)])
        )
        balances = dict(fee_balances)
        for bank_id, fees in by_bank:
            account = fee_of_bank.get(bank_id)
            if account is not None and balances[account] - base.fee_accounts[account] != fees:
                bad(
                    f"bank {bank_id}: fee income grew by {balances[account] - base.fee_accounts[account]:,}, "
                    f"its transfers' fees {fees:,}"
                )
        wrong_fee = _rows(
            cursor,
            """SELECT t.id, t.fee, a.bank_id, t.to_bank_id FROM banking_transfer t
               JOIN banking_depositaccount a ON a.id = t.from_account_id
               WHERE t.fee <> CASE WHEN a.bank_id = t.to_bank_id THEN 0 ELSE %s END""",
            [int(settings.CERTBANK_TRANSFER_FEE_OTHER_BANK)],
        )
        for row in wrong_fee[:5]:
            bad(f"transfer {row[0]}: fee {row[1]} for bank {row[2]} → {row[3]}")

        negative = _rows(cursor, "SELECT id, balance FROM banking_depositaccount WHERE kind = 'customer' AND balance < 0")
        for pk, balance in negative[:10]:
            bad(f"customer account {pk} is negative: {balance:,}")

        # --- ledger --------------------------------------------------------------------------
        unequal = _rows(
            cursor,
            """SELECT a.id, a.balance, coalesce(sum(CASE WHEN e.direction = 'credit' THEN e.amount ELSE -e.amount END), 0)
               FROM banking_depositaccount a LEFT JOIN banking_ledgerentry e ON e.account_id = a.id
               GROUP BY a.id
               HAVING a.balance <> coalesce(sum(CASE WHEN e.direction = 'credit' THEN e.amount ELSE -e.amount END), 0)""",
        )
        for pk, balance, ledger in unequal[:10]:
            bad(f"account {pk}: balance {balance:,} but its ledger sums to {ledger:,}")
        running = _rows(
            cursor,
            """SELECT account_id, id, balance_after, previous, delta FROM (
                 SELECT account_id, id, balance_after,
                        CASE WHEN direction = 'credit' THEN amount ELSE -amount END AS delta,
                        coalesce(lag(balance_after) OVER (PARTITION BY account_id ORDER BY id), 0) AS previous
                 FROM banking_ledgerentry) x
               WHERE balance_after <> previous + delta""",
        )
        for account, entry, after, previous, delta in running[:10]:
            bad(f"account {account}: ledger row {entry} says {after:,} after {previous:,} {delta:+,} (a lost update)")
        last = _rows(
            cursor,
            """SELECT a.id, a.balance, e.balance_after FROM banking_depositaccount a
               JOIN LATERAL (SELECT balance_after FROM banking_ledgerentry
                             WHERE account_id = a.id ORDER BY id DESC LIMIT 1) e ON true
               WHERE e.balance_after <> a.balance""",
        )
        for pk, balance, after in last[:10]:
            bad(f"account {pk}: balance {balance:,} but its last ledger row says {after:,}")
        movements = _rows(
            cursor,
            """SELECT movement, count(*), sum(CASE WHEN direction = 'debit' THEN 1 ELSE 0 END), min(amount), max(amount),
                      count(DISTINCT account_id)
               FROM banking_ledgerentry GROUP BY movement
               HAVING count(*) <> 2 OR sum(CASE WHEN direction = 'debit' THEN 1 ELSE 0 END) <> 1
                   OR min(amount) <> max(amount) OR count(DISTINCT account_id) <> 2""",
        )
        for row in movements[:10]:
            bad(f"movement {row[0]} is not one debit and one credit of one amount: {row[1:]}")

        # --- transfers: applied exactly once, with their legs ---------------------------------
        transfers = int(_one(cursor, "SELECT count(*) FROM banking_transfer"))
        result.numbers["transfers"] = transfers
        legs = _rows(
            cursor,
            """SELECT t.id FROM banking_transfer t
               LEFT JOIN banking_ledgerentry d ON d.movement = t.movement AND d.direction = 'debit'
               LEFT JOIN banking_ledgerentry c ON c.movement = t.movement AND c.direction = 'credit'
               WHERE d.id IS NULL OR c.id IS NULL OR d.account_id <> t.from_account_id OR c.account_id <> t.to_account_id
                  OR d.amount <> t.amount OR c.amount <> t.amount OR d.description NOT IN (%s, %s)""",
            list(TRANSFER_LEGS),
        )
        for (pk,) in legs[:10]:
            bad(f"transfer {pk} does not have exactly its two ledger legs")
        shared_movement = _rows(cursor, "SELECT movement FROM banking_transfer GROUP BY movement HAVING count(*) > 1")
        for (movement,) in shared_movement[:10]:
            bad(f"movement {movement} belongs to several transfers")
        orphans = int(
            _one(
                cursor,
                """SELECT count(DISTINCT e.movement) FROM banking_ledgerentry e
                   WHERE e.description IN (%s, %s)
                     AND NOT EXISTS (SELECT 1 FROM banking_transfer t WHERE t.movement = e.movement)""",
                list(TRANSFER_LEGS),
            )
        )
        if orphans:
            bad(f"{orphans} transfer movement(s) in the ledger without a transfer (money moved, no transfer recorded)")
        fee_legs = _rows(
            cursor,
            """SELECT a.id, coalesce(f.n, 0), coalesce(f.total, 0), coalesce(t.n, 0), coalesce(t.total, 0)
               FROM banking_depositaccount a
               LEFT JOIN (SELECT account_id, count(*) n, sum(amount) total FROM banking_ledgerentry
                          WHERE description = %s AND direction = 'debit' GROUP BY account_id) f ON f.account_id = a.id
               LEFT JOIN (SELECT from_account_id, count(*) n, sum(fee) total FROM banking_transfer
                          WHERE fee > 0 GROUP BY from_account_id) t ON t.from_account_id = a.id
               WHERE a.kind = 'customer'
                 AND (coalesce(f.n, 0) <> coalesce(t.n, 0) OR coalesce(f.total, 0) <> coalesce(t.total, 0))""",
            [FEE_LEG],
        )
        for pk, legs_n, legs_sum, fees_n, fees_sum in fee_legs[:10]:
            bad(f"account {pk}: {legs_n} fee legs ({legs_sum:,}) for {fees_n} transfers with fees ({fees_sum:,})")
        others = int(
            _one(
                cursor,
                "SELECT count(DISTINCT movement) FROM banking_ledgerentry WHERE description NOT IN (%s, %s, %s)",
                [*TRANSFER_LEGS, FEE_LEG],
            )
        )
        if others != base.other_movements:
            bad(f"{others - base.other_movements} movement(s) that are neither a transfer nor its fee appeared during the run")
        twice = _rows(
            cursor,
            "SELECT memo_mine, count(*) FROM banking_transfer WHERE memo_mine <> '' GROUP BY memo_mine HAVING count(*) > 1",
        )
        for memo, count in twice[:10]:
            bad(f"intent {memo} was paid {count} times")
        day_limit = int(settings.CERTBANK_TRANSFER_LIMITS["basic"][1])
        over_limit = _rows(
            cursor,
            """SELECT customer_id, (created_at AT TIME ZONE 'Asia/Seoul')::date AS day, sum(amount) FROM banking_transfer
               GROUP BY customer_id, day HAVING sum(amount) > %s""",
            [day_limit],
        )
        for customer, day, total_day in over_limit[:10]:
            bad(f"customer {customer} transferred {total_day:,} on {day}, over the daily limit {day_limit:,}")

        # --- challenges and signatures --------------------------------------------------------
        wrong = _rows(
            cursor,
            """SELECT t.id, c.purpose, c.customer_id = t.customer_id, c.consumed_at IS NOT NULL, c.consumed_at <= c.expires_at,
                      c.bank_id = a.bank_id, t.signed_bytes = c.to_sign, r.customer_id = t.customer_id
               FROM banking_transfer t
               JOIN banking_depositaccount a ON a.id = t.from_account_id
               LEFT JOIN certificates_challenge c ON c.id = t.challenge_id
               LEFT JOIN certificates_certificateregistration r
                      ON r.certificate_id = t.signer_certificate_id AND r.bank_id = a.bank_id
               WHERE c.id IS NULL OR c.purpose <> 'transfer' OR c.customer_id <> t.customer_id OR c.consumed_at IS NULL
                  OR c.consumed_at > c.expires_at OR c.bank_id <> a.bank_id OR t.signed_bytes <> c.to_sign
                  OR r.id IS NULL OR r.customer_id <> t.customer_id""",
        )
        for row in wrong[:10]:
            bad(
                f"transfer {row[0]}: its challenge/certificate is not its own "
                f"(purpose, same customer, consumed, in time, bank, text, registered): {row[1:]}"
            )
        reused = _rows(
            cursor,
            """SELECT challenge_id, count(*) FROM banking_transfer WHERE challenge_id IS NOT NULL
               GROUP BY challenge_id HAVING count(*) > 1""",
        )
        for challenge, count in reused[:10]:
            bad(f"challenge {challenge} paid {count} transfers")
        signed = _rows(
            cursor,
            """SELECT t.id, t.amount, t.fee, t.memo_mine, fa.number, ta.number, c.token, t.signed_bytes, t.signature, s.der
               FROM banking_transfer t
               JOIN certificates_challenge c ON c.id = t.challenge_id
               JOIN banking_depositaccount fa ON fa.id = t.from_account_id
               JOIN banking_depositaccount ta ON ta.id = t.to_account_id
               JOIN certificates_certificate s ON s.id = t.signer_certificate_id
               WHERE t.id > %s ORDER BY t.id""",
            [signatures_from],
        )
        for row in signed:
            problem = _signed_text_problem(*row[1:])
            if problem:
                bad(f"transfer {row[0]}: {problem}")
        result.numbers["last_transfer_id"] = max([signatures_from] + [row[0] for row in signed])
        result.numbers["signatures_checked"] = len(signed)

        # --- the audit log --------------------------------------------------------------------
        audited = _rows(
            cursor,
            """SELECT t.reference::text, count(e.id) FROM banking_transfer t
               LEFT JOIN audit_auditevent e ON e.action = 'transfer_completed' AND e.detail ->> 'reference' = t.reference::text
               GROUP BY t.reference HAVING count(e.id) <> 1""",
        )
        for reference, count in audited[:10]:
            bad(f"transfer {reference} has {count} transfer_completed audit rows")
        completed = int(_one(cursor, "SELECT count(*) FROM audit_auditevent WHERE action = 'transfer_completed'"))
        if completed != transfers:
            bad(f"{completed} transfer_completed audit rows for {transfers} transfers")
        moved = int(_one(cursor, "SELECT count(*) FROM audit_auditevent WHERE action = 'money_moved'"))
        distinct_movements = int(_one(cursor, "SELECT count(DISTINCT movement) FROM banking_ledgerentry"))
        if moved != distinct_movements:
            bad(f"{moved} money_moved audit rows for {distinct_movements} ledger movements")
        result.numbers["ledger_rows"] = int(_one(cursor, "SELECT count(*) FROM banking_ledgerentry"))
        if audit:
            from audit.services import audit_chain_verify, audit_seal, audit_unsealed_tail

            if final:
                # What the cron backstop does: rows whose writer died between commit and seal.
                result.numbers["audit_sealed_by_backstop"] = audit_seal()
            ok, checked, first_break = audit_chain_verify()
            result.numbers["audit_rows"] = checked
            if not ok:
                bad(f"audit chain broken at sequence {first_break['sequence']}: {first_break['reason']} {first_break['message']}")
            tail = audit_unsealed_tail()
            result.numbers["audit_unsealed"] = tail.count
            if final and tail.count:
                bad(f"{tail.count} audit rows left unsealed after the final seal")
    result.seconds = time.monotonic() - started
    return result


_DIGITS = re.compile(r"\D")


def _signed_text_problem(amount, fee, memo, from_number, to_number, token, signed_bytes, signature, certificate_der) -> str:
    """Whether the stored, signed text is this transfer's, and the signature verifies."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    text = bytes(signed_bytes).decode("utf-8", "replace")
    lines = dict(line.split(": ", 1) for line in text.split("\n") if ": " in line)
    if not lines.get("금액", "").startswith(f"{amount:,}원 ("):
        return f"signed text says 금액 {lines.get('금액')!r}, the transfer {amount:,}"
    if lines.get("수수료") != f"{fee:,}원":
        return f"signed text says 수수료 {lines.get('수수료')!r}, the transfer {fee:,}"
    if _DIGITS.sub("", lines.get("입금계좌", "")) != to_number:
        return f"signed text names 입금계좌 {lines.get('입금계좌')!r}, the transfer paid {to_number}"
    if _DIGITS.sub("", lines.get("출금계좌", "").rsplit(" ", 1)[-1]) != from_number:
        return f"signed text names 출금계좌 {lines.get('출금계좌')!r}, the transfer debited {from_number}"
    if lines.get("메모(내 통장)", "") != memo:
        return f"signed text has memo {lines.get('메모(내 통장)')!r}, the transfer {memo!r}"
    if lines.get("요청 번호") != token:
        return "signed text carries another challenge's request number"
    key = x509.load_der_x509_certificate(bytes(certificate_der)).public_key()
    try:
        key.verify(bytes(signature), bytes(signed_bytes), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "the kept signature does not verify over the kept text with the signer's certificate"
    return ""


def check_intents(intents) -> list[str]:
    """What the clients were told against the database: a reference they got is
    that intent's transfer; an intent they were refused (or found not applied)
    has no transfer; none has two."""
    from django.db import connection

    with connection.cursor() as cursor:
        paid = {
            memo: (str(reference), amount)
            for memo, reference, amount in _rows(cursor, "SELECT memo_mine, reference, amount FROM banking_transfer")
        }
    problems = []
    for intent in intents:
        found = paid.get(intent.memo)
        if intent.applied is True:
            if found is None:
                problems.append(f"{intent.memo}: the client was told it was paid ({intent.reference}) but no transfer has it")
            elif intent.reference and found[0] != intent.reference:
                problems.append(f"{intent.memo}: the client got reference {intent.reference}, the transfer is {found[0]}")
            elif found[1] != intent.amount:
                problems.append(f"{intent.memo}: paid {found[1]:,}, the person signed for {intent.amount:,}")
        elif intent.applied is False and found is not None:
            problems.append(f"{intent.memo}: the client was refused or found it not applied ({intent.outcome}), yet it was paid")
    return problems
