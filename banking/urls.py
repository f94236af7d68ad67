from django.urls import path

from banking import views

app_name = "banking"

urlpatterns = [
    path("", views.bank_home_view, name="home"),
    path("accounts/", views.accounts_view, name="accounts"),
    path("accounts/<str:number>/", views.account_history_view, name="account_history"),
]
