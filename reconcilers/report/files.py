"""Where a day's reports go, and writing one so that a report that exists is complete."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TextIO


def report_paths(out_dir: Path, day: date) -> tuple[Path, Path, Path]:
    """The breaks CSV, the HTML report and the rejects CSV of one reconciled day."""
    stem = f"reconciliation-{day.isoformat()}"
    return (
        out_dir / f"{stem}.csv",
        out_dir / f"{stem}.html",
        out_dir / f"{stem}-rejects.csv",
    )


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text handle (newlines written as given) on a temporary file beside ``path``,
    renamed to ``path`` once written: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        yield handle
    tmp.replace(path)
