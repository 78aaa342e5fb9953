"""What a partner sent when it is refused (bad signature, not parseable, too large).

A refusal comes before the sender is authenticated, so anyone can cause one: each is
counted (the events' metrics, published on the bus without an outbox row) and only the
newest ``SAMPLES_KEPT`` of a source are kept as rows, each with at most ``SAMPLE_CHARS``
of its body, for investigation. Before, every refusal was a row of up to 20,000
characters (and an outbox row), without end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

# Rows kept per source (a PSP, the odds feed): enough to see what a misconfigured or
# hostile sender is sending, too few to matter however many it sends.
SAMPLES_KEPT = 100
# A sample's body: the start of it, enough to read its fields and see its shape.
SAMPLE_CHARS = 2_000


def refused_fields(body: bytes, max_length: int) -> Callable[[str], str | None]:
    """A reader of the body's top-level fields as truncated text (None when absent); a body
    that is not a JSON object reads as empty."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # a body nested thousands deep is partner input too
        data = {}
    if not isinstance(data, dict):
        data = {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value)[:max_length] if value is not None else None

    return text


def sample_body(body: bytes) -> str:
    """The start of a refused body as text (never more than SAMPLE_CHARS characters)."""
    return body[: SAMPLE_CHARS * 4].decode(errors="replace")[:SAMPLE_CHARS]


def prune_samples(
    session: Session, row_id: InstrumentedAttribute[Any], *source: ColumnElement[bool]
) -> None:
    """Delete the refused rows of one source (``source``: the conditions that select
    them) but the newest SAMPLES_KEPT, in the caller's transaction."""
    cutoff = (
        select(row_id).where(*source).order_by(row_id.desc()).offset(SAMPLES_KEPT).limit(1)
    ).scalar_subquery()
    session.execute(
        delete(row_id.class_).where(*source, row_id <= cutoff),
        execution_options={"synchronize_session": False},
    )
