"""The catalog's own rules: a clash, a bad name, an unbounded or a forbidden label fails."""

from __future__ import annotations

import pytest

from collectors.catalog import METRICS
from collectors.catalog.base import CatalogError, LabelDomain, Metric, validate
from collectors.catalog.labels import GEO

OPEN = LabelDomain("anything")


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (
            (Metric("igaming_x", "counter", "x"), Metric("igaming_x", "gauge", "y")),
            "declared twice",
        ),
        (
            (Metric("igaming_x", "counter", "x"), Metric("igaming_x_total", "gauge", "y")),
            "declared twice",
        ),
        ((Metric("deposits", "counter", "x"),), "must match"),
        ((Metric("igaming_x_total", "counter", "x"),), "without _total"),
        (
            (Metric("igaming_lag", "histogram", "x", unit="seconds", buckets=(1.0,)),),
            "ends with _seconds",
        ),
        ((Metric("igaming_lag_seconds", "histogram", "x", unit="seconds"),), "buckets"),
        ((Metric("igaming_x", "counter", "x", labels=(OPEN,)),), "no bounded set"),
        (
            (Metric("igaming_x", "counter", "x", labels=(LabelDomain("email", ("a",)),)),),
            "identifies",
        ),
        ((Metric("igaming_x", "counter", "x", labels=(GEO, GEO)),), "listed twice"),
    ],
)
def test_a_bad_declaration_is_refused(metrics, message):
    with pytest.raises(CatalogError, match=message):
        validate(metrics)


def test_the_shipped_catalog_is_valid_and_every_name_is_unique():
    validate(METRICS)
    assert len({m.exposed_name for m in METRICS}) == len(METRICS)


def test_a_label_value_outside_its_domain_is_folded_into_other():
    assert GEO.bound("DE") == "DE"
    assert GEO.bound("ZZ") == "other"
    assert LabelDomain("affiliate", open_top_n=2).bound("aff9", known=("aff1", "aff2")) == "other"
