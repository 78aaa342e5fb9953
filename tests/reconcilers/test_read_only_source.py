"""A read-only PostgreSQL login end to end (issue 19 §3): the reference platform migrated
into a schema of its own, some traffic, and a role with USAGE on the schema and SELECT on
the pw_* views only. With that login as PITWATCH_DATABASE_URL and a SQLite file as
PITWATCH_STATE_DATABASE_URL, ``pitwatch reconcile run`` succeeds (its breaks in the SQLite
file), every collector of the state exporter is up, and nothing changed in the platform's
database; the login cannot write there anyway."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from collectors import exporter
from ground.clock import SystemClock
from ground.dburl import normalise_url
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from pitwatch.state import STATE_COLLECTORS
from tests.reconcilers.state_db_helpers import reconcile_cli, sqlite_rows, traffic_day

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("PITWATCH_TEST_DATABASE_URL")


@pytest.fixture
def platform_schema() -> Iterator[str]:
    """A schema with the reference platform migrated into it, dropped after."""
    if not PG_URL:
        pytest.skip("PITWATCH_TEST_DATABASE_URL is not set")
    schema = f"pwro_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        engine = make_engine(PG_URL, schema=schema)
        upgrade_engine(engine)
        engine.dispose()
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def read_only_url(platform_schema: str) -> Iterator[str]:
    """A login with SELECT on the schema's pw_* views and nothing else; its URL."""
    assert PG_URL
    role = f"pw_ro_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        views = (
            conn.execute(
                text(
                    "SELECT viewname FROM pg_views WHERE schemaname = :s AND viewname LIKE 'pw\\_%'"
                ),
                {"s": platform_schema},
            )
            .scalars()
            .all()
        )
        assert len(views) >= 10, views
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {platform_schema} TO {role}"))
        names = ", ".join(f"{platform_schema}.{v}" for v in views)
        conn.execute(text(f"GRANT SELECT ON {names} TO {role}"))
        conn.execute(text(f"ALTER ROLE {role} SET search_path = {platform_schema}"))
    url = make_url(normalise_url(PG_URL)).set(username=role, password=None)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def snapshot(schema: str) -> dict[str, str]:
    """Every relation of the schema, each table with a digest of its rows."""
    assert PG_URL
    admin = create_engine(normalise_url(PG_URL))
    with admin.connect() as conn:
        relations = conn.execute(
            text(
                "SELECT c.relname, c.relkind FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s"
            ),
            {"s": schema},
        ).all()
        out = {f"{name}:{kind}": "" for name, kind in relations}
        for name, kind in relations:
            if kind == "r":
                out[f"{name}:{kind}"] = conn.execute(
                    text(
                        f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                        f"ORDER BY t::text)), '') FROM {schema}.{name} t"
                    )
                ).scalar_one()
    admin.dispose()
    return out


def test_a_read_only_login_reconciles_and_is_collected_without_a_write(
    platform_schema, read_only_url, tmp_path, monkeypatch, capsys
):
    day, reports = traffic_day(make_engine(PG_URL, schema=platform_schema), tmp_path)
    before = snapshot(platform_schema)
    state = tmp_path / "state.db"

    code, out, err = reconcile_cli(
        monkeypatch, capsys, read_only_url, f"sqlite:///{state}",
        "--date", day.isoformat(), "--psp-reports", str(reports), "--out", str(tmp_path / "out"),
    )  # fmt: skip

    assert code == 0, err
    assert f"reconciled {day}" in out
    [(outcome, rows_wallet)] = sqlite_rows(state, "SELECT outcome, rows_wallet FROM recon_runs")
    assert outcome == "success" and rows_wallet > 0
    [(breaks,)] = sqlite_rows(state, "SELECT COUNT(*) FROM recon_breaks WHERE psp = 'ewallo'")
    assert breaks > 0

    registry, _app = exporter.create_exporter(
        read_only_url, SystemClock(), collectors=STATE_COLLECTORS, state=f"sqlite:///{state}"
    )
    ups = {
        c.name: registry.get_sample_value("pitwatch_collector_up", {"collector": c.name})
        for c in STATE_COLLECTORS
    }
    assert ups == {name: 1 for name in ups}
    assert (
        registry.get_sample_value(
            "pitwatch_reconciliation_runs_total", {"pair": "wallet_psp", "outcome": "success"}
        )
        == 1
    )
    for collector in registry._collector_to_names:
        if hasattr(collector, "engine"):
            collector.engine.dispose()

    assert snapshot(platform_schema) == before
    conninfo = normalise_url(read_only_url).replace("+psycopg", "")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in (
            "CREATE TABLE pitwatch_probe (x int)",
            "DELETE FROM players",  # a table under the views
            "UPDATE recon_runs SET error = 'x'",
            "SELECT count(*) FROM recon_runs",  # not even reading the platform's own tables
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_pitwatch_reads_in_read_only_sessions_whatever_the_login_may_do():
    if not PG_URL:
        pytest.skip("PITWATCH_TEST_DATABASE_URL is not set")
    from sqlalchemy.exc import DBAPIError

    engine = exporter.make_read_engine(PG_URL)  # the test login may write: the session not
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
            with pytest.raises(DBAPIError) as caught:
                conn.execute(text("CREATE TEMPORARY TABLE pitwatch_probe (x int)"))
            assert isinstance(caught.value.orig, psycopg.errors.ReadOnlySqlTransaction)
    finally:
        engine.dispose()
