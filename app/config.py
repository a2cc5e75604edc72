"""Configuration classes, read from the environment (and `.env`)."""

import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import redis
from limits import parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import storage_from_string
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEV_SECRET = "dev-only-secret-never-use-in-production-0001"
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", DEV_SECRET.lower()}
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
STORAGE_BACKENDS = ("local", "s3")
SMS_PROVIDERS = ("console", "smsru")
DATABASE_CONNECT_TIMEOUT = 5  # seconds
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
RATE_LIMITS = (
    "RATELIMIT_LOGIN_PER_IP",
    "RATELIMIT_LOGIN_PER_IDENTIFIER",
    "RATELIMIT_REFRESH_PER_IP",
    "RATELIMIT_EXCHANGE_PER_IP",
    "RATELIMIT_OTP_REQUEST_PER_PHONE",
    "RATELIMIT_OTP_REQUEST_PER_IP",
    "RATELIMIT_OTP_VERIFY_PER_PHONE",
    "RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY",
    "RATELIMIT_OTP_VERIFY_PER_IP",
    "RATELIMIT_API_KEY",
    "RATELIMIT_TRACKING_PER_IP",
)

log = logging.getLogger(__name__)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def with_driver(url: str) -> str:
    """`postgresql://...` as the app connects: through psycopg 3, which prepares the statements a connection runs
    again and again, so PostgreSQL parses each of them once (docs/decisions.md). A URL naming its driver is kept."""
    scheme = "postgresql://"
    return "postgresql+psycopg://" + url[len(scheme) :] if url.startswith(scheme) else url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number.") from None


def _env_ints(name: str, default: str) -> list[int]:
    value = _env(name, default)
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a comma-separated list of whole numbers.") from None


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


T = TypeVar("T")


def exit_on_config_error(start: Callable[[], T]) -> T:
    """`start()` for a process's entry point: a configuration error ends it with one line on stderr and exit 1."""
    try:
        return start()
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")


