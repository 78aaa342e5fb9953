"""A PSP mapping applied to a whole file at once (column-wise, pandas over Arrow strings):
the provider's columns in, pitwatch's format out (docs/psp-settlement-report.md) with, per
row, the first problem the mapping finds (or None). Python runs only for the rows that need
it: the reasons of bad rows, and amounts converted at a rate other than 1 (Decimal)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ground.file_formats import BATCH_KINDS, MAX_DIGITS, PSP_KINDS, FileFormat, Money, shown
from ground.money import CURRENCY_EXPONENTS

STR = pd.StringDtype("pyarrow")
MAJOR = r"[+-]?[0-9]+(\.[0-9]+)?"
MINOR = r"[+-]?[0-9]+"


class Problems:
    """The first problem of each row: a later check never overwrites an earlier one."""

    def __init__(self, n: int) -> None:
        self.reason = pd.Series([None] * n, dtype=object)

    def add(self, bad: pd.Series, why) -> None:
        """``why``: a text, or a function of the bad rows' positions giving their texts."""
        mask = np.asarray(bad.fillna(False), dtype=bool) & self.reason.isna().to_numpy()
        if not mask.any():
            return
        at = np.flatnonzero(mask)
        self.reason.iloc[at] = why if isinstance(why, str) else list(why(at))

    def ok(self) -> np.ndarray:
        return self.reason.isna().to_numpy()


def _texts(series: pd.Series, at: np.ndarray) -> list[str]:
    return [str(v) for v in series.iloc[at]]


class Columns:
    """The file's logical columns as trimmed Arrow strings ('' where a file lacks one)."""

    def __init__(
        self, fmt: FileFormat, values: Mapping[str, list[str] | pa.ChunkedArray], n: int
    ) -> None:
        self.fmt, self.n = fmt, n
        self._values = values
        self._cache: dict[str, pd.Series] = {}

    def __call__(self, logical: str | None) -> pd.Series:
        if logical is None or logical not in self._values:
            return pd.Series([""] * self.n, dtype=STR)
        if logical not in self._cache:
            given = self._values[logical]
            if isinstance(given, pa.ChunkedArray):
                array = given.cast(pa.large_string())
            else:
                array = pa.chunked_array([pa.array(given, pa.large_string())])
            self._cache[logical] = pd.Series(pd.arrays.ArrowStringArray(array)).str.strip()
        return self._cache[logical]

    def header(self, logical: str | None) -> str:
        return self.fmt.aliases(logical)[0] if logical else "?"


def _amount(
    cols: Columns, logical: str, exp: pd.Series, currency: pd.Series, units: str, p: Problems
) -> pd.Series:
    """Minor units (Int64; <NA> when empty) of an amount column, problems noted."""
    text = cols(logical)
    header = cols.header(logical)
    empty = text == ""
    if units == "minor":
        p.add(~empty & ~text.str.fullmatch(MINOR), lambda at: (
            f"{header} is {shown(t)} (expected whole minor units)" for t in _texts(text, at)
        ))  # fmt: skip
        decimals = pd.Series(0, index=text.index)
        digits = text
    else:
        p.add(~empty & ~text.str.fullmatch(MAJOR), lambda at: (
            f"{header} is {shown(t)} (not a decimal amount)" for t in _texts(text, at)
        ))  # fmt: skip
        dot = text.str.find(".").astype("int64")
        decimals = pd.Series(
            np.where(dot >= 0, text.str.len().astype("int64") - dot - 1, 0), index=text.index
        )
        too_many = ~empty & (decimals > exp.fillna(99))
        p.add(too_many, lambda at: (
            f"{header} {shown(t)} has {d} decimals ({c} has {e})"
            for t, d, c, e in zip(
                _texts(text, at), decimals.iloc[at], _texts(currency, at), exp.iloc[at],
                strict=True,
            )
        ))  # fmt: skip
        digits = text.str.replace(".", "", regex=False)
    shift = (
        pd.Series(0, index=text.index)
        if units == "minor"
        else (exp.fillna(0).astype("int64") - decimals).clip(lower=0)
    )
    width = digits.str.lstrip("+-").str.len().astype("int64") + shift
    p.add(~empty & (width > MAX_DIGITS), lambda at: (
        f"{header} is {shown(t)} (out of range)" for t in _texts(text, at)
    ))  # fmt: skip
    usable = ~empty & (width <= MAX_DIGITS) & digits.str.fullmatch(MINOR).fillna(False)
    plain = digits.where(usable, "0").str.lstrip("+")
    raw = pc.cast(pa.array(plain.astype(STR).array), pa.int64()).to_numpy(zero_copy_only=False)
    value = raw * np.power(10, shift.to_numpy(dtype=np.int64), dtype=np.int64)
    return pd.Series(value, index=text.index, dtype="Int64").where(usable)


