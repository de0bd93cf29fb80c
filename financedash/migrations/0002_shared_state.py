from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations, models

# Fixed here rather than read from settings: the table must exist whichever cache the
# settings choose today, so that unsetting REDIS_URL later needs no extra step.
CACHE_TABLE = "financedash_cache"


def create_cache_table(apps, schema_editor):
    # createcachetable's own table definition; it skips a table that already exists.
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("financedash", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VersionStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=64, unique=True)),
                ("value", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
