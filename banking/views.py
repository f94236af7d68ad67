import csv

from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.decorators import customer_required
from accounts.forms import LoginForm
from banking import accountnumbers, selectors
from banking.forms import HistoryFilterForm
from banking.models import DepositAccount, LedgerEntry
from core.models import Bank

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


def _own_account(request, number) -> DepositAccount:
    # SECURITY: the account must be this customer's at this bank; any other
    # number, including a real one of someone else, is a plain 404. A value
    # that cannot be an account number (a NUL byte, letters, a wrong check
    # digit) is a 404 before any query.
    normalised = accountnumbers.normalise(number)
    if not accountnumbers.is_valid(normalised):
        raise Http404()
    return get_object_or_404(
        DepositAccount.objects.select_related("bank"),
        number=normalised,
        owner=request.user,
        bank=request.bank,
        kind=DepositAccount.Kind.CUSTOMER,
    )


def _filtered_entries(request, account):
    data = request.GET.copy()
    if not any(name in data for name in HistoryFilterForm.base_fields):
        data["period"] = "1m"  # the first visit, and a page link of it
    form = HistoryFilterForm(data, today=timezone.localdate())
    if not form.is_valid():
        return form, None, account.entries.none()
    shown_range = (form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    # The date fields show the range a preset period stands for.
    form.data = form.data.copy()
    for name, day in zip(("date_from", "date_to"), shown_range, strict=True):
        form.data[name] = day.isoformat() if day else ""
    entries = selectors.account_entries(
        account=account,
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
        direction=form.cleaned_data["direction"],
    )
    return form, shown_range, entries


@customer_required
def account_history_view(request, number):
    account = _own_account(request, number)
    form, shown_range, entries = _filtered_entries(request, account)
    page = selectors.history_page(entries, older=request.GET.get("older"), newer=request.GET.get("newer"), size=HISTORY_PAGE_SIZE)
    query = request.GET.copy()
    for cursor in ("older", "newer", "page"):
        query.pop(cursor, None)
    context = {"account": account, "form": form, "page": page, "query": query.urlencode(), "shown_range": shown_range}
    # Bad filters show the form with its Korean message, as a 400.
    return render(request, "banking/account_history.html", context, status=200 if form.is_valid() else 400)


# Korean column names.
CSV_HEADER = ["거래일시", "구분", "적요", "상대", "출금", "입금", "거래 후 잔액"]


@customer_required
def account_history_csv_view(request, number):
    """거래내역 as CSV (same filters as the page, every row, oldest first),
    streamed: rows go out as the database cursor yields them, so a long
    history costs the worker no memory (issue 13)."""
    account = _own_account(request, number)
    form, _shown_range, entries = _filtered_entries(request, account)
    if not form.is_valid():
        errors = [str(error) for errors in form.errors.values() for error in errors]
        return HttpResponseBadRequest(" ".join(errors), content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_lines(entries.order_by("created_at", "id")), content_type="text/csv; charset=utf-8")
    filename = f"history-{account.number}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Line:
    """csv.writer's file: writerow returns the line it wrote."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(entries):
    writer = csv.writer(_Line(), lineterminator="\r\n")
    # The UTF-8 byte order mark makes Excel read the Korean as UTF-8.
    yield ("\ufeff" + writer.writerow(CSV_HEADER)).encode("utf-8")
    debit, credit = LedgerEntry.Direction.DEBIT, LedgerEntry.Direction.CREDIT
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.get_direction_display(),
                _csv_safe(entry.description),
                _csv_safe(entry.counterparty),
                entry.amount if entry.direction == debit else "",
                entry.amount if entry.direction == credit else "",
                entry.balance_after,
            ]
        ).encode("utf-8")


def _csv_safe(text: str) -> str:
    # SECURITY: a memo typed by another customer ("=HYPERLINK(...)") must not
    # become a formula when the file is opened in a spreadsheet (OWASP CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
