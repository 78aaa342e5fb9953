"""Settings from the environment; placeholder secrets refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pitwatch.settings import Settings


def test_defaults_are_the_embedded_sqlite_database_and_local_simulators(monkeypatch):
    monkeypatch.delenv("PITWATCH_DATABASE_URL", raising=False)
    s = Settings()
    assert s.database_url == "sqlite:///var/pitwatch.db"
    assert s.psp_base_url == "http://127.0.0.1:8601"


def test_environment_variables_override(monkeypatch):
    monkeypatch.setenv("PITWATCH_DATABASE_URL", "postgresql://u@db/pitwatch")
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", '{"paybridge": "s3cret"}')
    s = Settings()
    assert (s.database_url, s.psp_secrets) == (
        "postgresql://u@db/pitwatch",
        {"paybridge": "s3cret"},
    )


def test_production_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="psp paybridge"):
        Settings()
    # Real secrets are 32 bytes at least (a short one is refused like a placeholder).
    real = "r" * 32
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", f'{{"paybridge": "{real}"}}')
    monkeypatch.setenv("PITWATCH_GAME_PROVIDER_SECRETS", f'{{"spinworks": "{real}"}}')
    monkeypatch.setenv("PITWATCH_ODDS_FEED_SECRET", real)
    with pytest.raises(ValidationError, match="player_ref"):
        Settings()
    monkeypatch.setenv("PITWATCH_PLAYER_REF_KEY", real)
    assert Settings().environment == "production"


def test_operator_side_commands_need_none_of_the_platforms_secrets(monkeypatch, tmp_path, capsys):
    """An operator's production run of contract check / reconcile / collect signs nothing:
    the reference platform's placeholder secrets do not stop it; the platform's own
    commands still refuse them."""
    from pitwatch.cli import main
    from pitwatch.settings import get_settings

    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    missing = tmp_path / "none.db"
    monkeypatch.setenv("PITWATCH_DATABASE_URL", f"sqlite:///{missing}")
    get_settings.cache_clear()
    try:
        assert main(["contract", "check"]) == 2  # the missing database, not the secrets
        err = capsys.readouterr().err
        assert "secrets" not in err and "cannot read the database" in err
        with pytest.raises(ValidationError, match="placeholder"):
            Settings()  # outside those commands, production still refuses them
        assert main(["platform", "serve", "--port", "1"]) == 2
        assert "placeholder" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