def _money(
    cols: Columns, rule: Money | None, currency: pd.Series, units: str, p: Problems
) -> pd.Series:
    """The signed amount (merchant's point of view) in minor units, <NA> when empty."""
    if rule is None:
        return pd.Series(pd.NA, index=range(cols.n), dtype="Int64")
    exp = currency.map(CURRENCY_EXPONENTS).astype("Int64")

    def amount(logical: str) -> pd.Series:
        return _amount(cols, logical, exp, currency, units, p)

    if rule.signed is not None:
        return amount(rule.signed)
    if rule.debit is not None and rule.credit is not None:
        debit, credit = amount(rule.debit), amount(rule.credit)
        both_empty = debit.isna() & credit.isna()
        return (credit.fillna(0) - debit.fillna(0)).mask(both_empty)
    if rule.value is not None and rule.indicator is not None:
        value = amount(rule.value)
        sign = cols(rule.indicator)
        debit = sign.isin(rule.debit_values)
        credit = sign.isin(rule.credit_values)
        header = cols.header(rule.indicator)
        expected = ", ".join([*rule.debit_values, *rule.credit_values])
        p.add(value.notna() & ~debit & ~credit, lambda at: (
            f"{header} is {shown(s)} (expected {expected})" for s in _texts(sign, at)
        ))  # fmt: skip
        return value.where(~debit, -value)
    costs = [amount(c) for c in rule.costs or []]
    all_empty = pd.concat([c.isna() for c in costs], axis=1).all(axis=1)
    total = sum((c.fillna(0) for c in costs), pd.Series(0, index=range(cols.n), dtype="Int64"))
    return (-total).mask(all_empty)


def _currency(cols: Columns, logical: str | None, p: Problems) -> pd.Series:
    value = cols(logical)
    header = cols.header(logical)
    p.add(~value.isin(list(CURRENCY_EXPONENTS)), lambda at: (
        f"{header} is {shown(v)} (not an ISO 4217 currency known here)" for v in _texts(value, at)
    ))  # fmt: skip
    return value


def _offset_of(abbreviation: str, iana: str) -> timedelta | None:
    """The UTC offset a zone abbreviation stands for in a zone (CET +1h, CEST +2h)."""
    tz = ZoneInfo(iana)
    for month in range(1, 13):
        for year in (2026, 2000):
            when = datetime(year, month, 15, 12, tzinfo=tz)
            if when.tzname() == abbreviation:
                return when.utcoffset()
    return None


def _times(cols: Columns, logical: str, p: Problems) -> pd.Series:
    """UTC timestamps (tz-aware) of a time column by the mapping's datetime rule."""
    rules = cols.fmt.psp
    assert rules is not None
    dt = rules.datetimes
    text = cols(logical)
    header = cols.header(logical)
    with_offset = any("%z" in f for f in dt.formats)
    if with_offset:  # "+00" (PostgreSQL's way, Trustly's): to_datetime wants +0000
        short = pc.replace_substring_regex(
            pa.array(text.array), pattern=r"([0-9][+-][0-9]{2})$", replacement=r"\100"
        )
        short = pa.chunked_array([short]).cast(pa.large_string())
        text = pd.Series(pd.arrays.ArrowStringArray(short), index=text.index)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if with_offset
                       else "datetime64[ns]")  # fmt: skip
    plain = text.astype(object)
    for fmt in dt.formats:
        todo = parsed.isna()
        if not todo.any():
            break
        got = pd.to_datetime(plain[todo], format=fmt, errors="coerce", utc=with_offset)
        parsed[todo] = got
    p.add(parsed.isna(), lambda at: (
        f"{header} is {shown(t)} (expected {' or '.join(dt.formats)})" for t in _texts(text, at)
    ))  # fmt: skip
    if with_offset:
        return parsed
    if dt.zone_column is None:
        local = parsed.dt.tz_localize(dt.zone or "UTC", ambiguous="NaT", nonexistent="NaT")
        p.add(parsed.notna() & local.isna(), lambda at: (
            f"{header} {shown(t)} is ambiguous or skipped in {dt.zone}" for t in _texts(text, at)
        ))  # fmt: skip
        return local.dt.tz_convert("UTC")
    zone = cols(dt.zone_column)
    known = ", ".join(dt.abbreviations)
    p.add(parsed.notna() & ~zone.isin(list(dt.abbreviations)), lambda at: (
        f"time zone {shown(z)} is not mapped (known: {known})" for z in _texts(zone, at)
    ))  # fmt: skip
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for abbreviation, iana in dt.abbreviations.items():
        rows = (zone == abbreviation).fillna(False) & parsed.notna()
        offset = _offset_of(abbreviation, iana)
        if not rows.any() or offset is None:
            continue
        utc = (parsed[rows] - offset).dt.tz_localize("UTC")
        back = utc.dt.tz_convert(iana).dt.tz_localize(None)
        fits = back == parsed[rows]
        out[rows] = utc.where(fits)
        bad = pd.Series(False, index=text.index)
        bad[rows] = ~fits
        p.add(bad, lambda at, a=abbreviation, z=iana: (
            f"{header} {shown(t)} is not a time {a} has in {z}" for t in _texts(text, at)
        ))  # fmt: skip
    return out


