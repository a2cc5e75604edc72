"""Operator commands: `flask db ...` (Flask-Migrate), `flask create-admin`, `flask seed-demo`, `flask jobs ...`."""

from __future__ import annotations

import zoneinfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.common.phones import InvalidPhone, normalize_phone
from app.extensions import QUEUE_NAMES, db, init_migrations, queues
from app.jobs import run_now
from app.jobs.schedule import PERIODIC
from app.jobs.worker import build_worker
from app.seed import DEMO_PASSWORD, DEMO_SHOP_NAME, demo_logins, seed_demo
from app.shops import services as shops
from app.users import services as users
from app.users.models import Role

MIGRATIONS_COMMAND = "db"


class Commands(AppGroup):
    """The app's commands. `flask db ...` is wired when it is asked for, so the API's workers, which build the same
    app, never import Alembic."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app.name)
        self.app = app

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == MIGRATIONS_COMMAND:
            init_migrations(self.app)
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), MIGRATIONS_COMMAND})


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--shop", "shop_name", required=True, help="The shop's name.")
    @click.option("--phone", required=True, help="The admin's phone, e.g. +79160000001.")
    @click.option("--password", required=True, help="The admin's password (min. 8 characters).")
    @click.option("--name", default="Admin", show_default=True)
    @click.option("--email", default=None)
    @click.option("--timezone", default="Europe/Moscow", show_default=True)
    def create_admin(shop_name, phone, password, name, email, timezone):
        """Create the first shop and its admin; says so if they already exist."""
        try:
            phone = normalize_phone(phone)
        except InvalidPhone as exc:
            raise click.BadParameter(str(exc), param_hint="--phone") from None
        if len(password) < 8:
            raise click.BadParameter("At least 8 characters.", param_hint="--password")
        if timezone not in zoneinfo.available_timezones():
            raise click.BadParameter(
                f"{timezone!r} is not an IANA time zone name (e.g. Europe/Moscow).", param_hint="--timezone"
            )
        existing_shop = shops.find_shop_by_name(shop_name)
        existing_user = users.find_by_phone(phone)
        if existing_shop and existing_user:
            if any(m.shop_id == existing_shop.id and m.role == Role.ADMIN for m in existing_user.memberships):
                click.echo(
                    f"Shop {shop_name!r} (id {existing_shop.id}) and its admin (user id {existing_user.id}) "
                    "already exist; nothing changed."
                )
                return
            raise click.ClickException(
                f"Shop {shop_name!r} (id {existing_shop.id}) exists, and a user with that phone exists "
                f"(id {existing_user.id}), but that user is not an admin of this shop; nothing changed."
            )
        if existing_shop:
            raise click.ClickException(
                f"Shop {shop_name!r} already exists (id {existing_shop.id}) and nobody has that phone; nothing changed."
            )
        if existing_user:
            raise click.ClickException(
                f"A user with that phone already exists (id {existing_user.id}) but shop {shop_name!r} does not; "
                "nothing changed. Choose another phone."
            )
        user = users.create_user(phone=phone, name=name, email=email, password=password, actor_id=None, commit=False)
        shop = shops.create_shop(owner=user, actor_id=user.id, name=shop_name, timezone=timezone)
        click.echo(f"Created shop {shop.name!r} (id {shop.id}) with admin user id {user.id}.")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """A demo shop with staff and data (once; says so if it is already there)."""
        if shops.find_shop_by_name(DEMO_SHOP_NAME):
            click.echo(f"The demo shop {DEMO_SHOP_NAME!r} is already seeded; nothing changed.")
            logins = demo_logins()
        else:
            logins = seed_demo(progress=lambda steps: click.progressbar(steps, label="Seeding the demo shop"))
            click.echo(f"Seeded {DEMO_SHOP_NAME!r}.")
        # Printed every time: `make run` seeds once, and the developer needs the logins on every start.
        click.echo(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for role, phone in logins:
            click.echo(f"  {role:<8} {phone}")

    jobs = click.Group("jobs", help="Background jobs.")
    app.cli.add_command(jobs)

    @jobs.command("run-due")
    def run_due():
        """Run every periodic scan once, now (dev mode's stand-in for `rq cron`)."""
        for periodic in PERIODIC:
            run_now(periodic.func, **(periodic.kwargs or {}))  # here and now, whatever JOBS_INLINE says
            click.echo(f"ran {periodic.name}")

    @jobs.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
    @click.option(
        "--queue",
        "names",
        multiple=True,
        type=click.Choice(QUEUE_NAMES),
        help="Only this queue (repeatable); all of them when not given.",
    )
    def worker(burst, simple, names):
        """An RQ worker on the app's queues (all, or those named), inside an app context."""
        db.session.remove()
        names = names or QUEUE_NAMES
        worker = build_worker(current_app._get_current_object(), [queues.get(name) for name in names], simple=simple)
        click.echo(f"worker on queues {', '.join(names)}")
        worker.work(burst=burst, with_scheduler=True)
