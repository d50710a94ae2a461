from __future__ import annotations

from datetime import date

import factory
from django.contrib.auth.models import User

from assessment.models import Encounter, Lesion, LesionObservation, Membership, Patient, Site


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = "north"
    name = factory.LazyAttribute(lambda o: f"{o.code.title()} clinic")


class UserFactory(factory.django.DjangoModelFactory):
    """``roles=[(site, "clinician"), ...]`` makes the user a member of those sites."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-1234-word")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[tuple[Site, str]] | None,
              **kwargs: object) -> None:
        for site, role in extracted or []:
            Membership.objects.create(user=self, site=site, role=role)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    record_number = factory.Sequence(lambda n: f"P-{n:05d}")
    date_of_birth = date(2025, 6, 1)
    sex = "female"
    created_by = factory.SubFactory(UserFactory)
    updated_by = factory.SelfAttribute("created_by")


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Encounter

    patient = factory.SubFactory(PatientFactory)
    date = date(2026, 6, 1)
    patient_born = factory.SelfAttribute("patient.date_of_birth")
    clinic = factory.SelfAttribute("patient.site")
    clinician = factory.SelfAttribute("patient.created_by")
    created_by = factory.SelfAttribute("patient.created_by")
    updated_by = factory.SelfAttribute("patient.created_by")


class LesionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesion

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.site")
    site = "heel"
    created_by = factory.SelfAttribute("patient.created_by")
    updated_by = factory.SelfAttribute("patient.created_by")


class ObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LesionObservation

    encounter = factory.SubFactory(EncounterFactory)
    lesion = factory.SubFactory(LesionFactory, patient=factory.SelfAttribute("..encounter.patient"))
    count = 1
    created_by = factory.SelfAttribute("encounter.created_by")
    updated_by = factory.SelfAttribute("encounter.created_by")
