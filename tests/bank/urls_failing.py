"""The site's URLs plus one view that fails, for the 500 tests."""

from django.urls import path

from bank.urls import urlpatterns as site_urlpatterns


def failing_view(request):
    raise RuntimeError("boom in a view")


urlpatterns = [path("test-failure/", failing_view), *site_urlpatterns]
handler500 = "bank.views.server_error_view"
