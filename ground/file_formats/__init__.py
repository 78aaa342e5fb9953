"""Counterparts' file formats as declarative mappings (docs/psp-settlement-formats.md).

A mapping is a TOML file (``formats/*.toml`` beside this module, or any path) validated
here: the file's dialect (encoding, delimiter, quoting, rows to skip, a row-type prefix
filter for sectioned files), its columns by header name with aliases, and the rules that
turn a row into pitwatch's canonical values (amounts in minor units, UTC timestamps, the
record type's canonical kind, our reference). The reconcilers read with it
(``reconcilers.sources.mapped``) and the simulators write with it, so that adding a format
is a mapping file and nothing else.

The value rules live here too (``parse_amount``, ``format_amount``, ``parse_datetime``,
``format_datetime``), for the reader and the writer to agree on one definition.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ground.money import CURRENCY_EXPONENTS

FORMATS_DIR = Path(__file__).with_name("formats")
OURS = "pitwatch"  # pitwatch's own PSP format (docs/psp-settlement-report.md): no mapping

# Canonical kinds of a PSP row, and the row type of today's format each one becomes.
PSP_KINDS: dict[str, str] = {
    "settled": "Settled",
    "refund": "Refunded",
    "chargeback": "Chargeback",
    "chargeback_reversal": "ChargebackReversed",
    "payout": "Payout",
    "fee": "Fee",
    "adjustment": "Adjustment",
}
# Batch-level kinds: no transaction, no merchant reference, the money in net only.
BATCH_KINDS = ("fee", "adjustment")
# Canonical kinds of an affiliate conversion (AFFILIATE_ROWS.event).
AFFILIATE_KINDS = ("registration", "deposit", "ftd", "revenue")
# A conversion that is not final (Affise: pending, hold) has no canonical status: such a
# row is a reject naming its code, until the network's next export shows it final.
AFFILIATE_STATUSES = ("approved", "reversed")


class FormatError(ValueError):
    """A mapping that cannot be used: one line naming the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sections(_Model):
    """Sectioned files (PayPal STL): the first field of every record is its row type."""

    header: str  # the row type of the column-header row (CH)
    data: list[str]  # row types of data rows (SB)
    ignore: list[str] = Field(default_factory=list)  # structure rows (RH, FH, SH, SF, ...)
    before: list[str] = Field(default_factory=list)  # of those, the ones a writer puts first


class Dialect(_Model):
    encoding: Literal["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1"] = (
        "utf-8-sig"
    )
    delimiter: str = ","
    quote: str = '"'
    skip_rows: int = Field(0, ge=0)  # lines before the header
    skip_footer: int = Field(0, ge=0)  # records after the last data row
    sections: Sections | None = None

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be one character")
        return value


class FileRule(_Model):
    # The file of a day under the counterpart's folder: {date} is YYYY-MM-DD, {yyyymmdd}
    # the same without dashes, * any text (several files may match: all are read).
    pattern: str
    # Where a file's batch number is when no column has it: a regex on the file name with
    # one group of digits.
    batch_from_name: str | None = None

    @field_validator("batch_from_name")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                groups = re.compile(value).groups
            except re.error as exc:
                raise ValueError(f"not a regex ({exc})") from None
            if groups != 1:
                raise ValueError("needs exactly one group (the batch number)")
        return value


class Money(_Model):
    """One amount: exactly one of signed / debit+credit / value+indicator / costs."""

    currency: str | None = None  # logical column of its currency
    signed: str | None = None
    debit: str | None = None
    credit: str | None = None
    value: str | None = None  # an unsigned amount ...
    indicator: str | None = None  # ... and its debit/credit indicator column
    debit_values: list[str] = Field(default_factory=lambda: ["DR", "D"])
    credit_values: list[str] = Field(default_factory=lambda: ["CR", "C"])
    costs: list[str] | None = None  # columns whose sum is a cost (fee = −sum)

    @model_validator(mode="after")
    def _one_style(self) -> Money:
        styles = [
            self.signed is not None,
            self.debit is not None or self.credit is not None,
            self.value is not None or self.indicator is not None,
            self.costs is not None,
        ]
        if sum(styles) != 1:
            raise ValueError("give exactly one of signed, debit+credit, value+indicator, costs")
        if (self.debit is None) != (self.credit is None):
            raise ValueError("debit and credit go together")
        if (self.value is None) != (self.indicator is None):
            raise ValueError("value and indicator go together")
        return self

    def columns(self) -> list[str]:
        found = [self.currency, self.signed, self.debit, self.credit, self.value, self.indicator]
        return [c for c in found if c is not None] + list(self.costs or [])


