"""The declaration of the contract views (ground/contract.py) is exactly what the readers'
SQL reads: every statement of the state collectors, the reconcilers' wallet source and the
full ledger check is prepared on SQLite against tables with the declared columns only (a
view or column read but not declared fails), and each declared column, dropped in turn,
must break at least one statement (declared but read by nothing fails)."""

from __future__ import annotations

import importlib
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from ground.contract import BY_NAME, UNREAD_VIEWS, VIEWS, View, views_for

ROOT = Path(__file__).resolve().parent.parent
READERS = (
    "collectors.state.affiliates",
    "collectors.state.kyc",
    "collectors.state.ledger",
    "collectors.state.outbox",
    "collectors.state.payments",
    "collectors.state.sportsbook",
    "reconcilers.sources.wallet",
    "collectors.views.payments",
    "collectors.views.sportsbook",
    "collectors.views.affiliates",
    "collectors.views.casino",
    "reconcilers.ledger_check",
)
# SQL that reads a view: FROM/JOIN pw_x (a comment or a docstring naming a view does not).
READS = re.compile(r"\b(?:FROM|JOIN)\s+(pw_\w+)", re.IGNORECASE)
PARAM = re.compile(r"(?<![:\w]):\w+")


def statements() -> list[tuple[str, str]]:
    """(module.name, SQL) of every module-level statement of the readers that reads a view."""
    found = []
    for module_name in READERS:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if isinstance(value, TextualSelect):
                value = value.element
            if isinstance(value, TextClause) and READS.search(value.text):
                found.append((f"{module_name}.{name}", value.text))
    return found


def runnable(sql: str) -> str:
    """The statement with its parameters as NULLs (SQLite prepares it without values)."""
    return PARAM.sub("(NULL)", sql)


def database(views: tuple[View, ...], drop: tuple[str, str] | None = None) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    for v in views:
        columns = [c.name for c in v.columns if (v.name, c.name) != drop]
        con.execute(f"CREATE TABLE {v.name} ({', '.join(columns)})")
    return con


def failures(con: sqlite3.Connection, stmts: list[tuple[str, str]]) -> list[str]:
    out = []
    for name, sql in stmts:
        try:
            con.execute("EXPLAIN " + runnable(sql))
        except sqlite3.Error as exc:
            out.append(f"{name}: {exc}")
    return out


def test_every_reader_statement_reads_only_declared_views_and_columns():
    stmts = statements()
    assert len(stmts) >= 20  # the readers' statements were found
    assert failures(database(VIEWS), stmts) == []


def test_every_declared_column_is_read_by_some_statement():
    stmts = statements()
    unread = []
    for v in VIEWS:
        for c in v.columns:
            if not failures(database(VIEWS, drop=(v.name, c.name)), stmts):
                unread.append(f"{v.name}.{c.name}")
    assert unread == []


def test_every_declared_view_is_read_and_every_read_view_is_declared():
    read = {view for _name, sql in statements() for view in READS.findall(sql)}
    assert read == set(BY_NAME)


def test_no_other_module_of_pitwatch_reads_a_view_behind_the_declaration():
    """A module that reads a view in its SQL must be one of READERS (else the two tests
    above would not see its statements)."""
    readers = {m.replace(".", "/") + ".py" for m in READERS}
    strays = []
    for folder in ("collectors", "reconcilers", "pitwatch", "alert_rules", "dashboards"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in readers and READS.search(path.read_text()):
                strays.append(rel)
    assert strays == []


def test_the_reference_platform_creates_every_declared_view_and_the_unread_ones():
    text = "\n".join(
        p.read_text() for p in (ROOT / "platform/igaming/migrations/versions").glob("*.py")
    )
    created = set(re.findall(r'"(pw_\w+)": """', text)) | set(
        re.findall(r"CREATE VIEW (pw_\w+)", text)
    )
    assert set(BY_NAME) <= created
    assert created - set(BY_NAME) == set(UNREAD_VIEWS)


def test_products_choose_the_views_and_core_is_always_in():
    names = {v.name for v in views_for(["casino"])}
    assert "pw_deposits" in names and "pw_bets" not in names and "pw_outbox" not in names
    assert {v.name for v in views_for(["sportsbook"])} >= {"pw_bets", "pw_markets"}
    with pytest.raises(ValueError, match="unknown products"):
        views_for(["bingo"])


def test_what_only_views_mode_reads_is_declared_as_such():
    """VIEWS_MODE_VIEWS / VIEWS_MODE_COLUMNS are exactly the views and columns that views
    mode's SQL reads and no other reader does (a platform without views mode need not
    provide them; `contract check` requires them only with --views-mode)."""
    from ground.contract import VIEWS_MODE_COLUMNS, VIEWS_MODE_VIEWS

    stmts = statements()
    views_mode = [s for s in stmts if s[0].startswith("collectors.views.")]
    others = [s for s in stmts if not s[0].startswith("collectors.views.")]
    read_by_others = {view for _name, sql in others for view in READS.findall(sql)}
    assert set(BY_NAME) - read_by_others == VIEWS_MODE_VIEWS
    only_views_mode = set()
    for v in VIEWS:
        if v.name in VIEWS_MODE_VIEWS:
            continue
        for c in v.columns:
            without = database(VIEWS, drop=(v.name, c.name))
            if failures(without, views_mode) and not failures(without, others):
                only_views_mode.add((v.name, c.name))
    assert only_views_mode == VIEWS_MODE_COLUMNS


def test_the_reference_platform_uses_the_contracts_status_sets():
    """The documented sets are the contract; the reference platform's states are the same
    (its deposit statuses are a typing Literal, so they are compared here, not imported)."""
    from typing import get_args

    from ground.contract import BET_STATUSES, DEPOSIT_STATUSES
    from igaming.cashier.states import DepositStatus
    from igaming.sportsbook.settlement import SETTLED_STATUSES

    assert set(get_args(DepositStatus)) == set(DEPOSIT_STATUSES)
    assert set(SETTLED_STATUSES) <= set(BET_STATUSES)