class BaseConfig:
    ENV_NAME = "base"

    def __init__(self) -> None:
        # Read at instantiation, not import, so tests and CLIs can set the environment first.
        self.SECRET_KEY = _env("SECRET_KEY") or _env("JWT_SECRET_KEY")
        self.JWT_SECRET_KEY = _env("JWT_SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = with_driver(_env("DATABASE_URL"))
        self.REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.CORS_ORIGINS = [o.strip() for o in _env("CORS_ORIGINS").split(",") if o.strip()]
        self.LOG_FORMAT = _env("LOG_FORMAT", "text").strip().lower()
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO").strip().upper()  # "warning", as gunicorn spells it, too
        self.SENTRY_DSN = _env("SENTRY_DSN")
        self.SMS_PROVIDER = _env("SMS_PROVIDER", "console")
        self.SMSRU_API_ID = _env("SMSRU_API_ID")
        self.SMSRU_API_URL = _env("SMSRU_API_URL", "https://sms.ru")
        self.TELEGRAM_BOT_TOKEN = _env("TELEGRAM_BOT_TOKEN")
        self.TELEGRAM_API_URL = _env("TELEGRAM_API_URL", "https://api.telegram.org")
        self.MAIL_SERVER = _env("MAIL_SERVER")
        self.MAIL_PORT = _env_int("MAIL_PORT", 587)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
        self.MAIL_FROM = _env("MAIL_FROM", "Flower CRM <noreply@example.com>")
        self.STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
        self.STORAGE_LOCAL_DIR = _env("STORAGE_LOCAL_DIR", str(INSTANCE_DIR / "media"))
        self.STORAGE_S3_ENDPOINT_URL = _env("STORAGE_S3_ENDPOINT_URL")
        self.STORAGE_S3_BUCKET = _env("STORAGE_S3_BUCKET")
        self.STORAGE_S3_ACCESS_KEY = _env("STORAGE_S3_ACCESS_KEY")
        self.STORAGE_S3_SECRET_KEY = _env("STORAGE_S3_SECRET_KEY")
        self.STORAGE_S3_REGION = _env("STORAGE_S3_REGION", "us-east-1")
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI") or self.REDIS_URL
        self.PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR")
        self.PROXY_COUNT = _env_int("PROXY_COUNT", 0)
        # Jobs run in the request's process instead of on a worker (dev mode only).
        self.JOBS_INLINE = _env_bool("JOBS_INLINE", False)
        # Seconds from a commit with events to its shop's dispatch (status messages, webhooks): one job per shop
        # takes every commit of that time. 0: a job per commit, at once.
        self.EVENTS_DISPATCH_DELAY = _env_int("EVENTS_DISPATCH_DELAY", 1)
        # Rate limits, in flask-limiter's notation ("10 per minute").
        self.RATELIMIT_LOGIN_PER_IP = _env("RATELIMIT_LOGIN_PER_IP", "10 per minute")
        self.RATELIMIT_LOGIN_PER_IDENTIFIER = _env("RATELIMIT_LOGIN_PER_IDENTIFIER", "5 per minute")
        self.RATELIMIT_REFRESH_PER_IP = _env("RATELIMIT_REFRESH_PER_IP", "30 per minute")
        self.RATELIMIT_EXCHANGE_PER_IP = _env("RATELIMIT_EXCHANGE_PER_IP", "10 per minute")
        self.RATELIMIT_OTP_REQUEST_PER_PHONE = _env("RATELIMIT_OTP_REQUEST_PER_PHONE", "5 per 15 minutes")
        self.RATELIMIT_OTP_REQUEST_PER_IP = _env("RATELIMIT_OTP_REQUEST_PER_IP", "30 per hour")
        self.RATELIMIT_OTP_VERIFY_PER_PHONE = _env("RATELIMIT_OTP_VERIFY_PER_PHONE", "10 per 15 minutes")
        self.RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY = _env("RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY", "20 per day")
        self.RATELIMIT_OTP_VERIFY_PER_IP = _env("RATELIMIT_OTP_VERIFY_PER_IP", "60 per hour")
        # Every storefront call of one integration key counts against this one budget.
        self.RATELIMIT_API_KEY = _env("RATELIMIT_API_KEY", "600 per minute")
        # Guesses at tracking links (GET /t/<token>), per client IP.
        self.RATELIMIT_TRACKING_PER_IP = _env("RATELIMIT_TRACKING_PER_IP", "60 per minute")
        # Where customers open their tracking page: the links in status messages are built from it.
        self.PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        # How often an open tracking page asks for news, in seconds.
        self.TRACKING_POLL_SECONDS = _env_int("TRACKING_POLL_SECONDS", 20)
        # How long a signed photo link (proof of delivery, bouquet) works, in seconds (7 days).
        self.PHOTO_LINK_SECONDS = _env_int("PHOTO_LINK_SECONDS", 7 * 24 * 3600)
        # Seconds between tries of a message send job; one more try than intervals.
        self.MESSAGE_RETRY_INTERVALS = _env_ints("MESSAGE_RETRY_INTERVALS", "10,30,90")
        # Seconds a send job may run; a row "sending" longer than that lost its worker (docs/jobs.md).
        self.MESSAGE_SEND_TIMEOUT = _env_int("MESSAGE_SEND_TIMEOUT", 30)
        # Days the event log keeps an event (the feed, the stream's resume and webhook redelivery reach back so far).
        self.EVENT_RETENTION_DAYS = _env_int("EVENT_RETENTION_DAYS", 30)
        # The live stream (the events service, docs/operations.md): seconds between heartbeats, between polls of
        # the log besides NOTIFY, and between checks that each stream's login, user and membership still stand.
        self.EVENTS_HEARTBEAT_SECONDS = _env_int("EVENTS_HEARTBEAT_SECONDS", 15)
        self.EVENTS_POLL_SECONDS = _env_int("EVENTS_POLL_SECONDS", 3)
        self.EVENTS_AUTH_CHECK_SECONDS = _env_int("EVENTS_AUTH_CHECK_SECONDS", 30)
        # Whether this process serves GET /api/v1/events/stream: the events service and dev mode do, the API 421s.
        self.EVENTS_STREAM_SERVED = False
        # Webhooks: receivers on private, loopback or link-local addresses, and plain http, only when allowed
        # (tests, on-premise receivers); seconds per delivery attempt; seconds between the attempts (24 h in all).
        self.WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", False)
        self.WEBHOOK_TIMEOUT = _env_int("WEBHOOK_TIMEOUT", 10)
        self.WEBHOOK_RETRY_INTERVALS = _env_ints("WEBHOOK_RETRY_INTERVALS", "5,60,300,1800,7200,21600,43200")
        # A trusted identity service whose tokens POST /auth/exchange trades for ours (off when no issuer).
        self.EXTERNAL_JWT_ISSUER = _env("EXTERNAL_JWT_ISSUER")
        self.EXTERNAL_JWT_ALGORITHM = _env("EXTERNAL_JWT_ALGORITHM", "RS256")
        self.EXTERNAL_JWT_SECRET = _env("EXTERNAL_JWT_SECRET")
        # PEM text; "\n" escapes allowed so the key fits on one line of an env file.
        self.EXTERNAL_JWT_PUBLIC_KEY = _env("EXTERNAL_JWT_PUBLIC_KEY").replace("\\n", "\n")
        self.EXTERNAL_JWT_AUDIENCE = _env("EXTERNAL_JWT_AUDIENCE")
        self.EXTERNAL_JWT_USER_CLAIM = _env("EXTERNAL_JWT_USER_CLAIM", "sub")

    @property
    def SQLALCHEMY_ENGINE_OPTIONS(self) -> dict:
        options: dict = {"pool_pre_ping": True}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            # A host that never answers is a 503 within seconds, not a request hung past gunicorn's timeout.
            options["connect_args"] = {"connect_timeout": DATABASE_CONNECT_TIMEOUT}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg:"):
            # A statement is prepared the second time a connection runs it, not the sixth: psycopg forgets them all
            # at any ROLLBACK, and one run less often than that was parsed and planned every time (docs/decisions.md).
            options["connect_args"]["prepare_threshold"] = 1
        return options

    # Fixed settings shared by every mode.
    JSON_SORT_KEYS = False
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024  # a 10 MB image plus its multipart envelope
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    IDEMPOTENCY_TTL = timedelta(hours=24)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    API_TITLE = "Flower CRM"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/_assets/swagger-ui/"
    # Swagger UI would otherwise load a badge image from validator.swagger.io.
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}
    OPENAPI_REDOC_PATH = "/redoc"
    OPENAPI_REDOC_URL = "/_assets/redoc/redoc.standalone.js"

    def validate(self) -> None:
        """Refuse to run with settings that are unsafe in this mode."""
        self.validate_logging()
        self.validate_rate_limits()
        self.validate_urls()
        self.validate_external_jwt()
        self.validate_storage()
        self.validate_sms_provider()
        self.validate_events()

    def validate_events(self) -> None:
        for name in ("EVENTS_HEARTBEAT_SECONDS", "EVENTS_POLL_SECONDS", "EVENTS_AUTH_CHECK_SECONDS"):
            if not 1 <= getattr(self, name) <= 3600:
                raise ConfigError(f"{name}={getattr(self, name)} must be between 1 and 3600 seconds.")

    def validate_logging(self) -> None:
        if self.LOG_LEVEL not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL={self.LOG_LEVEL!r} is not one of {', '.join(LOG_LEVELS)} (any case).")
        if self.LOG_FORMAT not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT={self.LOG_FORMAT!r} is not one of {', '.join(LOG_FORMATS)}.")

    def validate_rate_limits(self) -> None:
        # The limiter reads them per request and silently drops a limit it cannot parse: refuse it here instead.
        for name in RATE_LIMITS:
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ConfigError(f"{name}={getattr(self, name)!r} is not a rate limit like '10 per minute'.") from None

    def validate_urls(self) -> None:
        if self.SQLALCHEMY_DATABASE_URI:
            try:
                make_url(self.SQLALCHEMY_DATABASE_URI).get_dialect()
            except (ArgumentError, NoSuchModuleError):
                raise ConfigError("DATABASE_URL is not a database URL, e.g. postgresql://user@host/name.") from None
        if not self.REDIS_URL.startswith("memory://"):
            try:
                redis.ConnectionPool.from_url(self.REDIS_URL)  # parses only; nothing connects here
            except ValueError:
                raise ConfigError("REDIS_URL is not a Redis URL, e.g. redis://host:6379/0.") from None
        try:
            storage_from_string(self.RATELIMIT_STORAGE_URI)  # builds a client; nothing connects here
        except LimitsConfigurationError:
            raise ConfigError("RATELIMIT_STORAGE_URI is not a storage flask-limiter knows, e.g. redis://...") from None

    def validate_sms_provider(self) -> None:
        # A typo would otherwise surface only when a known phone asks for a code (and answer differently).
        if self.SMS_PROVIDER not in SMS_PROVIDERS:
            raise ConfigError(f"SMS_PROVIDER={self.SMS_PROVIDER!r} is not one of {', '.join(SMS_PROVIDERS)}")

    def validate_storage(self) -> None:
        # A typo here would otherwise surface only at the first upload, as a 500.
        if self.STORAGE_BACKEND not in STORAGE_BACKENDS:
            raise ConfigError(f"STORAGE_BACKEND={self.STORAGE_BACKEND!r} is not one of {', '.join(STORAGE_BACKENDS)}.")
        if self.STORAGE_BACKEND != "s3":
            return
        if not self.STORAGE_S3_BUCKET:
            raise ConfigError("STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET.")
        if bool(self.STORAGE_S3_ACCESS_KEY) != bool(self.STORAGE_S3_SECRET_KEY):
            raise ConfigError("Set both STORAGE_S3_ACCESS_KEY and STORAGE_S3_SECRET_KEY, or neither (an IAM role).")

    def validate_external_jwt(self) -> None:
        if not self.EXTERNAL_JWT_ISSUER:
            return
        if self.EXTERNAL_JWT_ALGORITHM not in ("HS256", "RS256"):
            raise ConfigError("EXTERNAL_JWT_ALGORITHM must be HS256 or RS256.")
        if self.EXTERNAL_JWT_ALGORITHM == "HS256" and len(self.EXTERNAL_JWT_SECRET) < 32:
            raise ConfigError("EXTERNAL_JWT_SECRET must be set (at least 32 characters) for HS256.")
        if self.EXTERNAL_JWT_ALGORITHM == "RS256" and "PUBLIC KEY" not in self.EXTERNAL_JWT_PUBLIC_KEY:
            raise ConfigError("EXTERNAL_JWT_PUBLIC_KEY must hold the identity service's PEM public key for RS256.")


