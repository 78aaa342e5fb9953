"""The strict CSV reading the two file sources (``psp_reports``, ``affiliate_export``)
share. A file that cannot be read as a whole (missing, wrong header, not UTF-8) raises
SourceError. A row that cannot be parsed becomes a reject (REJECTS) with a reason naming the
column and the line as written: nothing is dropped, rows + rejects = data records (= data
lines, unless a quoted field holds a line break; source_line is the line a record starts on).

Rows are checked and parsed by one DuckDB query over all-VARCHAR columns (vectorised, in
parallel). DuckDB's CSV reader reads the file when it has one record per line, the usual
case; any other file (blank lines, line breaks inside quotes, a wrong number of fields, bad
quoting) is split into records by Python's csv module (RFC 4180) for the same query.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconcilers.errors import SourceError
from reconcilers.frames import ARROW_OUTPUT, arrow_to_pandas
from reconcilers.sources.sql import col, sql_text

SCAN_CHUNK_BYTES = 1 << 24
MAX_HEADER_BYTES = 1 << 16


@dataclass(frozen=True)
class CsvSpec:
    """A strict CSV format: its header, and SQL over its columns (VARCHAR, '' when empty)
    that derives values, finds the first problem of a row and computes the output."""

    source: str  # REJECTS.source
    columns: tuple[str, ...]
    derived: tuple[tuple[str, str], ...]  # (name, SQL), usable by checks and outputs
    checks: tuple[tuple[str, str], ...]  # (SQL true when the row is bad, SQL reason)
    outputs: tuple[tuple[str, str], ...]  # (frame column, SQL)


@dataclass(frozen=True)
class Scan:
    data_lines: int
    has_quotes: bool


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Line numbers come from row order, which this keeps.
    con.execute("SET preserve_insertion_order = true")
    for setting in ARROW_OUTPUT:
        con.execute(setting)
    return con


def read_strict_csv(
    path: Path,
    spec: CsvSpec,
    *,
    params: Mapping[str, object] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the parsed rows with source_file and source_line, their rejects) of one file;
    SourceError when the file cannot be read as a whole."""
    rows, rejects = read_strict_csv_arrow(path, spec, params=params, con=con)
    return arrow_to_pandas(rows), rejects


def read_strict_csv_arrow(
    path: Path,
    spec: CsvSpec,
    *,
    params: Mapping[str, object] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """``read_strict_csv`` with the rows as an Arrow table (source_file dictionary-encoded),
    for a caller that gathers several files before one conversion to pandas."""
    scan = scan_file(path, spec.columns)
    if con is None:
        with connect() as own:
            return read_strict_csv_arrow(path, spec, params=params, con=own)
    structural: list[dict[str, object]] = []
    # DuckDB would read a path with glob characters as a pattern.
    globbed = any(c in str(path) for c in "*?[]{}")
    checked = None if globbed else _check_fast(con, path, spec, params or {})
    if checked is not None and checked.num_rows != scan.data_lines:
        # Not one record per line (blank lines, line breaks inside quotes).
        checked = None
    fast = checked is not None
    if checked is None:
        checked, structural = check_records(con, path, spec, params or {})
    bad = pc.is_valid(checked["_reason"])
    found = arrow_to_pandas(checked.filter(bad).select(["_line", "_reason", "_raw"]))
    found.columns = ["source_line", "reason", "raw"]
    if fast and scan.has_quotes and len(found):
        found["raw"] = raw_lines(path, found["raw"], found["source_line"])
    return finish(checked, found, structural, spec, path.name)


def finish(
    checked: pa.Table,
    found: pd.DataFrame,
    structural: list[dict[str, object]],
    spec: CsvSpec,
    file_name: str,
) -> tuple[pa.Table, pd.DataFrame]:
    """(rows, rejects) of a checked table: ``found`` its rejected rows (source_line, reason,
    raw), ``structural`` the records that never reached the query."""
    bad = pc.is_valid(checked["_reason"])
    rejects = gather_rejects(found, structural, spec, file_name)
    rows = checked.filter(pc.invert(bad)) if len(rejects) else checked
    rows = rows.select([*(name for name, _ in spec.outputs), "_line"])
    rows = rows.rename_columns([*(name for name, _ in spec.outputs), "source_line"])
    files = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows.num_rows, dtype=np.int8)), pa.array([file_name])
    )
    return rows.append_column("source_file", files), rejects


