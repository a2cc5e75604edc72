"""Operator commands: `flask create-admin` makes the first shop and its admin once; `flask seed-demo` seeds once."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.seed import DEMO_PASSWORD, DEMO_STAFF
from app.shops.models import Shop
from app.users.models import Membership, User
from tests.factories import MembershipFactory, ShopFactory
from tests.foundation.processes import REPO, production_env
from tests.test_migrations import MIGRATIONS_DIR

PHONE = "+79160001234"
PASSWORD = "roses-are-red-42"


@pytest.fixture
def flask_cli(app):
    """`flask_cli("create-admin", "--shop", ...)` → click's result, run inside the test's transaction."""
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def create_admin(flask_cli, shop: str = "Rose Garden", phone: str = PHONE, *extra: str):
    return flask_cli("create-admin", "--shop", shop, "--phone", phone, "--password", PASSWORD, *extra)


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) for model in (Shop, User, Membership, AuditEntry)
    )


def test_create_admin_creates_the_shop_and_an_admin_who_can_log_in(app, flask_cli):
    result = create_admin(flask_cli, "Rose Garden", "8 916 000-12-34", "--name", "Olga", "--timezone", "Asia/Omsk")

    assert result.exit_code == 0, result.output
    assert "Created shop 'Rose Garden'" in result.output
    shop = db.session.scalars(select(Shop).where(Shop.name == "Rose Garden")).one()
    assert shop.timezone == "Asia/Omsk"
    login = app.test_client().post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD})
    assert login.status_code == 200, login.json
    assert login.json["user"]["name"] == "Olga"
    assert login.json["user"]["memberships"] == [{"shop_id": shop.id, "role": "admin"}]


def test_running_create_admin_again_says_they_exist_and_changes_nothing(flask_cli):
    assert create_admin(flask_cli).exit_code == 0
    before = counts()

    again = create_admin(flask_cli)

    assert again.exit_code == 0, again.output
    assert "already exist; nothing changed" in again.output
    assert "its admin" in again.output
    assert counts() == before


@pytest.mark.parametrize("timezone", ["Moscow", "Europe/Moskva", "UTC+3", ""])
def test_create_admin_refuses_a_time_zone_that_is_not_an_iana_name(flask_cli, timezone):
    before = counts()

    result = create_admin(flask_cli, "Rose Garden", PHONE, "--timezone", timezone)

    assert result.exit_code == 2
    assert "--timezone" in result.output
    assert "is not an IANA time zone name" in result.output
    assert counts() == before


def test_a_phone_on_the_shop_that_is_not_its_admin_is_said_truthfully(flask_cli):
    shop = ShopFactory(name="Rose Garden")
    florist = MembershipFactory(shop=shop, role="florist", user__phone=PHONE).user
    db.session.commit()
    before = counts()

    result = create_admin(flask_cli)

    assert result.exit_code == 1
    assert "not an admin of this shop" in result.output
    assert "already exist; nothing changed" not in result.output
    assert counts() == before
    db.session.refresh(florist)
    assert [m.role for m in florist.memberships] == ["florist"]


def test_a_phone_taken_with_no_such_shop_is_refused_naming_the_phone(flask_cli, other_shop):
    MembershipFactory(shop=other_shop, role="admin", user__phone=PHONE)
    db.session.commit()
    before = counts()

    result = create_admin(flask_cli, "A New Shop")

    assert result.exit_code == 1
    assert "A user with that phone already exists" in result.output
    assert "'A New Shop' does not" in result.output
    assert counts() == before


def test_an_existing_shop_with_nobody_on_that_phone_is_refused(flask_cli):
    ShopFactory(name="Rose Garden")
    db.session.commit()
    before = counts()

    result = create_admin(flask_cli)

    assert result.exit_code == 1
    assert "Shop 'Rose Garden' already exists" in result.output
    assert counts() == before


def test_seed_demo_twice_seeds_once_and_prints_the_logins_both_times(flask_cli):
    first = flask_cli("seed-demo")
    assert first.exit_code == 0, first.output
    seeded = counts()

    second = flask_cli("seed-demo")

    assert second.exit_code == 0, second.output
    assert "already seeded" in second.output
    assert counts() == seeded
    for output in (first.output, second.output):
        assert DEMO_PASSWORD in output
        for role, phone, _name, _email in DEMO_STAFF:
            assert re.search(rf"{role.value}\s+{re.escape(phone)}", output), f"{role.value} missing:\n{output}"


def test_the_served_app_leaves_the_migration_tooling_to_the_flask_command():
    # gunicorn imports wsgi.py as `flask` does; Alembic would be 11 MB more in every API worker.
    env = production_env(FLASK_APP="wsgi.py")
    code = "import sys, wsgi; print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'flask_migrate'}))"
    served = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert served.stdout.strip() == "[]", served.stderr

    head = ScriptDirectory(MIGRATIONS_DIR).get_current_head()
    current = subprocess.run(["flask", "db", "current"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip().endswith(f"{head} (head)"), current.stdout
