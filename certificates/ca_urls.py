from django.urls import path

from certificates import ca_views, views

app_name = "ca"

# The CPS, CRL, OCSP and issuing-CA addresses are written into every issued
# certificate (certificates.ca.ca_addresses: certificatePolicies, CRLDistributionPoints,
# AIA): keep them. bank/settings.py SECURE_REDIRECT_EXEMPT lists the plain-http ones.
urlpatterns = [
    path("", views.ca_index_view, name="ca_index"),
    path("root.der", views.ca_certificate_view, {"which": "root", "encoding": "der"}, name="root_der"),
    path("root.pem", views.ca_certificate_view, {"which": "root", "encoding": "pem"}, name="root_pem"),
    path("issuing.der", views.ca_certificate_view, {"which": "issuing", "encoding": "der"}, name="issuing_der"),
    path("issuing.pem", views.ca_certificate_view, {"which": "issuing", "encoding": "pem"}, name="issuing_pem"),
    path("cps", ca_views.ca_cps_view, name="cps"),
    path("crl/issuing.crl", ca_views.ca_crl_view, name="crl"),
    path("ocsp", ca_views.ca_ocsp_post_view, name="ocsp"),
    path("ocsp/<path:encoded>", ca_views.ca_ocsp_get_view, name="ocsp_get"),
]
