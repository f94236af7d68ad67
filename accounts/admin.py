from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import Customer
from bank.admin_site import ReadOnlyAdmin, staff_site
from core.models import SmsMessage
from flows import unlock


@admin.register(Customer, site=staff_site)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "login_id", "bank", "rrn_masked", "masked_phone", "is_active", "login_locked_at", "date_joined"]
    list_filter = ["bank", "is_active", "is_staff"]
    search_fields = ["name", "login_id", "rrn_masked", "username"]
    list_select_related = ["bank"]
    readonly_fields = [
        "username",
        "bank",
        "login_id",
        "rrn_masked",
        "date_joined",
        "signup_completed_at",
        "last_login",
        "failed_login_count",
        "login_locked_at",
        "identity_failed_count",
        "identity_locked_at",
    ]
    fields = readonly_fields[:4] + ["name", "phone", "email", "is_active"] + readonly_fields[4:]
    actions = ["unlock_logins"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.staff_customer_update(customer=obj, changed=form.changed_data, staff=request.user, request=request)

    @admin.display(description=_("휴대폰"))
    def masked_phone(self, obj):
        return obj.masked_phone

    @admin.action(description=_("선택한 고객의 로그인·본인확인·계좌 비밀번호 잠금 해제"), permissions=["change"])
    def unlock_logins(self, request, queryset):
        count = 0
        for customer in queryset:
            unlock.staff_unlock(customer=customer, staff=request.user, request=request)
            count += 1
        self.message_user(request, _("%(n)d명의 잠금을 해제했습니다.") % {"n": count}, messages.SUCCESS)


@admin.register(SmsMessage, site=staff_site)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "phone", "body"]
    search_fields = ["phone"]


staff_site.register(TOTPDevice, TOTPDeviceAdmin)
