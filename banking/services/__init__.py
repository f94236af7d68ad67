"""Banking rules, one module per subject (the names are re-exported here):

- ledger: banks, deposit accounts, account PINs and `ledger_move`, the one
  way money moves between two accounts;
- recipients: 수취인 조회 with its per-customer limit, and 자주 쓰는 계좌;
- transfers: 계좌이체 — limits, OTP and extra-SMS rules, `transfer` (the signed
  web flow that calls it is flows.transfers.transfer_signed).
"""

from banking.services.ledger import (  # noqa: F401
    DEMAND_DEPOSIT_NAME,
    FEE_INCOME_NAME,
    PIN_PURPOSE,
    Leg,
    account_open,
    account_pin_matches,
    account_pin_unlock,
    account_pin_verify,
    accounts_lock,
    bank_ensure,
    bank_fee_account,
    bank_internal_account,
    ledger_move,
    ledger_post,
    welcome_deposit,
)
from banking.services.recipients import favourite_add, favourite_remove, mask_name, recipient_find, recipient_lookup  # noqa: F401
from banking.services.transfers import (  # noqa: F401
    SEOUL,
    CustomerHold,
    TransferDraft,
    TransferEvidence,
    TransferRequirements,
    TransferRules,
    customer_hold,
    device_is_designated,
    transfer,
    transfer_draft_check,
    transfer_draft_resolve,
    transfer_fee,
    transfer_grade,
    transfer_limits,
    transfer_preflight,
    transfer_requirements,
    transfer_text,
    transferred_today,
)
