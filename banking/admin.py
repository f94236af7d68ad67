import re

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bank.admin_site import ReadOnlyAdmin, staff_site
from banking.models import DepositAccount, LedgerEntry, Transfer
from certificates import verify
from core.models import Bank

# An account number as the bank prints it: digit groups joined by hyphens
# (901-10-8941265-2, 903-1000-123456). Stored numbers are digits only.
HYPHENATED_NUMBER = re.compile(r"[0-9]+(?:-[0-9]+)+")


def account_number_terms(search_term: str) -> str:
    """The search terms with each hyphenated account number as its digits,
    so staff find an account by the number they read on a screen or paper."""
    return " ".join(term.replace("-", "") if HYPHENATED_NUMBER.fullmatch(term) else term for term in search_term.split())


class AccountNumberSearchMixin:
    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, account_number_terms(search_term))


@admin.register(Bank, site=staff_site)
class BankAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_ko", "name_en", "slug", "colour"]


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ["created_at", "direction", "amount", "balance_after", "description", "counterparty"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DepositAccount, site=staff_site)
class DepositAccountAdmin(AccountNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["display_number", "bank", "owner", "kind", "product_name", "balance", "pin_locked_at", "opened_at"]
    list_filter = ["bank", "kind"]
    search_fields = ["number", "owner__name", "owner__login_id"]
    list_select_related = ["bank", "owner"]
    exclude = ["pin_digest"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry, site=staff_site)
class LedgerEntryAdmin(AccountNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["created_at", "account", "direction", "amount", "balance_after", "description", "counterparty"]
    list_filter = ["direction", "account__bank"]
    search_fields = ["account__number", "description", "counterparty", "movement"]
    list_select_related = ["account", "account__bank"]
    date_hierarchy = "created_at"


class AmountRangeFilter(admin.SimpleListFilter):
    title = _("이체금액")
    parameter_name = "amount_range"
    RANGES = {
        "lt1m": (None, 1_000_000),
        "1m-3m": (1_000_000, 3_000_000),
        "3m-10m": (3_000_000, 10_000_000),
        "ge10m": (10_000_000, None),
    }

    def lookups(self, request, model_admin):
        return [
            ("lt1m", _("100만원 미만")),
            ("1m-3m", _("100만원 ~ 300만원")),
            ("3m-10m", _("300만원 ~ 1,000만원")),
            ("ge10m", _("1,000만원 이상")),
        ]

    def queryset(self, request, queryset):
        low, high = self.RANGES.get(self.value(), (None, None))
        if low is not None:
            queryset = queryset.filter(amount__gte=low)
        if high is not None:
            queryset = queryset.filter(amount__lt=high)
        return queryset


@admin.register(Transfer, site=staff_site)
class TransferAdmin(AccountNumberSearchMixin, ReadOnlyAdmin):
    """계좌이체 as staff see them: searchable, read-only, with the evidence."""

    list_display = [
        "created_at",
        "customer",
        "from_number",
        "to_bank",
        "to_number",
        "amount_won",
        "fee",
        "signed_mark",
    ]
    list_filter = ["from_account__bank", "to_bank", "created_at", AmountRangeFilter]
    # Customer (name, login ID), account numbers (with or without hyphens),
    # transfer number; an amount typed as digits (with or without separators)
    # matches exactly.
    search_fields = ["customer__name", "customer__login_id", "from_account__number", "to_account__number", "=reference"]
    search_help_text = _("고객 이름·아이디, 계좌번호, 이체 번호 또는 금액(숫자)으로 찾습니다.")
    list_select_related = ["customer", "from_account__bank", "to_account__bank", "to_bank"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "created_at",
        "status",
        "customer",
        "from_account",
        "to_bank",
        "to_account",
        "recipient_name",
        "amount",
        "fee",
        "memo_mine",
        "memo_theirs",
        "signed_text_display",
        "signer_certificate_display",
        "verification_display",
        "verified_at",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        digits = search_term.replace(",", "").replace("원", "").strip()
        if digits.isdigit() and len(digits) <= 13 and not digits.startswith("0"):
            by_amount = queryset.filter(amount=int(digits))
            others, may_have_duplicates = super().get_search_results(request, queryset, search_term)
            return others | by_amount, may_have_duplicates
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("출금계좌"), ordering="from_account__number")
    def from_number(self, obj):
        return obj.from_account.display_number

    @admin.display(description=_("입금계좌"), ordering="to_account__number")
    def to_number(self, obj):
        return obj.to_account.display_number

    @admin.display(description=_("이체금액"), ordering="amount")
    def amount_won(self, obj):
        return f"{obj.amount:,}원"

    @admin.display(description=_("전자서명"), boolean=True)
    def signed_mark(self, obj):
        return obj.signed

    @admin.display(description=_("서명 원문"))
    def signed_text_display(self, obj):
        if not obj.signed:
            return "-"
        return format_html('<pre class="staff-signed-text">{}</pre>', obj.signed_text)

    @admin.display(description=_("서명 인증서"))
    def signer_certificate_display(self, obj):
        certificate = obj.signer_certificate
        if certificate is None:
            return "-"
        url = reverse("admin:certificates_certificate_change", args=[certificate.pk])
        return format_html(
            '<a href="{}">{}</a> · {} · {}', url, certificate.subject, certificate.serial, certificate.get_status_display()
        )

    @admin.display(description=_("서명 검증 결과"))
    def verification_display(self, obj):
        """Checked again now, over the stored bytes, with the stored certificate."""
        if not obj.signed:
            return _("전자서명 없음")
        scheme = verify.signature_scheme(
            certificate_der=bytes(obj.signer_certificate.der), signature=bytes(obj.signature), data=bytes(obj.signed_bytes)
        )
        if scheme is None:
            return _("검증 실패: 저장된 서명이 원문과 맞지 않습니다")
        return _("검증됨 (%(scheme)s, 거래 시 검증 %(at)s)") % {
            "scheme": {"pkcs1v15": "RSASSA-PKCS1-v1_5/SHA-256", "pss": "RSASSA-PSS/SHA-256"}[scheme],
            "at": timezone.localtime(obj.verified_at).strftime("%Y-%m-%d %H:%M:%S"),
        }
