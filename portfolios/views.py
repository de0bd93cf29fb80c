from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portfolios.models import Portfolio


def home(request: HttpRequest) -> HttpResponse:
    portfolios = Portfolio.objects.for_overview(request.user)
    return render(request, "portfolios/home.html", {"portfolios": portfolios})
