"""Existing patients join a default site; existing visits get the copy of the date of birth."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def forwards(apps, schema_editor):
    Site = apps.get_model("assessment", "Site")
    Patient = apps.get_model("assessment", "Patient")
    Encounter = apps.get_model("assessment", "Encounter")
    if Patient.objects.filter(site__isnull=True).exists():
        site, _ = Site.objects.get_or_create(code="main", defaults={"name": "Main clinic"})
        Patient.objects.filter(site__isnull=True).update(site=site)
    born = Patient.objects.filter(pk=OuterRef("patient_id")).values("date_of_birth")[:1]
    Encounter.objects.filter(patient_born__isnull=True).update(patient_born=Subquery(born))


class Migration(migrations.Migration):
    dependencies = [("assessment", "0003_sites_history_tokens")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
