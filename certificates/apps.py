from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

# Staff roles as Django groups. The console (certificates/admin.py) checks the
# permissions, never the group names.
TELLER_GROUP = "창구 직원"
SECURITY_OFFICER_GROUP = "보안 책임자"
_VIEW = [
    ("certificates", "certificate", "view_certificate"),
    ("certificates", "certificateregistration", "view_certificateregistration"),
    ("certificates", "clouddevice", "view_clouddevice"),
    ("accounts", "customer", "view_customer"),
    ("banking", "depositaccount", "view_depositaccount"),
    ("banking", "ledgerentry", "view_ledgerentry"),
    ("banking", "transfer", "view_transfer"),
    ("audit", "auditevent", "view_auditevent"),
]
_SUSPEND = ("certificates", "certificate", "suspend_certificate")
STAFF_ROLES = {
    TELLER_GROUP: [*_VIEW, _SUSPEND],
    SECURITY_OFFICER_GROUP: [
        *_VIEW,
        _SUSPEND,
        ("certificates", "certificate", "revoke_certificate"),
        ("accounts", "customer", "change_customer"),
    ],
}


def _permission_name(model, codename: str) -> str:
    # The name django.contrib.auth.management.create_permissions would give.
    custom = dict(model._meta.permissions)
    if codename in custom:
        return str(custom[codename])
    return f"Can {codename.split('_', 1)[0]} {model._meta.verbose_name_raw}"


def staff_roles_ensure(*, apps, using: str) -> None:
    """Create the role groups and give them at least their permissions.

    Additive: a permission an administrator added to a group stays. Content
    types and permissions are fetched with get_or_create on Django's own keys
    because another app's post_migrate (which creates them) may not have run
    yet; when it runs it finds them and leaves them be.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group_name, wanted in STAFF_ROLES.items():
        group, _created = Group.objects.using(using).get_or_create(name=group_name)
        permissions = []
        for app_label, model_name, codename in wanted:
            model = apps.get_model(app_label, model_name)
            content_type, _created = ContentType.objects.using(using).get_or_create(app_label=app_label, model=model_name)
            permission, _created = Permission.objects.using(using).get_or_create(
                content_type=content_type, codename=codename, defaults={"name": _permission_name(model, codename)}
            )
            permissions.append(permission)
        group.permissions.add(*permissions)


def _staff_roles_after_migrate(sender, *, using, apps=global_apps, **kwargs):
    # A post_migrate handler rather than a data migration: Django re-sends
    # post_migrate after the flush that ends each transactional test (and
    # after `manage.py flush`), which would otherwise wipe rows a data
    # migration created, leaving seed_demo without its groups. A flush sends
    # no `apps`: the current models are used then.
    try:
        for app_label, model_name in [("auth", "Group"), ("contenttypes", "ContentType"), ("certificates", "Certificate")]:
            apps.get_model(app_label, model_name)
    except LookupError:  # a partial migrate (e.g. `migrate certificates zero`)
        return
    staff_roles_ensure(apps=apps, using=using)


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("인증서")

    def ready(self):
        post_migrate.connect(_staff_roles_after_migrate, sender=self, dispatch_uid="certificates.staff_roles")
