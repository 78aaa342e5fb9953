"""Dashboards as code: grafanalib sources (``dashboards/boards/``) rendered to the committed
``dashboards/<key>.json`` and the Grafana provisioning files, by ``pitwatch generate``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dashboards import provisioning
from dashboards.alerts import AlertSource
from dashboards.boards import BOARDS
from dashboards.build import render

# The boards of an optional product (ground.contract.PRODUCTS): not rendered for an
# operator without it (its file's ``products``).
PRODUCT_BOARDS = ("sportsbook", "casino", "affiliates", "kyc")


def boards_for(products: Iterable[str]) -> tuple[str, ...]:
    """The keys of the boards an operator with these products gets."""
    have = set(products)
    return tuple(k for k in BOARDS if k not in PRODUCT_BOARDS or k in have)


def dashboards(
    src: AlertSource | None = None, keys: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, by key of ``alert_rules.dashboard_uids.DASHBOARDS``
    (``keys``: only those)."""
    src = src or AlertSource.registered()
    wanted = set(BOARDS if keys is None else keys)
    return {key: render(build(src), src) for key, build in BOARDS.items() if key in wanted}


def artefacts(src: AlertSource | None = None, keys: Iterable[str] | None = None) -> dict[str, str]:
    """Every generated file of the dashboards: repository path -> content (``keys``:
    those boards only; default, the boards of the operator in force's products)."""
    if keys is None:
        from ground.vocabulary import PRODUCTS

        keys = boards_for(PRODUCTS)
    out = {
        f"dashboards/{key}.json": json.dumps(model, indent=2, sort_keys=True) + "\n"
        for key, model in dashboards(src, keys).items()
    }
    out.update(provisioning.files())
    return out


__all__ = ["artefacts", "boards_for", "dashboards"]
