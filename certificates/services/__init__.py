"""Certificate rules (DESIGN.md §2): views and commands call these, never
`cryptography`. Signing happens in certificates.ca, verification in
certificates.challenges.

- profiles: what differs between 공동인증서 and 금융인증서, in one table.
- records: the status state machine and the one-live-certificate rule.
- issuance: 발급·재발급 of either kind, consuming the ISSUE verification.
- renewal: 갱신 (and the end of a 금융인증서's automatic renewal).
- lifecycle: status changes by the holder and staff, registration at other banks, expiry notices.
- cloud: the 금융인증서 store (PIN, lock), devices, automatic renewal's checks.
- copy: 인증서 복사, the end-to-end encrypted relay between two devices.
"""

from certificates.services.cloud import (  # noqa: F401
    WEAK_PINS,
    CloudRelease,
    CloudSetup,
    certificate_renew_financial,
    cloud_certificates,
    cloud_device_current,
    cloud_device_register,
    cloud_device_remove,
    cloud_devices,
    cloud_key_unlock,
    cloud_pin_change,
    cloud_renew_prepare,
    cloud_setup_new,
    device_is_registered,
    renewal_due,
)
from certificates.services.copy import (  # noqa: F401
    CopyState,
    copy_cancel,
    copy_download,
    copy_join,
    copy_reveal,
    copy_sender_status,
    copy_session_find,
    copy_session_open,
    copy_sessions_purge,
    copy_state,
    copy_status,
    copy_upload,
)
from certificates.services.issuance import certificate_issue_financial, certificate_issue_joint  # noqa: F401
from certificates.services.lifecycle import (  # noqa: F401
    EXPIRY_NOTICE_DAYS,
    certificate_issue_challenge,
    certificate_register_at_bank,
    certificate_restore_by_customer,
    certificate_revoke_by_customer,
    certificate_status_change_by_staff,
    certificate_suspend_by_customer,
    certificate_unregister_at_bank,
    expiry_notices_send,
)
from certificates.services.records import (  # noqa: F401
    TRANSITIONS,
    ReissueReason,
    certificate_status_change,
)
from certificates.services.renewal import RENEWAL_WINDOW, certificate_renew, renewal_refusal  # noqa: F401
