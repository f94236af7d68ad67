from django.urls import path

from certificates import views

app_name = "ca"

urlpatterns = [
    path("", views.ca_index_view, name="ca_index"),
    path("root.der", views.ca_certificate_view, {"which": "root", "encoding": "der"}, name="root_der"),
    path("root.pem", views.ca_certificate_view, {"which": "root", "encoding": "pem"}, name="root_pem"),
    path("issuing.der", views.ca_certificate_view, {"which": "issuing", "encoding": "der"}, name="issuing_der"),
    path("issuing.pem", views.ca_certificate_view, {"which": "issuing", "encoding": "pem"}, name="issuing_pem"),
]
