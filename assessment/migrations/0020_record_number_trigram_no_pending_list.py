"""The record-number trigram index without a GIN pending list (PostgreSQL only).

By default a GIN index collects new entries in a "pending list" that every search scans in
full until a vacuum merges it into the index. After 100,000 patients were registered, the list
held 130 pages and a record-number search took 3–4 ms instead of about 2 ms, until autovacuum
happened to run. Patients are added one at a time, so writing each one's trigrams straight into
the index costs nothing a user notices; searches then cost the same whenever vacuum last ran.
"""

from django.db import migrations

INDEX = "assessment_patient_record_number_trgm"


def _index_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])
    return bool(cursor.fetchone()[0])


def no_pending_list(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not _index_exists(cursor):  # pg_trgm could not be created (0007): nothing to tune
            return
        cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
        # Turning the list off keeps what it holds; merge that into the index now.
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [INDEX])


def pending_list(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("assessment", "0019_reassessment")]
    operations = [migrations.RunPython(no_pending_list, pending_list)]
