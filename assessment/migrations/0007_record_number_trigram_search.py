"""Patient search (record number contains …) with a trigram index on PostgreSQL.

Django compiles ``record_number__icontains`` to ``UPPER(record_number::text) LIKE UPPER(%s)``;
a GIN trigram index on that expression answers it without reading every patient. Where the
pg_trgm extension cannot be created (no privilege), search still works, by scanning.
SQLite needs nothing: a registry that size belongs on PostgreSQL.
"""

from django.db import migrations

INDEX = "assessment_patient_record_number_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SAVEPOINT trgm")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no privilege: keep the unindexed search
            cursor.execute("ROLLBACK TO SAVEPOINT trgm")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON assessment_patient "
            "USING gin ((UPPER(record_number::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("assessment", "0006_scale_indexes")]
    operations = [migrations.RunPython(create, drop)]
