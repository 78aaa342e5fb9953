"""Hardening of the operational surface (security review items 4, 13-17): secrets that fail
closed, postback destinations, the internal metrics listener, fault injection, the
simulators' admin APIs and the breaks CSV shared on Slack."""

from __future__ import annotations

import pytest

from pitwatch.settings import Settings, SettingsError, get_settings

STRONG = "x" * 40  # 40 bytes: long enough, not a placeholder


def _strong_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", f'{{"paybridge": "{STRONG}"}}')
    monkeypatch.setenv("PITWATCH_GAME_PROVIDER_SECRETS", f'{{"spinworks": "{STRONG}"}}')
    monkeypatch.setenv("PITWATCH_ODDS_FEED_SECRET", STRONG)
    monkeypatch.setenv("PITWATCH_PLAYER_REF_KEY", STRONG)


# -- item 4: placeholder secrets fail closed --------------------------------------------------


def test_without_an_environment_placeholder_secrets_are_refused(monkeypatch):
    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    with pytest.raises(ValueError, match="placeholder"):
        Settings()


@pytest.mark.parametrize("value", ["", "short-but-real", "dev-secret-paybridge-0123456789abcdef"])
def test_production_refuses_empty_short_and_placeholder_secrets(monkeypatch, value):
    _strong_env(monkeypatch)
    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", f'{{"paybridge": "{value}"}}')
    with pytest.raises(ValueError, match="psp paybridge"):
        Settings()


def test_production_starts_with_long_real_secrets(monkeypatch):
    _strong_env(monkeypatch)
    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    s = Settings()
    assert s.environment == "production"
    assert (s.docs_enabled, s.faults_enabled, s.postback_allow_private) == (False, False, False)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_the_placeholders_and_the_conveniences(environment):
    s = Settings(environment=environment)
    assert s.psp_secrets["paybridge"].startswith("dev-")
    assert (s.docs_enabled, s.faults_enabled, s.postback_allow_private) == (True, True, True)


def test_get_settings_error_is_one_line_without_the_secret(monkeypatch):
    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", '{"paybridge": "tiny-but-secret"}')
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = str(caught.value)
    assert "\n" not in message and "tiny-but-secret" not in message
    assert "PITWATCH_ENVIRONMENT" in message and "psp paybridge" in message


def test_cli_refuses_to_start_with_placeholder_secrets_exit_code_2(monkeypatch, capsys):
    from pitwatch.cli import main

    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["platform", "operator", "create", "--name", "x", "--role", "support"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "placeholder" in err, err
