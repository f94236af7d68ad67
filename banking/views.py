from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.decorators import customer_required
from accounts.forms import LoginForm
from banking import accountnumbers, selectors
from banking.forms import HistoryFilterForm
from banking.models import Bank, DepositAccount

HISTORY_PAGE_SIZE = 20


def bank_list_view(request):
    return render(request, "banking/bank_list.html", {"banks": Bank.objects.all()})


def bank_home_view(request):
    user = request.user
    if user.is_authenticated and user.bank_id == request.bank.id:
        return redirect("banking:accounts", bank=request.bank.slug)
    return render(request, "banking/bank_home.html", {"form": LoginForm()})


@customer_required
def accounts_view(request):
    accounts = list(selectors.customer_accounts(customer=request.user, bank=request.bank))
    total = sum(account.balance for account in accounts)
    return render(request, "banking/accounts.html", {"accounts": accounts, "total": total})


@customer_required
def account_history_view(request, number):
    # SECURITY: the account must be this customer's at this bank; any other
    # number, including a real one of someone else, is a plain 404.
    account = get_object_or_404(
        DepositAccount.objects.select_related("bank"),
        number=accountnumbers.normalise(number),
        owner=request.user,
        bank=request.bank,
        kind=DepositAccount.Kind.CUSTOMER,
    )
    data = request.GET if request.GET else {"period": "1m"}
    form = HistoryFilterForm(data, today=timezone.localdate())
    shown_range = None
    if form.is_valid():
        shown_range = (form.cleaned_data["date_from"], form.cleaned_data["date_to"])
        entries = selectors.account_entries(
            account=account,
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            direction=form.cleaned_data["direction"],
        )
    else:
        entries = account.entries.none()
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"account": account, "form": form, "page": page, "query": query.urlencode(), "shown_range": shown_range}
    return render(request, "banking/account_history.html", context)
