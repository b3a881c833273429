"""The update log keeps one index on its document: the unique (document, seq) one.

Django's AlterField would drop and re-create the foreign key as well, which
checks every row of the log under a lock that stops appends; only the index
needs to go, so the database side is just that.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "documents_documentupdate"


def _document_only_indexes(schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == ["document_id"]
    ]


def drop_index(apps, schema_editor):
    for name in _document_only_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_index(apps, schema_editor):
    if not _document_only_indexes(schema_editor):
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(TABLE + '_document_id_d238ca07')} "
            f"ON {schema_editor.quote_name(TABLE)} (document_id)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0010_notification_unmailed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="documentupdate",
                    name="document",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="updates",
                        to="documents.document",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, restore_index)],
        ),
    ]