class Amounts(_Model):
    units: Literal["major", "minor"]
    gross: Money
    net: Money | None = None  # None: gross × exchange rate + fee
    fee: Money | None = None  # None: net − gross × exchange rate (0 without net)
    exchange_rate: str | None = None  # logical column; None: 1


class DateTimes(_Model):
    created_at: str  # logical column
    settled_at: str | None = None  # logical column; None: the end of the file's day (UTC)
    formats: list[str]  # strptime formats, tried in order
    zone: str | None = None  # a fixed IANA zone ("UTC", "Europe/Stockholm")
    zone_column: str | None = None  # a logical column of zone abbreviations ...
    abbreviations: dict[str, str] = Field(default_factory=dict)  # ... CET → Europe/Berlin

    @model_validator(mode="after")
    def _one_zone(self) -> DateTimes:
        in_value = any("%z" in f for f in self.formats)
        if sum([self.zone is not None, self.zone_column is not None, in_value]) != 1:
            raise ValueError("give exactly one of zone, zone_column, or %z in the formats")
        if self.zone_column is not None and not self.abbreviations:
            raise ValueError("zone_column needs abbreviations (e.g. CET = 'Europe/Berlin')")
        for name in [self.zone or "UTC", *self.abbreviations.values()]:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {name!r}") from None
        return self


class RecordTypes(_Model):
    column: str  # logical column
    kinds: dict[str, str]  # the provider's record type → canonical kind


class References(_Model):
    # Logical columns, the first non-empty wins (PayPal: Invoice ID, else Custom Field).
    psp_reference: list[str]
    merchant_reference: list[str]


class PspRules(_Model):
    references: References
    record_types: RecordTypes
    amounts: Amounts
    datetimes: DateTimes
    batch_number: str | None = None  # logical column; None: from the file name


class AffiliateRules(_Model):
    """Affiliate conversions (AFFILIATE_ROWS): Affise-like exports."""

    affiliate: str  # logical columns ...
    conversion_id: str
    event: str
    events: dict[str, str]  # the platform's goal → canonical event
    status: str
    statuses: dict[str, str]  # the platform's status code → approved / reversed / ...
    occurred_at: str
    formats: list[str]
    zone: str = "UTC"
    campaign: str | None = None
    player_ref: str | None = None
    amount: str  # major units, in currency
    currency: str
    commission: str | None = None  # major units, in commission_currency (or currency)
    commission_currency: str | None = None

    @model_validator(mode="after")
    def _known(self) -> AffiliateRules:
        for goal, event in self.events.items():
            if event not in AFFILIATE_KINDS:
                raise ValueError(f"events.{goal}: {event!r} is not one of {AFFILIATE_KINDS}")
        for code, status in self.statuses.items():
            if status not in AFFILIATE_STATUSES:
                raise ValueError(f"statuses.{code}: {status!r} not in {AFFILIATE_STATUSES}")
        ZoneInfo(self.zone)
        return self


