"""The 2024 skjermingsrente, 3.9 %, with its source (ARCHITECTURE 5d).

Skatteetaten sets the rate each January for the year before, from the average three-month
Treasury bill rate plus 0.5 percentage points, after 22 % tax, rounded to a tenth
(skatteloven § 10-12; FSFIN § 10-12-1). The cited figure agrees with that rule: the bills
stood near 4.5 % through 2024 (Norges Bank's policy rate was 4.5 % all year), so
(4.5 + 0.5) x 0.78 = 3.9. A row a user already filled in is left as it is.
"""

from decimal import Decimal

from django.db import migrations

SOURCE_2024 = (
    "Skjermingsrente: pengekroken.no, 'Skjermingsfradrag: Slik fungerer det i praksis': "
    "'For inntektsåret 2024 var skjermingsrenten 3,9 prosent' (https://pengekroken.no/?p=68); "
    "agrees with the rule of FSFIN § 10-12-1 (3-month Treasury bills + 0.5 pp, after 22 % "
    "tax). "
)


def ship(apps, schema_editor):
    TaxRate = apps.get_model("portfolios", "TaxRate")
    row, _ = TaxRate.objects.get_or_create(year=2024)
    if row.shielding_rate is None:
        row.shielding_rate = Decimal("0.039")
        row.source = SOURCE_2024 + (row.source or "")
        row.save(update_fields=["shielding_rate", "source"])


def unship(apps, schema_editor):
    TaxRate = apps.get_model("portfolios", "TaxRate")
    TaxRate.objects.filter(year=2024, shielding_rate=Decimal("0.039")).update(
        shielding_rate=None
    )


class Migration(migrations.Migration):
    dependencies = [("portfolios", "0010_import_job_language")]

    operations = [migrations.RunPython(ship, unship)]
