from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AssessmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessment"
    verbose_name = "Calcinosis assessment"

    def ready(self) -> None:
        from .roles import ensure_groups

        # Permissions exist only after migrate has run, so roles are set up then.
        post_migrate.connect(ensure_groups, sender=self)
