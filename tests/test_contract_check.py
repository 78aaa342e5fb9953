"""``pitwatch contract check`` on the reference platform (SQLite and PostgreSQL: exit 0),
on a PostgreSQL schema whose views were written wrongly (exactly those problems, exit 1),
on an unreachable database (one line, exit 2), and with --products."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from ground.clock import FakeClock
from ground.contract import VIEWS, Column, views_for
from ground.dburl import normalise_url
from pitwatch.cli import main
from tests.conftest import PG_URL, make_platform
from tests.platform.sportsbook_helpers import funded_player


def schema_url(schema: str) -> str:
    assert PG_URL
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def database_url(engine) -> str:
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    return schema_url(engine.url.query.get("options", "").split("=")[-1] or "public")


def run(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["contract", "check", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_the_reference_platform_meets_the_contract(engine, capsys):
    p = make_platform(engine, clock=FakeClock())
    funded_player(p)
    schema = None
    if engine.dialect.name == "postgresql":
        schema = engine.connect().execute(text("SELECT current_schema()")).scalar_one()
    url = schema_url(schema) if schema else engine.url.render_as_string(hide_password=False)
    code, out, err = run(capsys, "--database", url, "--views-mode", "--game-reconciliation")
    assert code == 0, "\n".join(out + err)
    assert out[-1].startswith("contract OK: 21 views (21 present)")
    assert all(f"{v.name}: present, ok" in "\n".join(out) for v in VIEWS)
    if engine.dialect.name == "sqlite":
        assert out[0].startswith("note: sqlite types are loose")


def test_without_a_sportsbook_its_views_are_not_needed(sqlite_url, capsys):
    code, out, _ = run(capsys, "--database", sqlite_url, "--products", "casino,affiliates")
    assert code == 0
    assert "pw_bets: not needed (sportsbook not among the products)" in out
    assert "pw_outbox: not needed (outbox not among the products)" in out
    assert "pw_deposits: present, ok" in "\n".join(out)


def test_an_unreachable_database_is_one_line_and_exit_2(capsys):
    code, out, err = run(
        capsys, "--database", "postgresql://nobody@127.0.0.1:1/none", "--timeout", "2"
    )
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith("pitwatch: contract check: cannot read the database:")


def test_a_bad_url_or_a_missing_sqlite_file_is_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "--database", "nosuchdb://x")
    assert code == 2 and len(err) == 1 and "bad database URL" in err[0]
    missing = tmp_path / "none.db"
    code, _, err = run(capsys, "--database", f"sqlite:///{missing}")
    assert code == 2 and len(err) == 1
    assert not missing.exists()  # read-only: nothing created


def test_an_unknown_product_is_a_usage_error(sqlite_url, capsys):
    code, _, err = run(capsys, "--database", sqlite_url, "--products", "bingo")
    assert code == 2 and "unknown products ['bingo']" in err[0]


@pytest.mark.postgres
def test_without_views_mode_what_only_views_mode_reads_is_not_needed(wrong_schema, capsys):
    """A platform that exports its own business metrics need not provide the views and
    columns only views mode reads: a missing pw_deposits.geo is a problem only with
    --views-mode."""
    with create_engine(normalise_url(PG_URL)).begin() as conn:
        conn.execute(text(f"ALTER TABLE {wrong_schema}.t_pw_deposits DROP COLUMN geo CASCADE"))
        conn.execute(
            text(
                f"CREATE VIEW {wrong_schema}.pw_deposits AS "
                f"SELECT * FROM {wrong_schema}.t_pw_deposits"
            )
        )
    url = schema_url(wrong_schema)
    _, out, _ = run(capsys, "--database", url, "--products", "core")
    assert "pw_players: not needed (views mode only)" in out
    assert not any("column geo" in line for line in out)
    _, out, _ = run(capsys, "--database", url, "--products", "core", "--views-mode")
    assert "  pw_deposits: column geo missing (expected text)" in out
    assert any(line.startswith("pw_players: present") for line in out)


PG_TYPES = {
    "id": "text",
    "integer": "bigint",
    "money": "bigint",
    "text": "text",
    "boolean": "boolean",
    "timestamptz": "timestamptz",
}


def column_sql(c: Column, wrong: dict[str, str]) -> str:
    return f"{c.name} {wrong.get(c.name, PG_TYPES[c.kind])}"


@pytest.fixture
def wrong_schema() -> Iterator[str]:
    """The core views over tables of their own, each a little wrong as the test says."""
    if not PG_URL:
        pytest.skip("PITWATCH_TEST_DATABASE_URL is not set")
    schema = f"pwcontract_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(PG_URL))
    wrong = {
        "pw_deposits": {"amount_minor": "numeric(12,2)"},
        "pw_withdrawals": {"created_at": "timestamp"},
    }
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        for v in views_for([]):
            if v.name == "pw_callbacks":
                continue  # missing
            columns = [
                column_sql(c, wrong.get(v.name, {}))
                for c in v.columns
                if (v.name, c.name) != ("pw_balances", "psp")  # a missing column
            ]
            conn.execute(text(f"CREATE TABLE {schema}.t_{v.name} ({', '.join(columns)})"))
            conn.execute(
                text(f"CREATE VIEW {schema}.{v.name} AS SELECT * FROM {schema}.t_{v.name}")
            )
        conn.execute(
            text(
                f"""INSERT INTO {schema}.t_pw_deposits (deposit_id, geo, brand, psp, method,
                psp_reference, currency, amount_minor, status, created_at, updated_at,
                completed_at) VALUES
                ('d1', 'DE', 'b', 'paybridge', 'card', NULL, 'EUR', 1050, 'approved', now(),
                 now(), now()),
                ('d2', 'DE', 'b', 'paybridge', 'card', NULL, 'EUR', 10.50, 'PENDING', now(),
                 now(), NULL)"""
            )
        )
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.postgres
def test_views_written_wrongly_give_exactly_those_problems_and_exit_1(wrong_schema, capsys):
    code, out, err = run(capsys, "--database", schema_url(wrong_schema), "--products", "core")
    assert code == 1, "\n".join(out + err)
    problems = sorted(line.strip() for line in out if line.startswith("  "))
    assert problems == [
        "pw_balances: column psp missing (expected text)",
        "pw_callbacks: missing (needed by reconciliation wallet_psp (orphan callbacks), "
        "views mode (derived business counters))",
        "pw_deposits: column amount_minor: 1 of 10,000 sampled values have a fractional "
        "part (money is integer minor units)",
        "pw_deposits: column amount_minor: numeric(12,2): money must be an integer in minor "
        "units (expected bigint)",
        "pw_deposits: column status: 1 value(s) outside the documented set: 'PENDING' "
        "(expected initiated, pending, timed_out, approved, declined, failed, chargeback, "
        "chargeback_reversed, refunded)",
        "pw_withdrawals: column created_at: timestamp without time zone (expected timestamp "
        "with time zone: a naive time is read in the session's time zone)",
    ]
    assert "pw_bets: not needed (sportsbook not among the products)" in out
    assert out[-1].startswith("contract NOT met:")


@pytest.mark.postgres
def test_the_check_writes_nothing(wrong_schema):
    from collectors.contract_check import read_only_engine

    engine = read_only_engine(schema_url(wrong_schema))
    with engine.connect() as conn, pytest.raises(Exception, match="read-only"):
        conn.execute(text("INSERT INTO t_pw_deposits (deposit_id) VALUES ('x')"))
    engine.dispose()


def test_the_game_provider_view_is_needed_only_when_that_pair_is_reconciled(sqlite_url, capsys):
    code, out, _ = run(capsys, "--database", sqlite_url, "--products", "casino")
    assert code == 0
    name = "pw_casino_wallet_transactions"
    assert f"{name}: not needed (game provider reconciliation only)" in out
    code, out, _ = run(
        capsys, "--database", sqlite_url, "--products", "casino", "--game-reconciliation"
    )
    assert code == 0 and f"{name}: present, ok" in "\n".join(out)
