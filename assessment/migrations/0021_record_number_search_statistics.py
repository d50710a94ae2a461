"""Statistics on the upper-cased record number, the expression a patient search filters on
(PostgreSQL only).

Without them the planner guesses that a search ``UPPER(record_number) LIKE '%SYN00500%'``
matches 1% of the registry, 1,000 rows at 100,000 patients. For the list's first page
(``ORDER BY record_number LIMIT 25``) it then walks the record-number index in order and filters
each row, expecting 25 matches soon; the hundred real matches sat in the middle, so the search
read 50,000 rows and took 14 ms instead of about 1 ms through the trigram index. With the
expression's statistics the estimate is about 10 rows for such a search (and the walk is still
chosen for a broad one, such as "SYN0", where it is right).
"""

from django.db import migrations

STATISTICS = "assessment_patient_record_number_upper_stats"
TABLE = "assessment_patient"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} "
                       f"ON (UPPER(record_number::text)) FROM {TABLE}")
        # Gathered now, not at autovacuum's next pass (ANALYZE reads a sample of 30,000 rows).
        cursor.execute(f"ANALYZE {TABLE}")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("assessment", "0020_record_number_trigram_no_pending_list")]
    operations = [migrations.RunPython(create_statistics, drop_statistics)]