def _iso(times: pd.Series) -> pd.Series:
    """Our format's timestamps (2026-11-02T12:00:00.000000Z), NaT as ''."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.char.add(np.datetime_as_string(naive, unit="us"), "Z")
    return pd.Series(text, index=times.index, dtype=object).where(times.notna().to_numpy(), "")


def _major(minor: pd.Series, currency: pd.Series) -> pd.Series:
    """Minor units as major-unit text with the currency's decimals ('' where unknown)."""
    out = np.full(len(minor), "", dtype=object)
    exp = pd.to_numeric(currency.astype(object).map(CURRENCY_EXPONENTS), errors="coerce")
    for e in sorted(exp.dropna().unique()):
        rows = (exp == e).fillna(False).to_numpy(dtype=bool) & minor.notna().to_numpy(dtype=bool)
        values = minor[rows].astype("int64").to_numpy()
        if e == 0:
            out[rows] = pc.cast(pa.array(values), pa.string()).to_numpy(zero_copy_only=False)
            continue
        whole, frac = np.divmod(np.abs(values), 10 ** int(e))
        number = pc.binary_join_element_wise(
            pc.cast(pa.array(whole), pa.string()),
            pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), width=int(e), padding="0"),
            ".",
        )
        signed = pc.binary_join_element_wise(pa.array(np.where(values < 0, "-", "")), number, "")
        out[rows] = signed.to_numpy(zero_copy_only=False)
    return pd.Series(out, index=minor.index, dtype=object)


def _convert(gross: pd.Series, gc: pd.Series, nc: pd.Series, rate: pd.Series) -> pd.Series:
    """gross × rate in minor units of the net currency, rounded half up (Decimal)."""
    same = ((gc == nc) & (rate == "1")).fillna(False).to_numpy()
    out = gross.copy()
    for at in np.flatnonzero(~same & gross.notna().to_numpy()):
        g, r = gc.iloc[at], nc.iloc[at]
        if g not in CURRENCY_EXPONENTS or r not in CURRENCY_EXPONENTS:
            continue
        shift = CURRENCY_EXPONENTS[r] - CURRENCY_EXPONENTS[g]
        try:
            value = Decimal(int(gross.iloc[at])).scaleb(shift) * Decimal(rate.iloc[at])
        except ArithmeticError:
            continue
        out.iloc[at] = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return out


