"""Configuration classes, read from the environment (and `.env`)."""

import logging
import os
from datetime import timedelta
from pathlib import Path

DEV_SECRET = "dev-only-secret-never-use-in-production-0001"
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", DEV_SECRET.lower()}
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
STORAGE_BACKENDS = ("local", "s3")

log = logging.getLogger(__name__)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


class BaseConfig:
    ENV_NAME = "base"

    def __init__(self) -> None:
        # Read at instantiation, not import, so tests and CLIs can set the environment first.
        self.SECRET_KEY = _env("SECRET_KEY") or _env("JWT_SECRET_KEY")
        self.JWT_SECRET_KEY = _env("JWT_SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
        self.REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.CORS_ORIGINS = [o.strip() for o in _env("CORS_ORIGINS").split(",") if o.strip()]
        self.LOG_FORMAT = _env("LOG_FORMAT", "text")
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
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
        # Rate limits, in flask-limiter's notation ("10 per minute").
        self.RATELIMIT_LOGIN_PER_IP = _env("RATELIMIT_LOGIN_PER_IP", "10 per minute")
        self.RATELIMIT_LOGIN_PER_IDENTIFIER = _env("RATELIMIT_LOGIN_PER_IDENTIFIER", "5 per minute")
        self.RATELIMIT_REFRESH_PER_IP = _env("RATELIMIT_REFRESH_PER_IP", "30 per minute")
        self.RATELIMIT_EXCHANGE_PER_IP = _env("RATELIMIT_EXCHANGE_PER_IP", "10 per minute")
        self.RATELIMIT_OTP_REQUEST_PER_PHONE = _env("RATELIMIT_OTP_REQUEST_PER_PHONE", "5 per 15 minutes")
        self.RATELIMIT_OTP_REQUEST_PER_IP = _env("RATELIMIT_OTP_REQUEST_PER_IP", "30 per hour")
        self.RATELIMIT_OTP_VERIFY_PER_PHONE = _env("RATELIMIT_OTP_VERIFY_PER_PHONE", "10 per 15 minutes")
        # Seconds between tries of a message send job; one more try than intervals.
        self.MESSAGE_RETRY_INTERVALS = [
            int(s) for s in _env("MESSAGE_RETRY_INTERVALS", "10,30,90").split(",") if s.strip()
        ]
        # Seconds a send job may run; a row "sending" longer than that lost its worker (docs/jobs.md).
        self.MESSAGE_SEND_TIMEOUT = _env_int("MESSAGE_SEND_TIMEOUT", 30)
        # A trusted identity service whose tokens POST /auth/exchange trades for ours (off when no issuer).
        self.EXTERNAL_JWT_ISSUER = _env("EXTERNAL_JWT_ISSUER")
        self.EXTERNAL_JWT_ALGORITHM = _env("EXTERNAL_JWT_ALGORITHM", "RS256")
        self.EXTERNAL_JWT_SECRET = _env("EXTERNAL_JWT_SECRET")
        # PEM text; "\n" escapes allowed so the key fits on one line of an env file.
        self.EXTERNAL_JWT_PUBLIC_KEY = _env("EXTERNAL_JWT_PUBLIC_KEY").replace("\\n", "\n")
        self.EXTERNAL_JWT_AUDIENCE = _env("EXTERNAL_JWT_AUDIENCE")
        self.EXTERNAL_JWT_USER_CLAIM = _env("EXTERNAL_JWT_USER_CLAIM", "sub")

    # Fixed settings shared by every mode.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
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
        self.validate_external_jwt()
        self.validate_storage()
        self.validate_sms_provider()

    def validate_sms_provider(self) -> None:
        # A typo would otherwise surface only when a known phone asks for a code (and answer differently).
        from app.messaging.providers import sms_channel

        try:
            sms_channel({"SMS_PROVIDER": self.SMS_PROVIDER})
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

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


class TestConfig(BaseConfig):
    """The test suite: real PostgreSQL and Redis at TEST_DATABASE_URL / TEST_REDIS_URL."""

    ENV_NAME = "testing"
    TESTING = True
    __test__ = False  # a config, not a pytest test class

    def __init__(self) -> None:
        super().__init__()
        self.JWT_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
        self.SECRET_KEY = self.JWT_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        self.REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.JOBS_INLINE = False
        self.SMS_PROVIDER = "console"
        self.SENTRY_DSN = ""
        self.CORS_ORIGINS = ["https://admin.example.test"]
        self.STORAGE_LOCAL_DIR = _env("TEST_STORAGE_DIR", str(INSTANCE_DIR / "test-media"))


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def validate(self) -> None:
        super().validate()
        if self.JWT_SECRET_KEY.strip().lower() in PLACEHOLDER_SECRETS or len(self.JWT_SECRET_KEY) < 32:
            raise ConfigError(
                "JWT_SECRET_KEY is missing, a placeholder or shorter than 32 characters; "
                "set a long random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
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
