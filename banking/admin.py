from django.contrib import admin

from bank.admin_site import ReadOnlyAdmin, staff_site
from banking.models import Bank, DepositAccount, LedgerEntry


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
class DepositAccountAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "bank", "owner", "kind", "product_name", "balance", "pin_locked_at", "opened_at"]
    list_filter = ["bank", "kind"]
    search_fields = ["number", "owner__name", "owner__login_id"]
    list_select_related = ["bank", "owner"]
    exclude = ["pin_digest"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry, site=staff_site)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "direction", "amount", "balance_after", "description", "counterparty"]
    list_filter = ["direction", "account__bank"]
    search_fields = ["account__number", "description", "counterparty", "movement"]
    list_select_related = ["account", "account__bank"]
    date_hierarchy = "created_at"
