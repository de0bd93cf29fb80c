# ruff: noqa: E402, E501
"""Reproduce the tax pages' slowness: demo household + 10,000 generated transactions.
Usage: DATABASE_URL=sqlite:////tmp/perf.sqlite3 MARKETDATA_PROVIDER=demo STATIC_FROM_SOURCE=1
  .venv/bin/python tests/benchmarks/measure_tax.py setup|time|profile NAME|dump FILE"""

from __future__ import annotations

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "financedash.settings")
import django

django.setup()
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client


def setup():
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("load_demo", verbosity=0)
    from marketdata.models import Instrument
    from marketdata.providers import demo
    from portfolios import services
    from portfolios.models import Portfolio

    user = get_user_model().objects.get(username="demo")
    insts = [i for i in Instrument.objects.order_by("ticker") if i.ticker in demo.BY_SYMBOL][:20]
    print("instruments", len(insts))
    pf = Portfolio.objects.filter(user=user).exclude(kind="ask").order_by("pk").first()
    print("portfolio", pf, pf.currency, pf.kind)
    rnd = random.Random(7)
    today = date.today()
    start = today - timedelta(days=3650)
    days = [
        start + timedelta(days=n) for n in range(3650) if (start + timedelta(days=n)).weekday() < 5
    ]
    # 500 per instrument, in date order
    held = {i.pk: Decimal(0) for i in insts}
    per = {i.pk: [] for i in insts}
    for inst in insts:
        picks = sorted(rnd.sample(days, 500))
        for d in picks:
            price = demo.close_on(inst.ticker, d)
            r = rnd.random()
            if held[inst.pk] > 20 and r < 0.3:
                q = Decimal(rnd.randint(1, int(held[inst.pk] // 2)))
                per[inst.pk].append(
                    services.NewTransaction(inst, "SELL", d, q, price, Decimal("9"))
                )
                held[inst.pk] -= q
            elif held[inst.pk] > 0 and r < 0.4:
                per[inst.pk].append(
                    services.NewTransaction(
                        inst, "DIVIDEND", d, held[inst.pk], Decimal("0.25"), Decimal("0.5")
                    )
                )
            else:
                q = Decimal(rnd.randint(1, 50))
                per[inst.pk].append(services.NewTransaction(inst, "BUY", d, q, price, Decimal("9")))
                held[inst.pk] += q
    for inst in insts:
        services.record_transactions(pf, per[inst.pk])
    from portfolios.models import Transaction

    print("transactions", Transaction.objects.filter(portfolio__user=user).count())


def paths(client, user):
    from portfolios.models import Holding

    h = Holding.objects.filter(portfolio__user=user).order_by("-pk").first()
    return [
        ("lots", f"/holdings/{h.pk}/lots/", {"HTTP_HX_REQUEST": "true"}),
        ("dashboard_tax", "/dashboard/tax/", {"HTTP_HX_REQUEST": "true"}),
        ("tax_2023", "/tax/2023/", {}),
        ("api_tax_2023", "/api/v1/tax/2023", {}),
    ]


def timeit():
    user = get_user_model().objects.get(username="demo")
    c = Client()
    c.force_login(user)
    for name, url, extra in paths(c, user):
        cache.clear()
        t = time.perf_counter()
        r = c.get(url, **extra)
        cold = time.perf_counter() - t
        assert r.status_code == 200, (url, r.status_code)
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            r2 = c.get(url, **extra)
            warm.append(time.perf_counter() - t)
        print(
            f"{name:15s} cold {cold * 1000:7.0f} ms  warm {min(warm) * 1000:6.0f} ms  same={r.content == r2.content}"
        )


def profile(which):
    import cProfile
    import pstats

    user = get_user_model().objects.get(username="demo")
    c = Client()
    c.force_login(user)
    p = {n: (u, e) for n, u, e in paths(c, user)}[which]
    cache.clear()
    c.get(p[0], **p[1])
    cache.clear()
    pr = cProfile.Profile()
    pr.enable()
    c.get(p[0], **p[1])
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(35)


def dump(path):
    """Every figure of the four paths, for before/after comparison."""
    user = get_user_model().objects.get(username="demo")
    c = Client()
    c.force_login(user)
    with open(path, "wb") as f:
        for _name, url, extra in paths(c, user):
            cache.clear()
            f.write(c.get(url, **extra).content)
            f.write(c.get("/tax/2021/").content)
            f.write(c.get("/api/v1/tax/2019").content)


cmd = sys.argv[1]
if cmd == "setup":
    setup()
elif cmd == "time":
    timeit()
elif cmd == "profile":
    profile(sys.argv[2])
elif cmd == "dump":
    dump(sys.argv[2])
