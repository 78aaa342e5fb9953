"""What the simulators' admin APIs may show and accept of their secrets and paths.

The simulators have no authentication (they are bound to 127.0.0.1 by default): their
``GET /admin/config`` shows every secret as ``REDACTED``; a document sent back with that
marker (the traffic simulator reads a config and puts one entry back) keeps the secret in
force. A report folder given in a request must stay under the configured base directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REDACTED = "<redacted>"
SECRET_KEYS = frozenset({"secret"})


class PathRefused(ValueError):
    """A path from a request that would leave the base directory; one line."""


def redact(doc: Any) -> Any:
    """``doc`` (JSON-like) with the value of every secret key, when set, as REDACTED."""
    if isinstance(doc, dict):
        return {k: (REDACTED if k in SECRET_KEYS and v else redact(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [redact(v) for v in doc]
    return doc


def keep_secrets(new: Any, current: Any) -> Any:
    """``new`` with every secret that is REDACTED replaced by the value at the same place
    in ``current`` (None where there is none): a redacted document put back changes no
    secret, and the marker never becomes one."""
    if not isinstance(new, dict):
        return new
    here = current if isinstance(current, dict) else {}
    out = {}
    for k, v in new.items():
        if k in SECRET_KEYS and v == REDACTED:
            out[k] = here.get(k)
        else:
            out[k] = keep_secrets(v, here.get(k))
    return out


def under(base: str | Path, relative: str) -> Path:
    """``relative`` resolved under ``base``; PathRefused for an absolute path, a parent
    step, or one that leaves ``base`` through a symbolic link."""
    path = Path(relative)
    if path.is_absolute() or relative.startswith(("/", "\\")) or ".." in path.parts:
        raise PathRefused(
            f"out_dir must be a path relative to the report folder, without '..': {relative!r}"
        )
    root = Path(base).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise PathRefused(f"out_dir leaves the report folder: {relative!r}")
    return target
