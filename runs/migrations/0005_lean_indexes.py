"""Fewer indexes on the tables the orchestrator writes for every call.

Foreign keys that lead a composite index lose their own index, and on PostgreSQL the
``varchar_pattern_ops`` twins Django adds to text keys go: nothing here matches IDs with LIKE,
and each index is one more write per row inserted or updated.
"""

import django.db.models.deletion
from django.db import migrations, models

PATTERN_INDEXED = {
    "run": ["id", "parent"],
    "step": ["id"],
    "execution": ["id", "session"],
    "dependency": ["dependency"],
    "result": ["execution", "successor"],
}


def _pattern_indexes(apps, schema_editor):
    for model_name, field_names in PATTERN_INDEXED.items():
        model = apps.get_model("runs", model_name)
        for field_name in field_names:
            yield model, model._meta.get_field(field_name)


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _pattern_indexes(apps, schema_editor):
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _pattern_indexes(apps, schema_editor):
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0004_metrics"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dependency",
            name="execution",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="dependencies",
                to="runs.execution",
            ),
        ),
        migrations.AlterField(
            model_name="execution",
            name="step",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="executions",
                to="runs.step",
            ),
        ),
        migrations.AlterField(
            model_name="step",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="children",
                to="runs.execution",
            ),
        ),
        migrations.AlterField(
            model_name="step",
            name="run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="steps",
                to="runs.run",
            ),
        ),
        migrations.RunPython(drop_pattern_indexes, create_pattern_indexes),
    ]
