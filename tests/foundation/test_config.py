"""Configuration fails fast: production refuses unsafe settings, an unknown APP_ENV is an error."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sentry_sdk

from app import create_app
from app.config import DEV_SECRET, ConfigError, ProductionConfig, TestConfig, load_config, with_driver

GOOD_SECRET = "q9V-3rXc7LmT1pZs8KfW2nYb6HdJ0gUe4Ao5"  # 36 random-looking characters


@pytest.fixture
def production_env(monkeypatch):
    """A complete, safe production environment pointing at the test database and Redis."""
    services = TestConfig()
    monkeypatch.setenv("JWT_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("DATABASE_URL", services.SQLALCHEMY_DATABASE_URI)
    monkeypatch.setenv("REDIS_URL", services.REDIS_URL)
    for name in ("SECRET_KEY", "JOBS_INLINE", "RATELIMIT_STORAGE_URI", "SENTRY_DSN", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_starts_with_good_values(production_env, make_app):
    config = load_config("production")

    assert isinstance(config, ProductionConfig)
    assert config.JWT_SECRET_KEY == GOOD_SECRET
    # DATABASE_URL=postgresql://... connects through psycopg 3, which prepares the statements run again and again.
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    assert config.JOBS_INLINE is False
    app = make_app(config=config)
    assert app.config["ENV_NAME"] == "production"
    assert app.test_client().get("/health").status_code == 200


@pytest.mark.parametrize(
    "secret",
    [None, "", "change-me", "CHANGE-ME", "changeme", "secret", DEV_SECRET, "x" * 31, "short-random-Zx81"],
)
def test_production_refuses_a_missing_placeholder_or_short_secret(production_env, secret):
    if secret is None:
        production_env.delenv("JWT_SECRET_KEY")
    else:
        production_env.setenv("JWT_SECRET_KEY", secret)

    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        load_config("production")


def test_production_refuses_to_run_without_a_database(production_env):
    production_env.delenv("DATABASE_URL")

    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config("production")


def test_production_refuses_the_in_process_redis(production_env):
    production_env.setenv("REDIS_URL", "memory://")

    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_config("production")


def test_production_refuses_inline_jobs(production_env):
    production_env.setenv("JOBS_INLINE", "1")

    with pytest.raises(ConfigError, match="JOBS_INLINE"):
        load_config("production")


@pytest.mark.parametrize("mode", ["production", "development"])
def test_an_unknown_sms_provider_refuses_to_start_naming_it(production_env, mode):
    production_env.setenv("SMS_PROVIDER", "smsr")

    with pytest.raises(ConfigError, match=r"SMS_PROVIDER='smsr' is not one of console, smsru"):
        load_config(mode)
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        create_app(mode)


def test_production_with_the_console_provider_starts_but_warns_loudly(production_env, caplog):
    production_env.setenv("SMS_PROVIDER", "console")

    with caplog.at_level(logging.WARNING, logger="app.config"):
        config = load_config("production")

    assert config.SMS_PROVIDER == "console"
    [warning] = [r for r in caplog.records if r.name == "app.config"]
    assert warning.levelno == logging.WARNING and "NOBODY" in warning.getMessage()


def test_production_with_smsru_starts_without_the_console_warning(production_env, caplog):
    production_env.setenv("SMS_PROVIDER", "smsru")

    with caplog.at_level(logging.WARNING, logger="app.config"):
        load_config("production")

    assert [r for r in caplog.records if r.name == "app.config"] == []


def test_create_app_refuses_to_start_on_a_placeholder_secret(production_env):
    production_env.setenv("JWT_SECRET_KEY", "change-me")

    with pytest.raises(ConfigError):
        create_app("production")


def test_unknown_app_env_is_an_error(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging")

    with pytest.raises(ConfigError, match="staging"):
        load_config()
    with pytest.raises(ConfigError, match="staging"):
        create_app()


def test_a_forgotten_app_env_means_production_and_fails_safe(production_env):
    production_env.setenv("JWT_SECRET_KEY", "change-me")

    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        load_config()


# --- Sentry ---------------------------------------------------------------------------------------------


@pytest.fixture
def sentry_app(make_app, stub_server):
    """An app reporting to a local stub standing in for Sentry; the SDK is switched off again afterwards."""
    app = make_app(SENTRY_DSN=f"http://publickey@{stub_server.url.removeprefix('http://')}/42")

    @app.get("/test/crash")
    def crash():
        phone = "+79161234567"  # a local variable: Sentry sends frame variables too
        raise LookupError(f"no customer with phone {phone}")

    yield app, stub_server
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def _envelope_items(body: bytes) -> list[tuple[dict, dict]]:
    """(item header, payload) pairs of a Sentry envelope: a header line, then header/payload line pairs."""
    lines = body.split(b"\n")[1:]
    return [(json.loads(lines[i]), json.loads(lines[i + 1])) for i in range(0, len(lines) - 1, 2) if lines[i]]


def test_an_unexpected_error_reaches_sentry_with_the_phone_masked(sentry_app):
    app, stub = sentry_app
    response = app.test_client().get("/test/crash?q=%2B79161234567")  # a search by phone, percent-encoded
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    events = [
        payload
        for request in stub.requests
        if request.path == "/api/42/envelope/"
        for header, payload in _envelope_items(request.body)
        if header.get("type") == "event"
    ]
    assert len(events) == 1
    exception = events[0]["exception"]["values"][-1]
    assert exception["type"] == "LookupError"
    assert exception["value"] == "no customer with phone +7********67"
    leaks = [m.group(0) for request in stub.requests for m in re.finditer(rb".{0,80}9161234567", request.body)]
    assert leaks == []


def test_a_database_url_naming_its_driver_is_kept():
    assert with_driver("postgresql://u:p@db:5432/crm") == "postgresql+psycopg://u:p@db:5432/crm"
    assert with_driver("postgresql+psycopg2://u@db/crm") == "postgresql+psycopg2://u@db/crm"
    assert with_driver("sqlite:///dev.db") == "sqlite:///dev.db"
