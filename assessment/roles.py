"""Groups that carry the app's permissions. Created after every migrate so a fresh database (and
the test database) always has them; per-site membership arrives with the trust issue."""

from __future__ import annotations

from typing import Any

CLINICIANS = "Clinicians"
REVIEWERS = "Reviewers"
CLINICAL_MODELS = ("patient", "encounter", "lesion", "lesionobservation", "labresult",
                   "imagingfinding", "assessment", "assessmentdecision")


def _codenames(actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"{action}_{model}" for action in actions for model in models]


ROLE_PERMISSIONS = {
    CLINICIANS: _codenames(("view", "add", "change"), CLINICAL_MODELS),
    REVIEWERS: [*_codenames(("view",), CLINICAL_MODELS), "change_encounter"],
}


def ensure_groups(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="assessment",
                                                codename__in=codenames)
        group.permissions.set(permissions)
