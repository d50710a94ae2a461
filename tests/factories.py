from __future__ import annotations

from datetime import date

import factory
from django.contrib.auth.models import Group, User

from assessment.models import Encounter, Lesion, LesionObservation, Patient


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-1234-word")

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

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
    clinician = factory.SelfAttribute("patient.created_by")
    created_by = factory.SelfAttribute("patient.created_by")
    updated_by = factory.SelfAttribute("patient.created_by")


class LesionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesion

    patient = factory.SubFactory(PatientFactory)
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
