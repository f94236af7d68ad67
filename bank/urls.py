from django.urls import include, path

from bank import views
from bank.admin_site import staff_site
from banking.views import bank_list_view

urlpatterns = [
    path("", bank_list_view, name="home"),
    path("favicon.ico", views.favicon_view),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", staff_site.urls),
    path("brand/<slug:slug>.css", views.brand_css_view, name="brand_css"),
    path("ca/", include("certificates.ca_urls")),
    path("<slug:bank>/", include("banking.urls")),
    path("<slug:bank>/", include("accounts.urls")),
    path("<slug:bank>/", include("certificates.urls")),
]

handler500 = "bank.views.server_error_view"
