"""The managers' daily stock digest: what it says, to whom, by which channel, once per shop per local day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from app.common.types import utcnow
from app.extensions import db, queues
from app.messaging import templates
from app.messaging.jobs import send_message
from app.messaging.models import MessageLog
from app.messaging.scans import scan_stock_digests
from app.warehouse import services as warehouse
from tests.factories import MembershipFactory, ShopFactory, UserFactory

MOSCOW_0800 = datetime(2026, 3, 26, 5, 0, tzinfo=UTC)  # 08:00 on 26 March in Moscow (UTC+3)

EXPECTED_RU = (
    "{shop}: складская сводка на 26 марта\n\n"
    "Ниже минимума (2):\n"
    "- Роза красная: 5 stem, минимум 10\n"
    "- Лента: 0 roll, минимум 3\n\n"
    "Срок истекает в ближайшие 2 дня (2):\n"
    "- Роза красная: 5 stem, годен до 27 марта\n"
    "- Гербера: 7 stem, годен до 28 марта\n\n"
    "Срок истёк, списать (1):\n"
    "- Эвкалипт: 20 stem, истёк 26 марта"
)


def scan_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return scan_stock_digests()


def digests() -> list[MessageLog]:
    stmt = select(MessageLog).where(MessageLog.kind == "stock_digest").order_by(MessageLog.id)
    return list(db.session.scalars(stmt))


def text_of(message: MessageLog) -> str:
    return templates.render(message.template, message.language, message.context)


def item(shop, name: str, *, min_level: int = 0, shelf_life_days: int | None = None, unit: str = "stem", **extra):
    data = {"name": name, "unit": unit, "min_level": Decimal(min_level), "shelf_life_days": shelf_life_days}
    return warehouse.create_item(shop_id=shop.id, actor_id=None, data=data | extra)


def supply(shop, stock_item, quantity: int, received_on: date) -> None:
    line = {"item_id": stock_item.id, "quantity": Decimal(quantity), "unit_cost": Decimal("10.00")}
    warehouse.create_supply(shop_id=shop.id, actor_id=None, supplier="Flora", received_on=received_on, lines=[line])


def stock_the_shop(shop) -> None:
    """Today is 26 March where the shop is."""
    rose = item(shop, "Роза красная", min_level=10, shelf_life_days=7)
    supply(shop, rose, 5, date(2026, 3, 20))  # low, and expires on the 27th
    gerbera = item(shop, "Гербера", shelf_life_days=5)
    supply(shop, gerbera, 7, date(2026, 3, 23))  # expires on the 28th: within two days
    tulip = item(shop, "Тюльпан", min_level=5, shelf_life_days=4)
    supply(shop, tulip, 50, date(2026, 3, 25))  # expires on the 29th: not yet
    eucalyptus = item(shop, "Эвкалипт", shelf_life_days=5)
    supply(shop, eucalyptus, 20, date(2026, 3, 21))  # expired today
    item(shop, "Лента", min_level=3, unit="roll", kind="packaging")  # none at all
    item(shop, "Старая упаковка", min_level=3, kind="packaging", is_active=False)  # no longer stocked


@pytest.fixture
def stocked_shop():
    with time_machine.travel(datetime(2026, 3, 26, 4, 0, tzinfo=UTC), tick=False):
        shop = ShopFactory(name="Лавка у дома", timezone="Europe/Moscow")
        stock_the_shop(shop)
        other = ShopFactory(timezone="Europe/Moscow")
        item(other, "Чужая роза", min_level=100)
        MembershipFactory(shop=other, role="manager")
    db.session.commit()
    return shop


def staff(shop, role: str, **user_fields):
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, shop=shop, role=role)
    return user


def ours(messages: list[MessageLog], shop) -> list[MessageLog]:
    return [m for m in messages if m.shop_id == shop.id]


def test_managers_and_admins_get_the_digest_from_eight_oclock_once_a_day(app, stocked_shop, telegram_stub):
    admin = staff(stocked_shop, "admin", telegram_chat_id="5550001")
    manager = staff(stocked_shop, "manager", phone="+79169990011")
    staff(stocked_shop, "florist")
    staff(stocked_shop, "courier")
    gone = staff(stocked_shop, "manager")
    gone.memberships[0].deactivated_at = utcnow()  # deactivated in this shop
    staff(stocked_shop, "manager", is_active=False)
    db.session.commit()

    assert scan_at(datetime(2026, 3, 26, 4, 59, tzinfo=UTC)) == 0  # 07:59 in Moscow
    assert scan_at(MOSCOW_0800) == 3  # two here, one to the other shop's manager
    assert scan_at(datetime(2026, 3, 26, 9, 0, tzinfo=UTC)) == 0
    assert scan_at(datetime(2026, 3, 26, 20, 59, tzinfo=UTC)) == 0

    to_admin, to_manager = ours(digests(), stocked_shop)
    assert (to_admin.user_id, to_admin.channel, to_admin.recipient_masked) == (admin.id, "telegram", "chat …01")
    assert (to_manager.user_id, to_manager.channel, to_manager.recipient_masked) == (
        manager.id,
        "console",
        "+7********11",
    )
    assert text_of(to_manager) == EXPECTED_RU.format(shop=stocked_shop.name)
    assert text_of(to_admin) == text_of(to_manager)
    assert to_manager.occurrence_key == f"stock_digest:{stocked_shop.id}:2026-03-26:user:{manager.id}"
    (elsewhere,) = [m for m in digests() if m.shop_id != stocked_shop.id]
    assert "- Чужая роза: 0 stem, минимум 100" in text_of(elsewhere)
    assert "Роза красная" not in text_of(elsewhere)
    jobs = [job for job in queues.get("messages").get_jobs() if job.args[0] in (to_admin.id, to_manager.id)]
    assert sorted(job.args[1] for job in jobs) == ["+79169990011", "5550001"]

    assert scan_at(datetime(2026, 3, 27, 5, 0, tzinfo=UTC)) == 3  # the next local day, the next digest


def test_a_manager_who_reads_english_gets_it_in_english(app, stocked_shop):
    staff(stocked_shop, "manager", language="en")
    db.session.commit()

    scan_at(MOSCOW_0800)

    (message,) = ours(digests(), stocked_shop)
    assert text_of(message) == (
        f"{stocked_shop.name}: stock digest for 26 March\n\n"
        "Below the minimum (2):\n"
        "- Роза красная: 5 stem left, minimum 10\n"
        "- Лента: 0 roll left, minimum 3\n\n"
        "Expiring within 2 days (2):\n"
        "- Роза красная: 5 stem, until 27 March\n"
        "- Гербера: 7 stem, until 28 March\n\n"
        "Expired, to write off (1):\n"
        "- Эвкалипт: 20 stem, expired 26 March"
    )


def test_a_shop_with_a_notification_email_gets_one_email(app, stocked_shop, smtp):
    stocked_shop.settings = {"notification_email": "owner@shop.test"}
    staff(stocked_shop, "manager")
    db.session.commit()

    assert scan_at(MOSCOW_0800) == 2  # the email, and the other shop's manager

    (message,) = ours(digests(), stocked_shop)
    assert (message.channel, message.user_id, message.recipient_masked) == ("email", None, "o***@shop.test")
    assert message.occurrence_key == f"stock_digest:{stocked_shop.id}:2026-03-26:email"
    (job,) = [job for job in queues.get("messages").get_jobs() if job.args[0] == message.id]
    assert send_message(*job.args) is not None

    (mail,) = smtp.mails
    assert mail.recipients == ["owner@shop.test"]
    assert mail.subject == f"{stocked_shop.name}: складская сводка на 26 марта"
    assert mail.body.strip() == EXPECTED_RU.format(shop=stocked_shop.name).partition("\n\n")[2]
    db.session.refresh(message)
    assert message.status == "sent"
    assert message.provider_message_id == mail.message["Message-ID"]


def test_nothing_to_report_sends_nothing_and_stock_running_low_later_waits_for_tomorrow(app):
    with time_machine.travel(datetime(2026, 3, 26, 4, 0, tzinfo=UTC), tick=False):
        shop = ShopFactory(timezone="Europe/Moscow")
        rose = item(shop, "Роза", min_level=5, shelf_life_days=10)
        supply(shop, rose, 50, date(2026, 3, 25))
        staff(shop, "manager")
    db.session.commit()

    assert scan_at(MOSCOW_0800) == 0
    with time_machine.travel(datetime(2026, 3, 26, 12, 0, tzinfo=UTC), tick=False):
        warehouse.update_item(shop_id=shop.id, item_id=rose.id, actor_id=None, data={"min_level": Decimal(100)})
    assert scan_at(datetime(2026, 3, 26, 12, 1, tzinfo=UTC)) == 0  # 15:01: the day's digest was checked at 08:00
    assert digests() == []

    assert scan_at(datetime(2026, 3, 27, 5, 0, tzinfo=UTC)) == 1
    (message,) = digests()
    assert "- Роза: 50 stem, минимум 100" in text_of(message)


def test_each_shop_at_eight_in_its_own_time_zone(app, stocked_shop):
    with time_machine.travel(datetime(2026, 3, 26, 4, 0, tzinfo=UTC), tick=False):
        berlin = ShopFactory(timezone="Europe/Berlin")  # UTC+1 on 26 March
        item(berlin, "Rose", min_level=10)
    staff(stocked_shop, "manager")
    staff(berlin, "manager")
    db.session.commit()

    scan_at(MOSCOW_0800)  # 06:00 in Berlin
    assert berlin.id not in {m.shop_id for m in digests()}
    assert stocked_shop.id in {m.shop_id for m in digests()}
    scan_at(datetime(2026, 3, 26, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    assert len(ours(digests(), berlin)) == 1


def test_the_scan_runs_the_same_statements_for_one_shop_or_several(app, count_queries):
    def shops_with_a_low_item(count: int) -> None:
        with time_machine.travel(datetime(2026, 3, 26, 4, 0, tzinfo=UTC), tick=False):
            for _ in range(count):
                shop = ShopFactory(timezone="Europe/Moscow")
                item(shop, "Роза", min_level=5)
                staff(shop, "manager")
        db.session.commit()

    def statements_per_scan() -> tuple[int, int]:
        with count_queries() as statements:
            queued = scan_at(MOSCOW_0800)
        db.session.execute(MessageLog.__table__.delete())
        from app.extensions import redis_client

        redis_client.flushdb()
        return len(statements), queued

    shops_with_a_low_item(1)
    one_shop, one_message = statements_per_scan()
    shops_with_a_low_item(4)
    five_shops, five_messages = statements_per_scan()

    assert (one_message, five_messages) == (1, 5)
    # shops, digests already queued, low items, batches, managers; then each message's INSERT ... RETURNING
    assert one_shop - one_message == five_shops - five_messages == 5