class DevelopmentConfig(BaseConfig):
    """Zero-setup dev mode: SQLite under instance/, in-process Redis, jobs inline."""

    ENV_NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        self.JWT_SECRET_KEY = self.JWT_SECRET_KEY or DEV_SECRET
        self.SECRET_KEY = self.SECRET_KEY or self.JWT_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = self.SQLALCHEMY_DATABASE_URI or f"sqlite:///{INSTANCE_DIR / 'dev.db'}"
        self.REDIS_URL = _env("REDIS_URL", "memory://")
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.JOBS_INLINE = _env_bool("JOBS_INLINE", True)
        self.CORS_ORIGINS = self.CORS_ORIGINS or ["*"]
        self.EVENTS_STREAM_SERVED = True  # `make run` streams by itself, woken in-process
        self.WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", True)  # a receiver on this machine


class TestConfig(BaseConfig):
    """The test suite: real PostgreSQL and Redis at TEST_DATABASE_URL / TEST_REDIS_URL."""

    ENV_NAME = "testing"
    TESTING = True
    __test__ = False  # a config, not a pytest test class

    def __init__(self) -> None:
        super().__init__()
        self.JWT_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
        self.SECRET_KEY = self.JWT_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = with_driver(
            _env("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        )
        self.REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.JOBS_INLINE = False
        # The suite runs the queued dispatch at once; tests/events/test_dispatch.py runs the delayed one.
        self.EVENTS_DISPATCH_DELAY = 0
        self.SMS_PROVIDER = "console"
        self.SENTRY_DSN = ""
        self.CORS_ORIGINS = ["https://admin.example.test"]
        self.STORAGE_LOCAL_DIR = _env("TEST_STORAGE_DIR", str(INSTANCE_DIR / "test-media"))
        self.WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", True)  # the tests' receivers are local


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def validate(self) -> None:
        super().validate()
        # SECRET_KEY keys the OTP code hashes; unset (or empty), it is JWT_SECRET_KEY, checked just the same.
        for name in ("JWT_SECRET_KEY", "SECRET_KEY"):
            secret = getattr(self, name)
            if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
                raise ConfigError(
                    f"{name} is missing, a placeholder or shorter than 32 characters; set a long random value "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
                )
        if not self.SQLALCHEMY_DATABASE_URI:
            raise ConfigError("DATABASE_URL is not set.")
        if self.REDIS_URL.startswith("memory://") or self.JOBS_INLINE:
            raise ConfigError("Production needs a real Redis (REDIS_URL) and RQ workers; JOBS_INLINE is dev-only.")
        if self.SMS_PROVIDER == "console":
            # Not refused: load tests run production with it. But no login code reaches anyone.
            log.warning(
                "SMS_PROVIDER=console in production: OTP codes and SMS reminders are sent to NOBODY; "
                "set SMS_PROVIDER=smsru (with SMSRU_API_ID) for real messages."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> BaseConfig:
    """The config for APP_ENV (default production, so a forgotten variable fails safe)."""
    name = name or _env("APP_ENV", "production")
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"APP_ENV={name!r} is not one of {', '.join(CONFIGS)}") from None
    config.validate()
    return config