class FileFormat(_Model):
    name: str
    description: str
    kind: Literal["psp", "affiliate"]
    spec: str = ""  # where the format is documented
    file: FileRule
    dialect: Dialect = Dialect()
    # logical column → its header name, or names (aliases; the first is the one written)
    columns: dict[str, str | list[str]]
    optional: list[str] = Field(default_factory=list)  # logical columns a file may lack
    # written by the simulator after the mapped columns, empty (documented, not read)
    extra_columns: list[str] = Field(default_factory=list)
    psp: PspRules | None = None
    affiliate: AffiliateRules | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FileFormat:
        rules = self.psp if self.kind == "psp" else self.affiliate
        if rules is None or (self.psp is not None and self.affiliate is not None):
            raise ValueError(f"kind {self.kind!r} needs exactly the [{self.kind}] table")
        for name in self.optional:
            if name not in self.columns:
                raise ValueError(f"optional: {name!r} is not in [columns]")
        for name in self.used_columns():
            if name not in self.columns:
                raise ValueError(f"rule uses column {name!r}, which [columns] does not name")
        if self.psp is not None:
            for provider, kind in self.psp.record_types.kinds.items():
                if kind not in PSP_KINDS:
                    raise ValueError(
                        f"psp.record_types.kinds.{provider}: {kind!r} is not one of "
                        + ", ".join(PSP_KINDS)
                    )
            if self.psp.batch_number is None and self.file.batch_from_name is None:
                raise ValueError("give psp.batch_number or file.batch_from_name")
        return self

    def aliases(self, name: str) -> list[str]:
        names = self.columns[name]
        return [names] if isinstance(names, str) else list(names)

    def used_columns(self) -> list[str]:
        """Logical columns the rules read."""
        if self.psp is not None:
            p = self.psp
            a = p.amounts
            used = [*p.references.psp_reference, *p.references.merchant_reference]
            used += [p.record_types.column, p.datetimes.created_at]
            used += [c for c in (p.datetimes.settled_at, p.datetimes.zone_column) if c]
            for money in (a.gross, a.net, a.fee):
                used += money.columns() if money else []
            used += [c for c in (a.exchange_rate, p.batch_number) if c]
            return list(dict.fromkeys(used))
        assert self.affiliate is not None
        f = self.affiliate
        found = [
            f.affiliate,
            f.conversion_id,
            f.event,
            f.status,
            f.occurred_at,
            f.campaign,
            f.player_ref,
            f.amount,
            f.currency,
            f.commission,
            f.commission_currency,
        ]
        return list(dict.fromkeys(c for c in found if c is not None))


def load_format(path: Path) -> FileFormat:
    """A mapping file, validated; FormatError (one line naming the file and key) if not."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{path}: not TOML ({exc})") from None
    try:
        return FileFormat.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FormatError(f"{path}: {key}: {first['msg']}{more}") from None


def builtin_formats() -> dict[str, FileFormat]:
    """The mappings shipped with pitwatch, by name."""
    found: dict[str, FileFormat] = {}
    for path in sorted(FORMATS_DIR.glob("*.toml")):
        fmt = load_format(path)
        found[fmt.name] = fmt
    return found


def get_format(name: str, extra_dirs: list[Path] | None = None) -> FileFormat:
    """A format by name (a shipped one, or ``<dir>/<name>.toml``), or by path."""
    if name.endswith(".toml"):
        return load_format(Path(name))
    for folder in extra_dirs or []:
        candidate = Path(folder) / f"{name}.toml"
        if candidate.is_file():
            return load_format(candidate)
    builtin = FORMATS_DIR / f"{name}.toml"
    if builtin.is_file():
        return load_format(builtin)
    known = ", ".join([OURS, *sorted(builtin_formats())])
    raise FormatError(f"unknown file format {name!r} (known: {known}; or a path to a .toml)")


# -- values ------------------------------------------------------------------------------------

_MAJOR = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_MINOR = re.compile(r"[+-]?[0-9]+")
MAX_DIGITS = 18
_SHORT_OFFSET = re.compile(r"[0-9][+-][0-9]{2}$")


class ValueProblem(ValueError):
    """A value a row cannot be read with: the reason names the column and the value."""


def shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "...")


def parse_amount(text: str, currency: str, units: str, column: str) -> int:
    """Integer minor units of an amount written in major or minor units (Decimal, never
    float); more decimals than the currency's exponent is a problem, fewer are fine."""
    exp = CURRENCY_EXPONENTS.get(currency)
    if exp is None:
        raise ValueProblem(f"currency {shown(currency)} is not an ISO 4217 currency known here")
    text = text.strip()
    if units == "minor":
        if not _MINOR.fullmatch(text):
            raise ValueProblem(f"{column} is {shown(text)} (expected whole minor units)")
        value = int(text)
    else:
        if not _MAJOR.fullmatch(text):
            raise ValueProblem(f"{column} is {shown(text)} (not a decimal amount)")
        decimals = len(text) - text.index(".") - 1 if "." in text else 0
        if decimals > exp:
            raise ValueProblem(
                f"{column} {shown(text)} has {decimals} decimals ({currency} has {exp})"
            )
        try:
            value = int(Decimal(text).scaleb(exp))
        except InvalidOperation:
            raise ValueProblem(f"{column} is {shown(text)} (not a decimal amount)") from None
    if abs(value) >= 10**MAX_DIGITS:
        raise ValueProblem(f"{column} is {shown(text)} (out of range)")
    return value


