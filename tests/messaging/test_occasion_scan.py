"""The occasion reminder scan, called directly at frozen times: when it fires, for whom, and only once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.common.types import utcnow
from app.extensions import db, queues
from app.messaging import templates
from app.messaging.models import MessageLog
from app.messaging.scans import scan_occasion_reminders
from tests.factories import ShopFactory
from tests.messaging.factories import CustomerFactory, OccasionDateFactory


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def scan_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return scan_occasion_reminders()


def reminders() -> list[MessageLog]:
    return list(
        db.session.scalars(select(MessageLog).where(MessageLog.kind == "occasion_reminder").order_by(MessageLog.id))
    )


def send_jobs():
    return queues.get("messages").get_jobs()


@pytest.fixture
def moscow():
    return ShopFactory(name="Лавка у дома", timezone="Europe/Moscow")


def test_the_reminder_goes_three_days_before_from_ten_oclock_shop_time(app, moscow):
    customer = CustomerFactory(shop=moscow, name="Анна", phone="+79261234567")
    occasion = OccasionDateFactory(customer=customer, month=3, day=29, label="день рождения мамы")
    db.session.commit()

    assert scan_at(utc(2026, 3, 25, 7, 30)) == 0  # four days before
    assert scan_at(utc(2026, 3, 26, 6, 59)) == 0  # 09:59 in Moscow
    assert reminders() == []
    assert scan_at(utc(2026, 3, 26, 7, 0)) == 1  # 10:00 in Moscow

    (message,) = reminders()
    assert message.occurrence_key == f"occasion:{occasion.id}:2026"
    assert (message.shop_id, message.customer_id, message.user_id) == (moscow.id, customer.id, None)
    assert (message.channel, message.template, message.language, message.status) == (
        "console",
        "occasion_reminder",
        "ru",
        "queued",
    )
    assert message.recipient_masked == "+7********67"
    text = templates.render(message.template, message.language, message.context)
    assert text.startswith("Лавка у дома: Анна, напоминаем, что 29 марта — день рождения мамы.")
    (job,) = send_jobs()
    assert job.args == (message.id, "+79261234567", {})


def test_a_scan_that_was_down_at_ten_catches_up_that_day_but_not_the_next(app, moscow):
    late = OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29)
    missed = OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=30)
    db.session.commit()

    assert scan_at(utc(2026, 3, 26, 20, 59)) == 1  # 23:59 in Moscow, the reminder day of the 29th
    assert scan_at(utc(2026, 3, 28, 7, 30)) == 0  # the 30th's reminder day (27th) passed unscanned
    assert [m.occurrence_key for m in reminders()] == [f"occasion:{late.id}:2026"]
    assert missed.id != late.id


def test_days_before_come_from_the_date_else_the_shop(app):
    shop = ShopFactory(timezone="Europe/Moscow", settings={"occasion_reminder_days": 5})
    customer = CustomerFactory(shop=shop)
    by_shop = OccasionDateFactory(customer=customer, month=3, day=29)
    one_day = OccasionDateFactory(customer=customer, month=3, day=29, remind_days_before=1)
    same_day = OccasionDateFactory(customer=customer, month=3, day=29, remind_days_before=0)
    db.session.commit()

    fired = {}
    for day in range(23, 31):
        scan_at(utc(2026, 3, day, 12, 0))
        fired[day] = {m.occurrence_key for m in reminders()} - set().union(*fired.values())

    assert fired == {
        23: set(),
        24: {f"occasion:{by_shop.id}:2026"},
        25: set(),
        26: set(),
        27: set(),
        28: {f"occasion:{one_day.id}:2026"},
        29: {f"occasion:{same_day.id}:2026"},
        30: set(),
    }


@pytest.mark.parametrize(
    ("month", "day", "just_before", "due"),
    [
        # Saturday 28 March 2026, still CET (UTC+1): 10:00 is 09:00 UTC.
        (3, 31, utc(2026, 3, 28, 8, 59), utc(2026, 3, 28, 9, 0)),
        # Sunday 29 March 2026, clocks went forward at 02:00: 10:00 CEST is 08:00 UTC.
        (4, 1, utc(2026, 3, 29, 7, 59), utc(2026, 3, 29, 8, 0)),
        # Saturday 24 October 2026, still CEST (UTC+2): 10:00 is 08:00 UTC.
        (10, 27, utc(2026, 10, 24, 7, 59), utc(2026, 10, 24, 8, 0)),
        # Sunday 25 October 2026, clocks went back at 03:00: 10:00 CET is 09:00 UTC.
        (10, 28, utc(2026, 10, 25, 8, 59), utc(2026, 10, 25, 9, 0)),
    ],
    ids=["saturday-before-spring", "spring-forward-sunday", "saturday-before-autumn", "fall-back-sunday"],
)
def test_ten_oclock_in_berlin_across_daylight_saving_changes(app, month, day, just_before, due):
    berlin = ShopFactory(timezone="Europe/Berlin")
    OccasionDateFactory(customer=CustomerFactory(shop=berlin), month=month, day=day)
    db.session.commit()

    assert scan_at(just_before) == 0
    assert scan_at(due) == 1


def test_two_shops_in_different_time_zones_at_the_same_utc_instant(app, moscow):
    new_york = ShopFactory(timezone="America/New_York")  # UTC-4 in late March (EDT)
    in_moscow = OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29)
    in_new_york = OccasionDateFactory(customer=CustomerFactory(shop=new_york), month=3, day=29)
    db.session.commit()

    scan_at(utc(2026, 3, 26, 7, 0))  # 10:00 in Moscow, 03:00 in New York
    assert [m.occurrence_key for m in reminders()] == [f"occasion:{in_moscow.id}:2026"]
    scan_at(utc(2026, 3, 26, 13, 59))  # 09:59 in New York
    assert len(reminders()) == 1
    scan_at(utc(2026, 3, 26, 14, 0))  # 10:00 in New York
    assert [m.occurrence_key for m in reminders()] == [
        f"occasion:{in_moscow.id}:2026",
        f"occasion:{in_new_york.id}:2026",
    ]
    assert {m.shop_id for m in reminders()} == {moscow.id, new_york.id}


def test_a_shop_whose_local_date_is_already_tomorrow(app, moscow):
    vladivostok = ShopFactory(timezone="Asia/Vladivostok")  # UTC+10
    OccasionDateFactory(customer=CustomerFactory(shop=vladivostok), month=3, day=30)
    OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=30)
    db.session.commit()

    # 26 March 23:30 UTC is 27 March 09:30 in Vladivostok and 02:30 in Moscow; 00:00 UTC is 10:00 there.
    assert scan_at(utc(2026, 3, 26, 23, 30)) == 0
    assert scan_at(utc(2026, 3, 27, 0, 0)) == 1
    assert [m.shop_id for m in reminders()] == [vladivostok.id]


def test_a_hundred_scans_queue_one_message_and_one_job(app, moscow):
    OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29)
    db.session.commit()

    with time_machine.travel(utc(2026, 3, 26, 8, 0), tick=False):
        counts = [scan_occasion_reminders() for _ in range(100)]

    assert counts == [1] + [0] * 99
    assert len(reminders()) == 1
    assert len(send_jobs()) == 1


def test_once_per_date_per_year(app, moscow):
    occasion = OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=1, day=2)
    db.session.commit()

    scan_at(utc(2026, 12, 30, 9, 0))  # 30 December: the reminder for 2 January 2027
    scan_at(utc(2026, 12, 30, 18, 0))
    scan_at(utc(2027, 12, 30, 9, 0))

    assert [m.occurrence_key for m in reminders()] == [f"occasion:{occasion.id}:2027", f"occasion:{occasion.id}:2028"]


@pytest.mark.parametrize(
    ("scan_day", "expected"),
    [
        (utc(2027, 2, 25, 9, 0), {(2, 29): "28 февраля", (2, 28): "28 февраля"}),  # 2027 has no 29 February
        (utc(2027, 2, 26, 9, 0), {(3, 1): "1 марта"}),
        (utc(2028, 2, 25, 9, 0), {(2, 28): "28 февраля"}),  # 2028 is a leap year
        (utc(2028, 2, 26, 9, 0), {(2, 29): "29 февраля"}),
    ],
    ids=["common-year-28th", "common-year-1st-march", "leap-year-28th", "leap-year-29th"],
)
def test_29_february_is_reminded_for_28_february_in_common_years(app, moscow, scan_day, expected):
    customer = CustomerFactory(shop=moscow)
    dates = {(m, d): OccasionDateFactory(customer=customer, month=m, day=d) for m, d in [(2, 28), (2, 29), (3, 1)]}
    db.session.commit()

    scan_at(scan_day)

    sent = {m.occurrence_key: m.context["date"] for m in reminders()}
    assert sent == {f"occasion:{dates[md].id}:{scan_day.year}": text for md, text in expected.items()}


def test_no_reminder_without_consent_to_the_anonymized_or_when_turned_off(app, moscow):
    def occasion(**customer_fields):
        return OccasionDateFactory(customer=CustomerFactory(shop=moscow, **customer_fields), month=3, day=29)

    wanted = occasion()
    occasion(marketing_consent=False)
    occasion(anonymized_at=utcnow(), phone=None, name="")
    occasion(anonymized_at=utcnow())  # even if a phone were left behind
    occasion(phone=None)  # nowhere to send it
    OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29, reminders_enabled=False)
    db.session.commit()

    assert scan_at(utc(2026, 3, 26, 9, 0)) == 1
    assert [m.customer_id for m in reminders()] == [wanted.customer_id]


def test_a_date_entered_for_a_future_year_waits_for_that_year(app, moscow):
    wedding = OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29, year=2027)
    db.session.commit()

    scan_at(utc(2026, 3, 26, 9, 0))
    scan_at(utc(2027, 3, 26, 9, 0))

    assert [m.occurrence_key for m in reminders()] == [f"occasion:{wedding.id}:2027"]


def test_customers_get_telegram_when_linked_else_sms_in_their_language(app, moscow, sms_stub, telegram_stub):
    by_sms = CustomerFactory(shop=moscow, name="Ann", language="en", phone="+79260000001")
    by_telegram = CustomerFactory(shop=moscow, name="", telegram_chat_id="7001002003", phone="+79260000002")
    OccasionDateFactory(customer=by_sms, month=3, day=29, label="her mother's birthday")
    OccasionDateFactory(customer=by_telegram, month=3, day=29)
    db.session.commit()

    scan_at(utc(2026, 3, 26, 9, 0))

    first, second = reminders()
    assert (first.channel, first.language, first.recipient_masked) == ("sms", "en", "+7********01")
    assert templates.render(first.template, "en", first.context).startswith(
        f"{moscow.name}: Ann, a reminder: 29 March is her mother's birthday."
    )
    assert (second.channel, second.recipient_masked) == ("telegram", "chat …03")
    assert "уважаемый клиент, напоминаем" in templates.render(second.template, "ru", second.context)
    assert sorted(job.args[1] for job in send_jobs()) == ["+79260000001", "7001002003"]


def test_statements_grow_by_the_messages_queued_not_by_the_customers_scanned(app, moscow, count_queries):
    for _ in range(30):
        OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=29, reminders_enabled=False)
    db.session.commit()

    def statements_for_a_scan(day: int) -> int:
        with count_queries() as statements:
            scan_at(utc(2026, 3, day, 9, 0))
        return len(statements)

    nothing_due = statements_for_a_scan(26)
    for _ in range(3):
        OccasionDateFactory(customer=CustomerFactory(shop=moscow), month=3, day=30)
    db.session.commit()
    three_due = statements_for_a_scan(27)

    assert nothing_due == 2  # the shops, then one query of the shop's due dates
    assert three_due == nothing_due + 3  # each message: one INSERT ... RETURNING


@pytest.mark.committed
def test_concurrent_scans_queue_each_reminder_once(app):
    shop = ShopFactory(timezone="Europe/Moscow")
    for day in (29, 29, 29, 30):
        OccasionDateFactory(customer=CustomerFactory(shop=shop), month=3, day=day)
    db.session.commit()
    barrier = threading.Barrier(8)
    counts: list[int] = []
    errors: list[BaseException] = []

    def scan():
        with app.app_context():
            try:
                barrier.wait()
                counts.append(scan_occasion_reminders())
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    with time_machine.travel(utc(2026, 3, 26, 9, 0), tick=False):
        threads = [threading.Thread(target=scan) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    assert sum(counts) == 3  # three reminders due, whichever scans queued them
    db.session.expire_all()
    assert len(reminders()) == 3
    assert len(send_jobs()) == 3
