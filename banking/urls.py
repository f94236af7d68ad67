from django.urls import path

from banking import transfer_views, views

app_name = "banking"

urlpatterns = [
    path("", views.bank_home_view, name="home"),
    path("accounts/", views.accounts_view, name="accounts"),
    path("accounts/<str:number>/", views.account_history_view, name="account_history"),
    path("accounts/<str:number>/history.csv", views.account_history_csv_view, name="account_history_csv"),
    path("transfer/", transfer_views.transfer_form_view, name="transfer"),
    path("transfer/recipient/", transfer_views.transfer_recipient_view, name="transfer_recipient"),
    path("transfer/review/", transfer_views.transfer_review_view, name="transfer_review"),
    path("transfer/sign/", transfer_views.transfer_sign_view, name="transfer_sign"),
    path("transfer/favourites/<int:pk>/remove/", transfer_views.favourite_remove_view, name="favourite_remove"),
    path("transfer/<uuid:reference>/", transfer_views.transfer_receipt_view, name="transfer_receipt"),
    path("transfer/<uuid:reference>/favourite/", transfer_views.favourite_add_view, name="favourite_add"),
    path("transfer/<uuid:reference>/receipt.p7s", transfer_views.transfer_evidence_view, name="transfer_evidence"),
    path("transfer/<uuid:reference>/signed.txt", transfer_views.transfer_signed_text_view, name="transfer_signed_text"),
]
