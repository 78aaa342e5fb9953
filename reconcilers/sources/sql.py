"""SQL building blocks shared by the file formats: checks that name a bad value in the
row's reason, and the parsing of amounts and timestamps (arguments are column names)."""

from __future__ import annotations

from collections.abc import Sequence

from igaming.money import CURRENCY_EXPONENTS

SHOWN_CHARS = 60  # of a bad value, quoted in a reason


def col(name: str) -> str:
    """SQL: a quoted identifier (type, status, event... are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def shown(name: str) -> str:
    """SQL: the column's value in quotes for a reason, cut to SHOWN_CHARS."""
    c = col(name)
    cut = (
        f"CASE WHEN length({c}) > {SHOWN_CHARS} THEN left({c}, {SHOWN_CHARS}) || '...' ELSE {c} END"
    )
    return f"'''' || {cut} || ''''"


def is_value(name: str, problem: str) -> str:
    """SQL: the reason "<name> is '<value>' (<problem>)"."""
    return f"{sql_text(name + ' is ')} || {shown(name)} || {sql_text(f' ({problem})')}"


def exponent(currency: str) -> str:
    """SQL: the ISO 4217 exponent of a currency column, NULL for a currency not known."""
    cases = " ".join(f"WHEN {sql_text(c)} THEN {e}" for c, e in CURRENCY_EXPONENTS.items())
    return f"CASE {col(currency)} {cases} END"


def required(name: str) -> tuple[str, str]:
    return (f"{col(name)} = ''", sql_text(f"{name} is empty"))


def one_of(name: str, values: Sequence[str]) -> tuple[str, str]:
    allowed = ", ".join(sql_text(v) for v in values)
    expected = ", ".join(values)
    return (f"{col(name)} NOT IN ({allowed})", is_value(name, f"expected one of {expected}"))


def known_currency(name: str, exponent_name: str) -> tuple[str, str]:
    return (f"{col(exponent_name)} IS NULL", is_value(name, "not an ISO 4217 currency known here"))


# Amounts are major units with exactly the currency's number of decimals; in minor units
# they are the digits without the point, as igaming.money.to_minor reads them.
DECIMAL = r"'-?[0-9]+(\.[0-9]+)?'"


def minor(name: str) -> str:
    """SQL: the amount in minor units (once its decimals are checked to be the exponent)."""
    return f"try_cast(replace({col(name)}, '.', '') AS BIGINT)"


def amount_checks(name: str, currency: str, exponent_name: str) -> list[tuple[str, str]]:
    """Checks of an amount column in a currency column whose exponent is derived."""
    c, e = col(name), col(exponent_name)
    decimals = f"(CASE WHEN strpos({c}, '.') > 0 THEN length({c}) - strpos({c}, '.') ELSE 0 END)"
    has = (
        f"{sql_text(name + ' ')} || {shown(name)} || ' has ' || CAST({decimals} AS VARCHAR)"
        f" || ' decimals (' || {col(currency)} || ' has ' || CAST({e} AS VARCHAR) || ')'"
    )
    return [
        (f"NOT regexp_full_match({c}, {DECIMAL})", is_value(name, "not a decimal amount")),
        (f"{decimals} <> {e}", has),
        (f"{minor(name)} IS NULL", is_value(name, "out of range")),
    ]


# ISO-8601 in UTC: 2026-11-02T12:00:00.000Z (the fraction optional, Z or +00:00).
TIMESTAMP = (
    r"'[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|\+00:00)'"
)
# Roughly what a nanosecond pandas timestamp holds; outside it is no real event time.
EARLIEST, LATEST = "TIMESTAMP '1970-01-01'", "TIMESTAMP '2262-01-01'"


FORMATS = [
    f"%Y-%m-%dT%H:%M:%S{fraction}{zone}" for fraction in (".%f", "") for zone in ("Z", "+00:00")
]
TIMESTAMP_FORMATS = "[" + ", ".join(f"'{f}'" for f in FORMATS) + "]"


def timestamp(name: str) -> str:
    """SQL: the timestamp (naive, UTC); NULL for an impossible one (30 February)."""
    return f"try_strptime({col(name)}, {TIMESTAMP_FORMATS})"


def timestamp_checks(name: str, parsed_name: str) -> list[tuple[str, str]]:
    """Checks of a timestamp column whose parsed value is derived as ``parsed_name``."""
    t = col(parsed_name)
    return [
        (
            f"NOT regexp_full_match({col(name)}, {TIMESTAMP})",
            is_value(name, "expected ISO-8601 UTC, YYYY-MM-DDTHH:MM:SS.sssZ"),
        ),
        (
            f"{t} IS NULL OR {t} < {EARLIEST} OR {t} >= {LATEST}",
            is_value(name, "not a possible date and time"),
        ),
    ]
