"""fastsql.execute writes and reads what Connection.execute does, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError, NoResultFound
from sqlalchemy.orm import Session

from igaming import fastsql
from igaming.casino.models import CasinoRound, CasinoTransaction
from igaming.models import Account, OutboxEvent, Player

WHEN = datetime(2026, 11, 6, 12, 30, 15, 123456, tzinfo=UTC)

PLAYER = {
    "id": "p1",
    "email": "p1@example.com",
    "password_hash": "x",
    "country": "DE",
    "currency": "EUR",
    "date_of_birth": date(1990, 1, 1),
    "brand": "pitwatch",
    "status": "active",
    "kyc_status": "none",
    "created_at": WHEN,
}
_INSERT_TX = insert(CasinoTransaction)
_TX_BY_KEY = select(CasinoTransaction).where(CasinoTransaction.answer_key == bindparam("key"))
_CASH = select(Account.balance).where(
    Account.owner == bindparam("owner"), Account.kind == "cash", Account.currency == "EUR"
)
_MOVE = (
    update(Account)
    .where(Account.owner == bindparam("o"), Account.kind == "cash")
    .values(balance=Account.balance + bindparam("d"))
    .returning(Account.id, Account.balance)
)
_INSERT_EVENTS = insert(OutboxEvent)
_INSERT_ACCOUNT = insert(Account)


def tx_row(n: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"tx-{n}",
        "answer_key": f"spin:{n}",
        "provider": "spin",
        "provider_tx_id": str(n),
        "kind": "bet",
        "outcome": "applied",
        "fingerprint": "f" * 64,
        "player_id": "p1",
        "round_id": None,
        "provider_round_id": "r1",
        "reference_tx_id": None,
        "amount_minor": 250,
        "currency": "EUR",
        "platform_tx_id": None,
        "http_status": 200,
        "response": {"status": "OK", "balance": 750, "nested": [1, "two"]},
        "created_at": WHEN,
    } | extra


def account(owner: str, balance: int) -> dict[str, object]:
    return {
        "owner": owner,
        "kind": "cash",
        "currency": "EUR",
        "psp": "",
        "balance": balance,
        "created_at": WHEN,
    }


def test_rows_written_and_read_are_those_of_connection_execute(engine: Engine) -> None:
    with engine.begin() as conn:
        fastsql.execute(conn, _INSERT_TX, tx_row(1))
        conn.execute(_INSERT_TX, tx_row(2))
    with engine.connect() as conn:
        for key in ("spin:1", "spin:2"):
            fast = fastsql.execute(conn, _TX_BY_KEY, {"key": key}).one()
            core = conn.execute(_TX_BY_KEY, {"key": key}).one()
            assert tuple(fast) == tuple(core)
            assert fast._fields == tuple(core._fields)
        fast = fastsql.execute(conn, _TX_BY_KEY, {"key": "spin:1"}).one()
    # Types went through their processors both ways: aware datetime, JSON back as a dict.
    assert fast.created_at == WHEN and fast.created_at.tzinfo is not None
    assert fast.response == {"status": "OK", "balance": 750, "nested": [1, "two"]}
    assert fast.amount_minor == 250 and fast.round_id is None


def test_literal_values_in_the_statement_and_update_returning(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(_INSERT_ACCOUNT, [account("p1", 1000), account("p2", 5)])
        moved = fastsql.execute(conn, _MOVE, {"o": "p1", "d": -300}).one()
        assert moved.balance == 700
        assert fastsql.execute(conn, _CASH, {"owner": "p1"}).scalar_one() == 700
        assert fastsql.execute(conn, _CASH, {"owner": "p2"}).scalar_one() == 5
        assert fastsql.execute(conn, _MOVE, {"o": "nobody", "d": 1}).one_or_none() is None
        with pytest.raises(NoResultFound):
            fastsql.execute(conn, _CASH, {"owner": "nobody"}).scalar_one()
    with engine.connect() as conn:
        assert conn.execute(_CASH, {"owner": "p1"}).scalar_one() == 700


def test_many_rows_in_one_call(engine: Engine) -> None:
    events = [
        {"event_id": f"e{i}", "event_type": "t", "payload": {"i": i}, "occurred_at": WHEN}
        for i in range(3)
    ]
    with engine.begin() as conn:
        fastsql.execute(conn, _INSERT_EVENTS, events)
        fastsql.execute(conn, _INSERT_EVENTS, [])
    with engine.connect() as conn:
        got = conn.execute(select(OutboxEvent.event_id, OutboxEvent.payload)).all()
    assert sorted((r.event_id, r.payload["i"]) for r in got) == [("e0", 0), ("e1", 1), ("e2", 2)]


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.begin()
        fastsql.execute(conn, _INSERT_TX, tx_row(1))
        with pytest.raises(IntegrityError):
            fastsql.execute(conn, _INSERT_TX, tx_row(2, answer_key="spin:1"))
        conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(CasinoTransaction.id)).all() == []


def test_a_missing_parameter_is_an_error_not_a_null(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(InvalidRequestError, match="owner"):
        fastsql.execute(conn, _CASH, {})


def test_statements_with_expanding_parameters_are_refused(engine: Engine) -> None:
    stmt = select(Account.id).where(Account.owner.in_(bindparam("owners", expanding=True)))
    with engine.connect() as conn, pytest.raises(ValueError, match="plain statements"):
        fastsql.execute(conn, stmt, {"owners": ["a", "b"]})


def test_cursor_listeners_still_run(engine: Engine) -> None:
    seen: list[tuple[str, str]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(("before", a[2])))
    event.listen(engine, "after_cursor_execute", lambda *a: seen.append(("after", a[2])))
    with engine.connect() as conn:
        conn.begin()
        if engine.dialect.name == "sqlite":  # its BEGIN IMMEDIATE (fastsql) is seen too
            assert seen == [("before", "BEGIN IMMEDIATE"), ("after", "BEGIN IMMEDIATE")]
        seen.clear()
        fastsql.execute(conn, _CASH, {"owner": "p1"})
    assert [w for w, _ in seen] == ["before", "after"]
    assert all(sql.startswith("SELECT accounts.balance") for _, sql in seen)


def test_a_failure_reaches_handle_error_with_the_listeners_context(engine: Engine) -> None:
    # As the platform's metrics do: the start time kept on the context by the "before"
    # listener is read back by handle_error, so a failed statement is timed too.
    def before(conn, cursor, statement, params, context, many):
        context.started = statement

    failures: list[tuple[str, str]] = []
    event.listen(engine, "before_cursor_execute", before)
    event.listen(
        engine,
        "handle_error",
        lambda ctx: failures.append((ctx.statement, ctx.execution_context.started)),
    )
    with engine.connect() as conn:
        conn.begin()
        fastsql.execute(conn, _INSERT_TX, tx_row(1))
        with pytest.raises(IntegrityError):
            fastsql.execute(conn, _INSERT_TX, tx_row(2, answer_key="spin:1"))
    assert len(failures) == 1
    statement, started = failures[0]
    assert statement.startswith("INSERT INTO casino_transactions") and started == statement


def test_a_connection_without_a_transaction_begins_one_as_connection_execute_does(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        assert not conn.in_transaction()
        fastsql.execute(conn, _INSERT_ACCOUNT, account("p1", 10))
        assert conn.in_transaction()
        conn.rollback()  # the insert was inside that transaction: nothing stays
    with engine.connect() as conn:
        assert conn.execute(_CASH, {"owner": "p1"}).first() is None


def test_result_types_the_driver_decides_float_and_nulls(engine: Engine) -> None:
    # psycopg's result processor for a float column depends on the column's type OID,
    # known only from the cursor: a plan that ignored it failed on PostgreSQL.
    rounds = CasinoRound.__table__
    every = select(*rounds.c).where(rounds.c.id == bindparam("id"))
    row = {
        "id": "r1",
        "provider": "spin",
        "provider_round_id": "pr1",
        "game_id": "g1",
        "game_type": "slot",
        "player_id": "p1",
        "currency": "EUR",
        "stake_minor": 100,
        "win_minor": 0,
        "open_bets": 1,
        "wins": 0,
        "status": "open",
        "started_at": WHEN,
        "ended_at": None,
        "result_delay_seconds": 2.5,
        "updated_at": WHEN,
    }
    with engine.begin() as conn:
        conn.execute(insert(Player.__table__), PLAYER)
        fastsql.execute(conn, insert(rounds), row)
    with engine.connect() as conn:
        for _ in range(2):  # the first result finds the processors, the second reuses them
            fast = fastsql.execute(conn, every, {"id": "r1"}).one()
            assert tuple(fast) == tuple(conn.execute(every, {"id": "r1"}).one())
    assert fast.result_delay_seconds == 2.5 and fast.ended_at is None
    assert fast.started_at == WHEN


def test_statements_built_per_call_are_refused_before_they_fill_memory(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastsql, "_PLANS", {})
    monkeypatch.setattr(fastsql, "MAX_PLANS", 3)
    with engine.connect() as conn:
        for _ in range(3):
            fastsql.execute(conn, select(Account.id).where(Account.owner == "x"))
        with pytest.raises(RuntimeError, match="built once"):
            fastsql.execute(conn, select(Account.id).where(Account.owner == "x"))


def test_query_sees_what_the_session_holds_unwritten(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Account(**account("p1", 42)))  # pending: not yet flushed
        assert fastsql.query(session, _CASH, {"owner": "p1"}).scalar_one() == 42
        session.rollback()
