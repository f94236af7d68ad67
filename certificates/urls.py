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
    path("certificates/issue/verify/", views.issue_verify_view, name="issue_verify"),
    path("certificates/issue/keys/", views.issue_keys_view, name="issue_keys"),
    path("certificates/issue/complete/", views.issue_complete_view, name="issue_complete"),
    path("certificates/", views.manage_view, name="manage"),
    path("certificates/renew/complete/", views.renew_complete_view, name="renew_complete"),
    path("certificates/register/", views.register_view, name="register"),
    path("certificates/register/complete/", views.register_complete_view, name="register_complete"),
    path("certificates/copy/receive/", views.copy_receive_view, name="copy_receive"),
    path("certificates/copy/send/", views.copy_send_view, name="copy_send"),
    path("certificates/copy/open/", views.copy_open_view, name="copy_open"),
    path("certificates/copy/status/", views.copy_status_view, name="copy_status"),
    path("certificates/copy/download/", views.copy_download_view, name="copy_download"),
    path("certificates/copy/cancel/", views.copy_cancel_view, name="copy_cancel"),
    path("certificates/copy/find/", views.copy_find_view, name="copy_find"),
    path("certificates/copy/upload/", views.copy_upload_view, name="copy_upload"),
    path("certificates/copy/sent-status/", views.copy_sent_status_view, name="copy_sent_status"),
    path("certificates/<hex:serial>/unregister/", views.unregister_view, name="unregister"),
    path("certificates/<hex:serial>/", views.detail_view, name="detail"),
    path("certificates/<hex:serial>/signCert.der", views.download_view, name="download"),
    path("certificates/<hex:serial>/renew/", views.renew_view, name="renew"),
    path("certificates/<hex:serial>/suspend/", views.suspend_view, name="suspend"),
    path("certificates/<hex:serial>/revoke/", views.status_start_view, {"purpose": "revoke"}, name="revoke"),
    path("certificates/<hex:serial>/revoke/verify/", views.status_verify_view, {"purpose": "revoke"}, name="revoke_verify"),
    path("certificates/<hex:serial>/restore/", views.status_start_view, {"purpose": "restore"}, name="restore"),
    path("certificates/<hex:serial>/restore/verify/", views.status_verify_view, {"purpose": "restore"}, name="restore_verify"),
]
