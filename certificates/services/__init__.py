"""Certificate rules (DESIGN.md §2): views and commands call these, never
`cryptography`. Signing happens in certificates.ca, verification in
certificates.challenges.

- lifecycle: issuance of 공동인증서, the status state machine, renewal,
  expiry notices, login locks, registration at other banks.
- cloud: 금융인증서 issuance, the cloud store (PIN, lock), devices, automatic renewal.
- copy: 인증서 복사, the end-to-end encrypted relay between two devices.
"""

from certificates.services.cloud import (  # noqa: F401
    WEAK_PINS,
    CloudRelease,
    CloudSetup,
    certificate_issue_financial,
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
from certificates.services.lifecycle import (  # noqa: F401
    EXPIRY_NOTICE_DAYS,
    RENEWAL_WINDOW,
    TRANSITIONS,
    ReissueReason,
    certificate_issue_challenge,
    certificate_issue_joint,
    certificate_login_unlock,
    certificate_register_at_bank,
    certificate_renew,
    certificate_restore_by_customer,
    certificate_revoke_by_customer,
    certificate_status_change,
    certificate_status_change_by_staff,
    certificate_suspend_by_customer,
    certificate_unregister_at_bank,
    expiry_notices_send,
    renewal_refusal,
)
