"""Certificate pages and endpoints: the CA's public files, issuance, and
certificate login. Thin views: parse, call one service, answer. They never
touch `cryptography` (STYLE.md): signing is in certificates.ca, checking in
certificates.challenges.
"""

from certificates.views.ca import ca_certificate_view, ca_index_view  # noqa: F401
from certificates.views.cloud import (  # noqa: F401
    cloud_device_register_view,
    cloud_devices_view,
    cloud_issue_prepare_view,
    cloud_list_view,
    cloud_pin_view,
    cloud_renew_complete_view,
    cloud_renew_prepare_view,
    cloud_unlock_view,
)
from certificates.views.copy import (  # noqa: F401
    copy_cancel_view,
    copy_download_view,
    copy_find_view,
    copy_join_view,
    copy_open_view,
    copy_receive_view,
    copy_reveal_view,
    copy_send_view,
    copy_sent_status_view,
    copy_status_view,
    copy_upload_view,
)
from certificates.views.guide import guide_view  # noqa: F401
from certificates.views.issuance import (  # noqa: F401
    issue_complete_view,
    issue_keys_view,
    issue_start_view,
)
from certificates.views.login import certificate_login_view, challenge_view  # noqa: F401
from certificates.views.manage import (  # noqa: F401
    detail_view,
    download_view,
    manage_view,
    renew_complete_view,
    renew_view,
    status_start_view,
    suspend_view,
)
from certificates.views.registration import register_complete_view, register_view, unregister_view  # noqa: F401