def psp_frame(
    cols: Columns, *, psp: str, day: date, batch_from_name: str | None
) -> tuple[pd.DataFrame, pd.Series]:
    """(pitwatch-format text columns, the first mapping problem of each row or None)."""
    fmt = cols.fmt
    rules = fmt.psp
    assert rules is not None
    n = cols.n
    p = Problems(n)
    types = rules.record_types
    provider_type = cols(types.column)
    kind = provider_type.map(types.kinds).astype(object)
    known = ", ".join(list(types.kinds)[:8]) + (", ..." if len(types.kinds) > 8 else "")
    header = cols.header(types.column)
    p.add(kind.isna(), lambda at: (
        f"{header} is {shown(t)} (not a record type of format {fmt.name}: {known})"
        for t in _texts(provider_type, at)
    ))  # fmt: skip
    batch_kind = kind.isin(BATCH_KINDS).to_numpy()
    batch = (
        pd.Series([batch_from_name] * n, dtype=STR)
        if batch_from_name is not None
        else cols(rules.batch_number)
    )

    def first(logicals: list[str]) -> pd.Series:
        out = pd.Series([""] * n, dtype=STR)
        for logical in reversed(logicals):
            value = cols(logical)
            out = value.where(value != "", out)
        return out

    psp_reference = first(rules.references.psp_reference)
    names = " / ".join(cols.header(c) for c in rules.references.psp_reference)
    p.add((psp_reference == "") & ~batch_kind, f"{names} is empty")
    psp_reference = psp_reference.where(psp_reference != "", f"{psp}_batch_" + batch)
    merchant_reference = first(rules.references.merchant_reference)
    names = " / ".join(cols.header(c) for c in rules.references.merchant_reference)
    p.add(
        (merchant_reference == "") & ~batch_kind,
        f"{names} is empty (only fee and adjustment rows may have none)",
    )
    dt = rules.datetimes
    created = _times(cols, dt.created_at, p)
    end_of_day = pd.Timestamp(datetime(day.year, day.month, day.day, 23, 59, 59), tz="UTC")
    settled = pd.Series(end_of_day, index=range(n))
    if dt.settled_at is not None:
        given = cols(dt.settled_at) != ""
        settled = _times(cols, dt.settled_at, p).where(given, settled)

    a = rules.amounts
    net_column = a.net.currency if a.net and a.net.currency else a.gross.currency
    net_currency = _currency(cols, net_column, p)
    gross_text = cols(a.gross.currency)
    batch_no_gc = pd.Series(batch_kind, index=range(n)) & (gross_text == "")
    gross_currency = gross_text.where(~batch_no_gc, net_currency)
    bad_gc = ~gross_currency.isin(list(CURRENCY_EXPONENTS))
    header = cols.header(a.gross.currency)
    p.add(bad_gc, lambda at: (
        f"{header} is {shown(v)} (not an ISO 4217 currency known here)"
        for v in _texts(gross_currency, at)
    ))  # fmt: skip
    rate = cols(a.exchange_rate) if a.exchange_rate else pd.Series(["1"] * n, dtype=STR)
    rate = rate.where(rate != "", "1")
    header = cols.header(a.exchange_rate)
    bad_rate = ~rate.str.fullmatch(r"[0-9]+(\.[0-9]+)?") | rate.str.fullmatch(r"[0.]+")
    p.add(bad_rate, lambda at: (f"{header} is {shown(r)} (not a rate)" for r in _texts(rate, at)))
    rate = rate.where(gross_currency != net_currency, "1")
    gross = _money(cols, a.gross, gross_currency, a.units, p)
    names = " / ".join(cols.header(c) for c in a.gross.columns()[1:])
    p.add(gross.isna() & ~batch_kind, f"{names}: no amount")
    gross = gross.fillna(0)
    fee_currency = net_currency
    if a.fee is not None and a.fee.currency is not None:
        fee_currency = _currency(cols, a.fee.currency, p)
        header = cols.header(a.fee.currency)
        p.add(fee_currency != net_currency, lambda at: (
            f"{header} is {f} (the fee must be in the net currency, {c})"
            for f, c in zip(_texts(fee_currency, at), _texts(net_currency, at), strict=True)
        ))  # fmt: skip
    fee = _money(cols, a.fee, fee_currency, a.units, p)
    net = _money(cols, a.net, net_currency, a.units, p)
    converted = _convert(gross, gross_currency, net_currency, rate)
    net = net.fillna(converted + fee.fillna(0))
    fee = fee.fillna(net - converted)
    batch_rows = pd.Series(batch_kind, index=range(n))
    gross = gross.mask(batch_rows, 0)
    gross_currency = gross_currency.mask(batch_rows, net_currency)
    rate = rate.mask(batch_rows, "1")
    fee = fee.mask(batch_rows, net.where((kind == "fee").to_numpy(), 0))
    frame = pd.DataFrame(
        {
            "psp": pd.Series([psp] * n, dtype=STR),
            "psp_reference": psp_reference,
            "merchant_reference": merchant_reference,
            "type": kind.map(PSP_KINDS).fillna(""),
            "created_at": _iso(created),
            "settled_at": _iso(settled),
            "gross_currency": gross_currency,
            "gross_amount": _major(gross, gross_currency),
            "net_currency": net_currency,
            "net_amount": _major(net, net_currency),
            "fee_amount": _major(fee, net_currency),
            "exchange_rate": rate,
            "batch_number": batch,
        }
    )
    return frame, p.reason
