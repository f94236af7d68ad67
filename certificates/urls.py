"""Certificate endpoints under a bank: /<bank>/certificates/... and the certificate login."""

from django.urls import path, register_converter

from certificates import views


class HexConverter:
    """A certificate serial: 1 to 40 hexadecimal digits."""

    regex = "[0-9a-fA-F]{1,40}"

    def to_python(self, value):
        return value.lower()

    def to_url(self, value):
        return value


register_converter(HexConverter, "hex")

app_name = "certificates"

urlpatterns = [
    path("certificates/challenge/", views.challenge_view, name="challenge"),
    path("login/certificate/", views.certificate_login_view, name="login"),
    path("certificates/issue/", views.issue_start_view, name="issue"),
    path("certificates/issue/keys/", views.issue_keys_view, name="issue_keys"),
    path("certificates/issue/complete/", views.issue_complete_view, name="issue_complete"),
    path("certificates/issue/cloud/prepare/", views.cloud_issue_prepare_view, name="cloud_issue_prepare"),
    path("certificates/cloud/", views.cloud_list_view, name="cloud"),
    path("certificates/cloud/unlock/", views.cloud_unlock_view, name="cloud_unlock"),
    path("certificates/cloud/pin/", views.cloud_pin_view, name="cloud_pin"),
    path("certificates/cloud/renew/prepare/", views.cloud_renew_prepare_view, name="cloud_renew_prepare"),
    path("certificates/cloud/renew/complete/", views.cloud_renew_complete_view, name="cloud_renew_complete"),
    path("certificates/cloud/devices/", views.cloud_devices_view, name="cloud_devices"),
    path("certificates/cloud/devices/register/", views.cloud_device_register_view, name="cloud_device_register"),
    path("certificates/guide/", views.guide_view, name="guide"),
    path("certificates/", views.manage_view, name="manage"),
    path("certificates/renew/complete/", views.renew_complete_view, name="renew_complete"),
    path("certificates/register/", views.register_view, name="register"),
    path("certificates/register/complete/", views.register_complete_view, name="register_complete"),
    path("certificates/copy/receive/", views.copy_receive_view, name="copy_receive"),
    path("certificates/copy/send/", views.copy_send_view, name="copy_send"),
    path("certificates/copy/open/", views.copy_open_view, name="copy_open"),
    path("certificates/copy/status/", views.copy_status_view, name="copy_status"),
    path("certificates/copy/reveal/", views.copy_reveal_view, name="copy_reveal"),
    path("certificates/copy/download/", views.copy_download_view, name="copy_download"),
    path("certificates/copy/cancel/", views.copy_cancel_view, name="copy_cancel"),
    path("certificates/copy/find/", views.copy_find_view, name="copy_find"),
    path("certificates/copy/join/", views.copy_join_view, name="copy_join"),
    path("certificates/copy/upload/", views.copy_upload_view, name="copy_upload"),
    path("certificates/copy/sent-status/", views.copy_sent_status_view, name="copy_sent_status"),
    path("certificates/<hex:serial>/unregister/", views.unregister_view, name="unregister"),
    path("certificates/<hex:serial>/", views.detail_view, name="detail"),
    path("certificates/<hex:serial>/signCert.der", views.download_view, name="download"),
    path("certificates/<hex:serial>/renew/", views.renew_view, name="renew"),
    path("certificates/<hex:serial>/suspend/", views.suspend_view, name="suspend"),
    path("certificates/<hex:serial>/revoke/", views.status_start_view, {"purpose": "revoke"}, name="revoke"),
    path("certificates/<hex:serial>/restore/", views.status_start_view, {"purpose": "restore"}, name="restore"),
]
