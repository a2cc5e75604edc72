"""Flower CRM: the back office of a flower business."""

from __future__ import annotations

from dotenv import load_dotenv
from flask import Flask

from app.common.api import IdConverter
from app.common.jsonparse import JSONProvider
from app.config import INSTANCE_DIR, BaseConfig, load_config


def create_app(config: BaseConfig | str | None = None) -> Flask:
    """Build the app for `config` (a config object, or a mode name; default: APP_ENV)."""
    load_dotenv(override=False)
    if not isinstance(config, BaseConfig):
        config = load_config(config)

    from app.cli import Commands, register_cli

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.url_map.converters["int"] = IdConverter  # before any route: ids within PostgreSQL's integer
    app.json = JSONProvider(app)  # request bodies parsed with a bound on nesting
    app.cli = Commands(app)  # before any extension adds its commands
    app.config.from_object(config)
    app.config["ENV_NAME"] = config.ENV_NAME

    from app.log import configure_logging, register_request_logging

    configure_logging(app)
    _init_extensions(app)
    register_request_logging(app)
    _register_blueprints(app)

    from app.security import register_security

    register_security(app)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    import sqlalchemy as sa
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app import models  # noqa: F401  the whole schema on the metadata
    from app.auth.tokens import init_jwt
    from app.common.session import read_without_transactions
    from app.errors import register_error_handlers
    from app.extensions import api, db, jwt, limiter, queues, redis_client
    from app.metrics import init_metrics
    from app.sentry import init_sentry

    init_sentry(app)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    db.init_app(app)
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            INSTANCE_DIR.mkdir(exist_ok=True)
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
        else:
            sa.event.listen(db.engine, "connect", _sessions_in_utc)
        read_without_transactions(app, db.engine)
    jwt.init_app(app)
    init_jwt(jwt, app)
    redis_client.init_app(app)
    queues.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    _document_common_parameters(api)
    register_error_handlers(app)
    init_metrics(app)


def _sessions_in_utc(dbapi_connection, _record) -> None:
    """Every PostgreSQL session in UTC, whatever the server's default zone: no SQL depends on the server's setting,
    and timestamps arrive in UTC as the columns keep them (the driver's own UTC, which UTCDateTime passes through
    instead of converting each value: a page of orders holds 150). A SET, not a startup option: PgBouncer keeps a
    client's TimeZone across its server connections, and refuses unknown startup options."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _document_common_parameters(api) -> None:
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The access token."}
    )
    api.spec.components.security_scheme(
        "refreshToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The refresh token."}
    )
    api.spec.components.security_scheme(
        "identityToken",
        {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A token of the identity service."},
    )
    api.spec.components.security_scheme(
        "integrationKey",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "fcrm_...",
            "description": "An integration key (POST /api/v1/api-keys) of a shop's website or marketplace.",
        },
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.spec.components.parameter(
        "XShopId",
        "header",
        {
            "name": "X-Shop-Id",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "The shop this request acts in; optional when you belong to exactly one shop.",
        },
    )
    api.spec.components.parameter(
        "IdempotencyKey",
        "header",
        {
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^\\x00-\\x1f\\x7f]+$"},
            "description": "Retries with the same key and body replay the first answer for 24 h.",
        },
    )


def _register_blueprints(app: Flask) -> None:
    from app.apikeys.routes import blp as api_keys_blp
    from app.audit.routes import blp as audit_blp
    from app.auth import otp_routes  # noqa: F401  adds the OTP views to the auth blueprint
    from app.auth.routes import blp as auth_blp
    from app.catalogue.routes import blp as products_blp
    from app.catalogue.routes import categories_blp
    from app.common.assets import assets
    from app.courier.routes import blp as courier_blp
    from app.courier.routes import order_courier_blp
    from app.customers.routes import blp as customers_blp
    from app.events.routes import blp as events_blp
    from app.extensions import api
    from app.health.routes import blp as health_blp
    from app.messaging import events as messaging_events  # noqa: F401  the status messages read the event log
    from app.messaging.routes import blp as messaging_blp
    from app.orders.routes import blp as orders_blp
    from app.orders.routes import customer_orders_blp
    from app.production.routes import blp as production_blp
    from app.promos.routes import blp as promo_codes_blp
    from app.reports.routes import blp as reports_blp
    from app.shops.routes import blp as shops_blp
    from app.slots.routes import blp as delivery_slots_blp
    from app.slots.routes import overrides_blp as delivery_window_overrides_blp
    from app.slots.routes import windows_blp as delivery_windows_blp
    from app.standing.routes import blp as standing_orders_blp
    from app.storage import media
    from app.storefront.routes import blp as storefront_blp
    from app.tracking.routes import blp as tracking_blp
    from app.users.routes import blp as users_blp
    from app.users.routes import invitations_blp
    from app.warehouse.routes import blp as warehouse_blp
    from app.webhooks.routes import blp as webhooks_blp

    app.register_blueprint(assets)
    app.register_blueprint(media)
    app.register_blueprint(tracking_blp)
    for blueprint in (categories_blp, products_blp, warehouse_blp):
        api.register_blueprint(blueprint)
    for blueprint in (health_blp, auth_blp, shops_blp, users_blp, invitations_blp, audit_blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(messaging_blp)
    for blueprint in (customers_blp, delivery_slots_blp, promo_codes_blp):
        api.register_blueprint(blueprint)
    for blueprint in (orders_blp, customer_orders_blp):
        api.register_blueprint(blueprint)
    for blueprint in (production_blp, courier_blp, order_courier_blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(reports_blp)
    for blueprint in (delivery_windows_blp, delivery_window_overrides_blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(events_blp)
    api.register_blueprint(webhooks_blp)
    for blueprint in (api_keys_blp, storefront_blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(standing_orders_blp)
