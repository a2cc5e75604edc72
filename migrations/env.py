"""Alembic environment, run by `flask db ...` inside the app (the app's logging stays in charge)."""

import logging

from alembic import context
from flask import current_app

from app import models  # noqa: F401  every model registered on the metadata

config = context.config
log = logging.getLogger("alembic.env")
migrate_ext = current_app.extensions["migrate"]
target_db = migrate_ext.db


def _render_item(type_, obj, autogen_context):
    """Write our portable column types as plain SQLAlchemy types in migration files."""
    from app.common.types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure_args() -> dict:
    args = dict(migrate_ext.configure_args)
    args.setdefault("compare_type", True)
    args["render_item"] = _render_item
    return args


def run_migrations_offline() -> None:
    context.configure(
        url=str(target_db.engine.url), target_metadata=target_db.metadata, literal_binds=True, **_configure_args()
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    args = _configure_args()
    args.setdefault("process_revision_directives", skip_empty)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