def format_amount(minor: int, currency: str, units: str) -> str:
    """The writer's inverse of ``parse_amount``."""
    if units == "minor":
        return str(minor)
    exp = CURRENCY_EXPONENTS[currency]
    return f"{Decimal(minor).scaleb(-exp):.{exp}f}"


def parse_datetime(
    text: str,
    formats: list[str],
    column: str,
    *,
    zone: str | None = None,
    abbreviation: str | None = None,
    abbreviations: Mapping[str, str] | None = None,
) -> datetime:
    """A naive local (or offset-carrying) time as an aware UTC datetime. With an
    abbreviation (CET, CEST, ...), the abbreviation says which side of a DST change a
    repeated hour is on, and must be the zone's own at that time."""
    text = text.strip()
    if _SHORT_OFFSET.search(text):  # "+00" (PostgreSQL's way, Trustly's): strptime wants +0000
        text += "00"
    parsed = None
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        raise ValueProblem(f"{column} is {shown(text)} (expected {' or '.join(formats)})")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if abbreviation is not None:
        iana = (abbreviations or {}).get(abbreviation.strip())
        if iana is None:
            known = ", ".join(abbreviations or {})
            raise ValueProblem(f"time zone {shown(abbreviation)} is not mapped (known: {known})")
        tz = ZoneInfo(iana)
        for fold in (0, 1):
            local = parsed.replace(tzinfo=tz, fold=fold)
            if local.tzname() == abbreviation.strip():
                # not a time skipped by a DST change (it would not round-trip)
                back = local.astimezone(UTC).astimezone(tz)
                if back.replace(tzinfo=None) == parsed:
                    return local.astimezone(UTC)
        raise ValueProblem(
            f"{column} {shown(text)} is not a time {abbreviation.strip()} has in {iana}"
        )
    tz = ZoneInfo(zone or "UTC")
    return parsed.replace(tzinfo=tz).astimezone(UTC)


def format_datetime(
    when: datetime,
    fmt: str,
    *,
    zone: str | None = None,
    abbreviations: Mapping[str, str] | None = None,
) -> tuple[str, str | None]:
    """(the text, the zone abbreviation written beside it or None) of an aware datetime."""
    if "%z" in fmt:
        return when.astimezone(UTC).strftime(fmt), None
    if abbreviations:
        tz = ZoneInfo(next(iter(abbreviations.values())))
        local = when.astimezone(tz)
        return local.strftime(fmt), local.tzname()
    return when.astimezone(ZoneInfo(zone or "UTC")).strftime(fmt), None


def iso_utc(when: datetime) -> str:
    """Today's format's timestamp: 2026-11-02T12:00:00.000Z."""
    when = when.astimezone(UTC)
    us = when.microsecond
    fraction = f"{us // 1000:03d}" if us % 1000 == 0 else f"{us:06d}"
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
