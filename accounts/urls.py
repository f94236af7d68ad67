from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("signup/verify/", views.signup_verify_view, name="signup_verify"),
    path("unlock/", views.unlock_view, name="unlock"),
    path("unlock/verify/", views.unlock_verify_view, name="unlock_verify"),
    path("otp/", views.otp_view, name="otp"),
    path("session/extend/", views.session_extend_view, name="session_extend"),
    path("devices/", views.devices_view, name="devices"),
    path("devices/designate/", views.device_designate_view, name="device_designate"),
    path("devices/<int:pk>/release/", views.device_release_view, name="device_release"),
    path("demo/phone/", views.demo_phone_view, name="demo_phone"),
    path("demo/otp/", views.demo_otp_view, name="demo_otp"),
]
