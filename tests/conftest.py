"""Database fixtures: every wallet and cashier test runs on SQLite and on PostgreSQL.

PostgreSQL comes from PITWATCH_TEST_DATABASE_URL. Unset, its tests skip; set (as .ci/run
does), an unreachable server is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

# The shared helpers' asserts get pytest's detailed messages too (pytest rewrites only
# test_* modules and conftest by itself; these must be named before they are imported).
pytest.register_assert_rewrite(
    "tests.fakes",
    "tests.psp_world",
    "tests.alert_rules.tools",
    "tests.collectors.metrics_helpers",
    "tests.dashboards.tools",
    "tests.e2e.stack_tools",
    "tests.platform.affiliate_helpers",
    "tests.platform.cashier_helpers",
    "tests.platform.casino_helpers",
    "tests.platform.sportsbook_helpers",
    "tests.reconcilers.ledger_helpers",
    "tests.reconcilers.matching_helpers",
    "tests.reconcilers.report_helpers",
    "tests.reconcilers.state_db_helpers",
    "tests.sim.traffic_tools",
)

from ground.clock import FakeClock
from ground.dburl import normalise_url
from igaming.bootstrap import Platform
from igaming.bus import MessageBus
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from pitwatch.compose import build_platform, start_platform
from pitwatch.settings import Settings
from tests.fakes import FakeKyc, FakePsp

PG_URL = os.environ.get("PITWATCH_TEST_DATABASE_URL")
# The password register_player gives every player.
PASSWORD = "correct horse battery"
# Settings without PITWATCH_ENVIRONMENT are production (placeholder secrets refused): the
# tests, and the processes they start, run as test unless a test says otherwise.
os.environ.setdefault("PITWATCH_ENVIRONMENT", "test")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_engine(engine)
    engine.dispose()
    return str(path)


@pytest.fixture
def sqlite_url(sqlite_template: str, tmp_path) -> str:
    path = tmp_path / "pitwatch.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PITWATCH_TEST_DATABASE_URL is not set")
    schema = f"pwtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(PG_URL, schema=schema)
    upgrade_engine(engine)
    engine.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    # Reflected, not from Base.metadata: every migrated table, whichever module maps it.
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    tables = ", ".join(names)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        eng = make_engine(request.getfixturevalue("sqlite_url"))
    else:
        schema = request.getfixturevalue("pg_schema")
        eng = make_engine(PG_URL, schema=schema)  # type: ignore[arg-type]
        _truncate_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


def make_platform(engine: Engine, **kwargs: Any) -> Platform:
    settings = Settings(environment="test", database_url=str(engine.url))
    platform = build_platform(
        settings,
        engine=engine,
        clock=kwargs.pop("clock", None) or FakeClock(),
        bus=MessageBus(strict=True),
        psp=kwargs.pop("psp", None) or FakePsp(),
        kyc=kwargs.pop("kyc", None) or FakeKyc(),
    )
    start_platform(platform)
    return platform


@pytest.fixture
def platform(engine: Engine) -> Platform:
    return make_platform(engine)


@pytest.fixture
def sqlite_platform(sqlite_engine: Engine) -> Platform:
    return make_platform(sqlite_engine)


def register_player(
    p: Platform, *, country: str = "DE", currency: str = "EUR", email: str | None = None, **kw
):
    from igaming.accounts.service import Registration, register

    return register(
        p,
        Registration(
            email=email or f"{uuid.uuid4().hex[:10]}@example.com",
            password=PASSWORD,
            country=country,
            currency=currency,
            date_of_birth=date(1990, 5, 17),
            **kw,
        ),
    )


def bearer(client: Any, player: Any) -> dict[str, str]:
    """The Authorization header of a player registered by register_player, logged in over
    the API (client: a TestClient of the platform's app)."""
    answer = client.post("/sessions", json={"email": player.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}