def gather_rejects(
    found: pd.DataFrame, structural: list[dict[str, object]], spec: CsvSpec, file_name: str
) -> pd.DataFrame:
    """REJECTS of one file: the rows its query refused (``found``: source_line, reason, raw)
    and the records that never reached it (``structural``), in line order."""
    if structural:
        found = pd.concat([found, pd.DataFrame(structural, columns=found.columns)])
        found = found.sort_values("source_line", kind="stable")
    return found.assign(source=spec.source, source_file=file_name).reset_index(drop=True)


# -- the file as a whole ----------------------------------------------------------------------


def open_source(path: Path) -> BinaryIO:
    """A partner file opened for reading; SourceError (one line) when it cannot be."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise SourceError(path, "missing") from None
    except IsADirectoryError:
        raise SourceError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror or exc})") from None


def scan_file(path: Path, columns: Sequence[str]) -> Scan:
    """Check the header, the encoding and count the data lines, in one streaming pass."""
    with open_source(path) as fh:
        first = fh.readline(MAX_HEADER_BYTES + 1)
        check_header(path, first, columns)
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = newlines = 0
        quotes = False
        last = b""
        while chunk := fh.read(SCAN_CHUNK_BYTES):
            pending = decoder.getstate()[0]
            if pending or not chunk.isascii():  # ASCII is UTF-8: skip the decoding
                _decode(path, decoder, chunk, offset - len(pending))
            newlines += chunk.count(b"\n")
            quotes = quotes or b'"' in chunk
            offset += len(chunk)
            last = chunk[-1:]
        _decode(path, decoder, b"", offset - len(decoder.getstate()[0]), final=True)
    lines = newlines + (0 if last == b"\n" else 1)
    return Scan(data_lines=lines - 1, has_quotes=quotes)


def _decode(path: Path, decoder: codecs.IncrementalDecoder, chunk: bytes, at: int, **kw) -> None:
    try:
        decoder.decode(chunk, **kw)
    except UnicodeDecodeError as exc:
        # exc.object is the decoder's pending bytes followed by the chunk; ``at`` is where
        # that buffer starts in the file.
        byte = exc.object[exc.start]
        where = at + exc.start
        raise SourceError(path, f"not UTF-8 (byte 0x{byte:02x} at offset {where})") from None


def check_header(path: Path, first: bytes, columns: Sequence[str]) -> None:
    """The first line must be exactly ``columns``, in order."""
    expected = ",".join(columns)
    if not first:
        raise SourceError(path, f"is empty (expected the header {expected!r})")
    if len(first) > MAX_HEADER_BYTES:
        raise SourceError(path, f"first line is over {MAX_HEADER_BYTES} bytes (not a header)")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise SourceError(path, f"not UTF-8 (byte 0x{byte:02x} at offset {exc.start})") from None
    text = text.removesuffix("\n").removesuffix("\r")
    try:
        fields = next(csv.reader([text], strict=True), [])
    except csv.Error:
        fields = []
    if fields != list(columns):
        bom = "; the file starts with a byte order mark" if text.startswith("\ufeff") else ""
        shown = text if len(text) <= 300 else text[:300] + "..."
        raise SourceError(path, f"header is {shown!r} (expected {expected!r}{bom})")


# -- rows ---------------------------------------------------------------------------------------


def _check_fast(
    con: duckdb.DuckDBPyConnection, path: Path, spec: CsvSpec, params: Mapping[str, object]
) -> pa.Table | None:
    """DuckDB reads the file (lines numbered by their order: the caller checks that there
    is one record per line); None when it refuses its structure (a wrong number of fields,
    bad quoting)."""
    try:
        values = {**params, "path": str(path)}
        checked = con.sql(query(spec, file_source(spec)), params=values).to_arrow_table()
    except duckdb.Error:
        return None
    # The n-th record is line n + 1 (after the header). Numbered here: row_number() OVER ()
    # would make DuckDB run the whole query on one thread (2.5 s → 4.6 s a 2.5M-row file).
    lines = pa.array(np.arange(2, checked.num_rows + 2, dtype=np.int64))
    return checked.set_column(checked.schema.get_field_index("_line"), "_line", lines)


def raw_lines(path: Path, raws: pd.Series, lines: pd.Series) -> pd.Series:
    """The rejected lines as written (quotes and all), which joined fields are not."""
    wanted = set(lines[raws.notna()])
    found: dict[int, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for number, text in enumerate(fh, start=1):
            if number in wanted:
                found[number] = text.removesuffix("\n").removesuffix("\r")
    return lines.map(found).where(raws.notna(), None)


def check_frame(
    con: duckdb.DuckDBPyConnection,
    spec: CsvSpec,
    frame: pd.DataFrame,
    params: Mapping[str, object],
) -> tuple[pa.Table, pd.DataFrame]:
    """The spec's query over records already split (``frame``: _line, _raw and the spec's
    columns as text): (the checked table, its rejected rows as ``finish`` takes them)."""
    con.register("_records", frame)
    try:
        checked = con.sql(query(spec, "_records"), params=dict(params)).to_arrow_table()
    finally:
        con.unregister("_records")
    bad = pc.is_valid(checked["_reason"])
    found = arrow_to_pandas(checked.filter(bad).select(["_line", "_reason", "_raw"]))
    found.columns = ["source_line", "reason", "raw"]
    return checked, found


def check_records(
    con: duckdb.DuckDBPyConnection, path: Path, spec: CsvSpec, params: Mapping[str, object]
) -> tuple[pa.Table, list[dict[str, object]]]:
    """csv splits the records; those with the right number of fields go through the same
    query, the others are rejects here."""
    width = len(spec.columns)
    good: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    structural: list[dict[str, object]] = []
    for line, raw, fields, error in records(path):
        if fields is not None and len(fields) == width:
            good.append(fields)
            lines.append(line)
            raws.append(raw)
            continue
        if error is not None:
            reason = f"not valid CSV: {error}"
        elif not fields:
            reason = "empty line"
        else:
            reason = f"has {len(fields)} fields (expected {width})"
        structural.append({"source_line": line, "reason": reason, "raw": raw})
    frame = pd.DataFrame(good, columns=list(spec.columns), dtype=object)
    frame.insert(0, "_line", pd.Series(lines, dtype="int64"))
    frame.insert(1, "_raw", pd.Series(raws, dtype=object))
    con.register("_records", frame)
    try:
        checked = con.sql(query(spec, "_records"), params=dict(params)).to_arrow_table()
    finally:
        con.unregister("_records")
    return checked, structural


def records(path: Path) -> Iterator[tuple[int, str, list[str] | None, str | None]]:
    """(first line, raw text, fields or None, csv error or None) of each data record."""
    consumed: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:

        def physical_lines() -> Iterator[str]:
            for text in fh:
                consumed.append(text)
                yield text

        reader = csv.reader(physical_lines(), strict=True)
        next(reader, None)  # the header, checked already
        consumed.clear()
        while True:
            start = reader.line_num + 1
            try:
                fields: list[str] | None = next(reader)
                error = None
            except StopIteration:
                return
            except csv.Error as exc:  # the reader starts afresh on the next line
                fields, error = None, str(exc)
            raw = "".join(consumed).removesuffix("\n").removesuffix("\r")
            consumed.clear()
            yield start, raw, fields, error


def file_source(spec: CsvSpec) -> str:
    """SQL of the file ``$path`` read by DuckDB, every column text ('' when empty), with
    ``_line`` and ``_raw`` NULL (``query``'s source): DuckDB refuses a file of the wrong
    structure (a wrong number of fields, bad quoting) with an error; it does not see a line
    break inside quotes (the caller compares the records with the lines)."""
    types = ", ".join(f"{sql_text(c)}: 'VARCHAR'" for c in spec.columns)
    names = ", ".join(sql_text(c) for c in spec.columns)  # empty fields are '', not NULL
    return f"""(SELECT NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, *
        FROM read_csv($path, columns = {{{types}}}, header = true, auto_detect = false,
                      delim = ',', quote = '"', escape = '"', strict_mode = true,
                      null_padding = false, encoding = 'utf-8', force_not_null = [{names}]))"""


def query(spec: CsvSpec, source: str) -> str:
    """The spec's checks and outputs over ``source`` (``_line``, ``_raw`` and the spec's
    columns as text): the outputs, ``_line``, ``_reason`` (NULL: a good row) and ``_raw``
    (the record as written, on a rejected row)."""
    derived = "".join(f", {sql} AS {col(name)}" for name, sql in spec.derived)
    reason = " ".join(f"WHEN {bad} THEN {why}" for bad, why in spec.checks)
    outputs = ", ".join(f"{sql} AS {col(name)}" for name, sql in spec.outputs)
    raw = " || ',' || ".join(col(c) for c in spec.columns)
    # CTEs of plain SELECTs keep the file's row order (DuckDB's order preservation).
    return f"""
        WITH der AS (SELECT *{derived} FROM {source}),
        chk AS (SELECT *, CASE {reason} END AS _reason FROM der)
        SELECT {outputs}, _line, _reason,
               CASE WHEN _reason IS NOT NULL THEN coalesce(_raw, {raw}) END AS _raw
        FROM chk"""
