"""The published Norwegian figures the app can cite (ARCHITECTURE 5d). A figure without a
citable source is left empty (the report shows it as missing); staff can fill or correct
any year in the admin or through PUT /api/v1/tax/rates/{year}.

shielding_rate: skjermingsrente for aksjonærmodellen (after tax), as a fraction.
tax_multiplier: oppjusteringsfaktor for share income (22 % x factor).
"""

from decimal import Decimal

from django.db import migrations

DNB = (
    "Skjermingsrente: DNB Nyheter, 'Slik virker skjermingsfradrag' (3 Dec 2024), table "
    "'Historisk skjermingsfradrag', source given there: Skatteetaten "
    "(https://dnb.no/dnbnyheter/no/bors-og-marked/slik-virker-skjermingsfradrag)."
)
REKNE = (
    "Skjermingsrente also: rekne.no, 'Skjermingsrente for inntektsåret' (Kjelde: "
    "Skatteetaten) (https://rekne.no/nyheiter/skjermingsrente-for-inntektsaret_a376/)."
)
SSB_2022 = (
    "Factor: SSB, 'Store utbytter til husholdningene i 2021': the rate for personal "
    "shareholders went from 31.68 % to 35.2 % from 1 Jan 2022 (22 % x 1.44 -> 22 % x 1.6); "
    "Finansavisen 3 Dec 2021: 'oppjusteringsfaktoren øket fra 1,44 til 1,6'."
)
ESTUDIE = (
    "Factor: estudie.no 'Aksjesparekonto': 'Effektiv skattesats for 2020 og 2021 er "
    "31,68 prosent' (= 22 % x 1.44)."
)
SKATTEETATEN_2023 = (
    "Factor: skatteetaten.no, 'Skatteregler (skjermingsregler) for gevinst/tap ved "
    "realisasjoner og aksjeutbytte': 'I 2023 skal aksjeinntekter multipliseres med 1,72'."
)
ABC_2024 = (
    "Factor: skatteetaten.no Skatte-ABC A-6 Aksjer - utbytte, pkt. 5.1 (inntektsåret "
    "2024): utbytte etter skjerming 'multipliseres med 1,72', sktl. § 10-11."
)
FACTOR_2025 = (
    "Factor: skatteetaten.no, 'Faktor for oppjustering av eigarinntekter': "
    "'Faktortalet for inntektsåret 2025 er 1,72'."
)

# year: (skjermingsrente in %, factor, sources)
PUBLISHED = {
    2007: ("3.3", None, DNB),
    2008: ("3.8", None, DNB),
    2009: ("1.3", None, DNB),
    2010: ("1.6", None, DNB),
    2011: ("1.5", None, DNB),
    2012: ("1.1", None, DNB),
    2013: ("1.1", None, DNB),
    2014: ("0.9", None, DNB),
    2015: ("0.6", None, DNB),
    2016: ("0.4", None, DNB),
    2017: ("0.7", None, f"{DNB} {REKNE}"),
    2018: ("0.8", None, f"{DNB} {REKNE}"),
    2019: ("1.3", None, f"{DNB} {REKNE}"),
    2020: ("0.6", "1.44", f"{DNB} {ESTUDIE}"),
    2021: ("0.5", "1.44", f"{DNB} {ESTUDIE} {SSB_2022}"),
    2022: ("1.7", "1.6", f"{DNB} {SSB_2022}"),
    2023: ("3.2", "1.72", f"{DNB} {SKATTEETATEN_2023}"),
    # The 2024 and 2025 skjermingsrente: no citable figure found; left missing.
    2024: (None, "1.72", ABC_2024),
    2025: (None, "1.72", FACTOR_2025),
}


def ship(apps, schema_editor):
    TaxRate = apps.get_model("portfolios", "TaxRate")
    for year, (percent, factor, source) in PUBLISHED.items():
        TaxRate.objects.update_or_create(
            year=year,
            defaults={
                "shielding_rate": None if percent is None else Decimal(percent) / 100,
                "tax_multiplier": None if factor is None else Decimal(factor),
                "source": source,
            },
        )


def unship(apps, schema_editor):
    apps.get_model("portfolios", "TaxRate").objects.filter(year__in=PUBLISHED).delete()


class Migration(migrations.Migration):
    dependencies = [("portfolios", "0007_tax_rates")]

    operations = [migrations.RunPython(ship, unship)]
