from __future__ import annotations

from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "portfolios"

    def ready(self):
        from financedash.lib import versions
        from portfolios import push

        # Every write to a portfolio bumps its version stamp (portfolios.services): its
        # open sockets get the new figures after the commit.
        versions.on_bump(push.stamp_bumped)
