"""A configuration error stops every process at start with one clear line and exit code 1, never a
traceback; levels are accepted in any case; production holds SECRET_KEY to the rule of JWT_SECRET_KEY."""

from __future__ import annotations

import logging
import subprocess

import pytest

from app.config import DEV_SECRET, ConfigError, load_config
from tests.foundation.processes import BIN, GOOD_SECRET, REPO, gunicorn, production_env

COMMANDS = {
    "flask": ["flask", "routes"],
    "gunicorn": ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0", "wsgi:app"],
    "worker": ["flask", "jobs", "worker", "--burst"],
    "cron": ["rq", "cron", "app/jobs/cron.py"],
}
BAD = {
    "LOG_LEVEL": "verbose",
    "LOG_FORMAT": "xml",
    "SECRET_KEY": "dev",
    "MAIL_PORT": "five-eight-seven",
    "MESSAGE_RETRY_INTERVALS": "10,thirty",
    "RATELIMIT_LOGIN_PER_IP": "ten a minute",
    "DATABASE_URL": "postgres://flowercrm@db/flowercrm",
    "REDIS_URL": "http://127.0.0.1:6379/0",
    "RATELIMIT_STORAGE_URI": "http://127.0.0.1:6379/0",
}


def run(command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    if command[0] == "rq":
        command = [*command, "--url", env["REDIS_URL"]]
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("name", ["LOG_LEVEL", "SECRET_KEY", "MAIL_PORT"])
def test_a_bad_setting_stops_each_process_with_one_line_naming_it(command, name):
    value = BAD[name]
    result = run(COMMANDS[command], production_env(**{name: value}))

    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ") and name in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_gunicorn_setting_that_is_not_a_number_is_one_line_too():
    # SMS.RU, so the app's settings pass without the console provider's warning line.
    result = run(COMMANDS["gunicorn"], production_env(GUNICORN_THREADS="four", SMS_PROVIDER="smsru"))

    assert result.returncode == 1
    assert result.stderr.strip() == "Configuration error: GUNICORN_THREADS='four' is not a whole number."


@pytest.mark.parametrize("command", ["flask", "worker"])
def test_lower_case_warning_as_gunicorn_spells_it_starts(command):
    result = run(COMMANDS[command], production_env(LOG_LEVEL="warning"))

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_lower_case_warning_starts_gunicorn_and_serves(tmp_path):
    with gunicorn(production_env(LOG_LEVEL="warning"), tmp_path) as server:
        status, _headers, body = server.request("GET", "/health")

    assert status == 200 and b'"ok"' in body
    assert "Traceback" not in server.log()


def test_lower_case_warning_starts_rq_cron():
    env = production_env(LOG_LEVEL="warning")
    process = subprocess.Popen(
        [str(BIN / "rq"), "cron", "app/jobs/cron.py", "--url", env["REDIS_URL"]],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):  # still running: it started
            process.wait(timeout=4)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "Configuration error" not in output and "Traceback" not in output


# --- the settings themselves ----------------------------------------------------------------------------


@pytest.fixture
def production(monkeypatch):
    for name, value in production_env().items():
        monkeypatch.setenv(name, value)
    for name in ("SECRET_KEY", "LOG_LEVEL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("name", "value"), list(BAD.items()), ids=list(BAD))
def test_each_bad_setting_is_a_config_error_of_one_line_naming_it(production, name, value):
    production.setenv(name, value)

    with pytest.raises(ConfigError) as refused:
        load_config("production")

    assert str(refused.value).startswith(name) and "\n" not in str(refused.value)


@pytest.mark.parametrize("spelling", ["warning", "Warning", "WARNING", " warning "])
def test_log_levels_are_read_in_any_case(production, make_app, spelling):
    production.setenv("LOG_LEVEL", spelling)

    config = load_config("production")
    make_app(config=config)

    assert config.LOG_LEVEL == "WARNING"
    assert logging.getLogger().level == logging.WARNING


@pytest.mark.parametrize("secret", ["dev", "DEV", "change-me", "secret", DEV_SECRET, "x" * 31, "short-random-Zx81"])
def test_production_refuses_a_placeholder_or_short_secret_key_even_with_a_strong_jwt_key(production, secret):
    production.setenv("SECRET_KEY", secret)

    with pytest.raises(ConfigError, match="^SECRET_KEY is missing, a placeholder or shorter than 32"):
        load_config("production")


@pytest.mark.parametrize("unset", [None, ""], ids=["unset", "empty"])
def test_an_unset_secret_key_is_the_jwt_key_and_production_starts(production, unset):
    if unset is not None:
        production.setenv("SECRET_KEY", unset)

    assert load_config("production").SECRET_KEY == GOOD_SECRET


def test_a_strong_secret_key_of_its_own_is_kept(production):
    own = "Zt4-" + GOOD_SECRET[::-1]
    production.setenv("SECRET_KEY", own)

    config = load_config("production")

    assert own == config.SECRET_KEY


def test_development_still_starts_with_its_built_in_secret(production):
    production.delenv("JWT_SECRET_KEY")

    config = load_config("development")

    assert config.SECRET_KEY == config.JWT_SECRET_KEY == DEV_SECRET
