"""Reading what a partner sent when it is refused (bad signature, not parseable), so that
it can be kept for investigation whatever shape it has."""

from __future__ import annotations

import json
from collections.abc import Callable


def refused_fields(body: bytes, max_length: int) -> Callable[[str], str | None]:
    """A reader of the body's top-level fields as truncated text (None when absent); a body
    that is not a JSON object reads as empty."""
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value)[:max_length] if value is not None else None

    return text
