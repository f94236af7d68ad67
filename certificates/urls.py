"""Certificate endpoints under a bank: /<bank>/certificates/... and the certificate login."""

from django.urls import path

from certificates import views

app_name = "certificates"

urlpatterns = [
    path("certificates/challenge/", views.challenge_view, name="challenge"),
    path("login/certificate/", views.certificate_login_view, name="login"),
    path("certificates/issue/", views.issue_start_view, name="issue"),
    path("certificates/issue/verify/", views.issue_verify_view, name="issue_verify"),
    path("certificates/issue/keys/", views.issue_keys_view, name="issue_keys"),
    path("certificates/issue/complete/", views.issue_complete_view, name="issue_complete"),
]
