"""The cron scan: each date becomes a normal order `lead_days` ahead, once; what intake refuses is still made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select, update

from app.catalogue import services as catalogue
from app.customers.models import Customer
from app.extensions import db
from app.messaging import templates
from app.orders import services as orders
from app.slots.models import DeliveryWindow, SlotBooking
from app.standing import services as standing
from app.standing.models import StandingOrder
from app.standing.schemas import StandingOrderUpdateSchema
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.orders.orderdata import MORNING, open_shop
from tests.promos.promodata import make_code
from tests.standing.standingdata import (
    FRIDAY,
    NOW,
    alerts_for,
    make_series,
    occurrences_of,
    orders_of,
    series_after_a_friday_order,
    template,
)


def scan(now=NOW) -> int:
    return standing.make_due_occurrences(now=now)


def test_the_scan_makes_the_next_date_as_a_normal_order_at_that_days_prices(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    assert (series.next_date, series.due_on) == (FRIDAY, date(2027, 1, 1))
    catalogue.update_product(
        shop_id=shop.id, product_id=front.bouquet.id, actor_id=None, data={"price": Decimal("3100.00")}
    )
    db.session.commit()

    assert scan() == 1

    [order] = orders_of(shop.id)
    assert (order.status, order.delivery_date, order.window_start, order.fulfillment) == (
        "new",
        FRIDAY,
        MORNING,
        "delivery",
    )
    assert order.subtotal == Decimal("3100.00")  # the price of the day it was made, not of the series' start
    assert order.total == Decimal("3400.00")  # with the morning window's fee
    assert (order.recipient_name, order.card_text, order.comment) == ("Irina Sokolova", "For you, as every Friday", "")
    [occurrence] = occurrences_of(series.id)
    assert (occurrence.date, occurrence.status, occurrence.order_id, occurrence.problem) == (
        FRIDAY,
        "made",
        order.id,
        "",
    )
    assert db.session.get(StandingOrder, series.id).next_date == date(2027, 1, 15)
    assert alerts_for(shop.id) == []
    # The next Friday is not due until the 8th; a second scan makes nothing.
    assert scan() == 0
    assert len(orders_of(shop.id)) == 1


def test_a_full_window_still_makes_the_order_as_new_with_the_reason_and_tells_the_managers(shop):
    front = open_shop(shop, capacity=1)
    friday = series_after_a_friday_order(shop, front, product=front.stem)
    MembershipFactory(shop=shop, role="florist")  # florists are not told

    assert scan() == 1

    made = [o for o in orders_of(shop.id) if o.id != friday.first.id]
    [order] = made
    assert (order.status, order.delivery_date, order.window_start) == ("new", FRIDAY, MORNING)
    assert order.delivery_fee == Decimal("300.00")
    assert "window is full" in order.comment or "окно доставки заполнено" in order.comment
    [occurrence] = occurrences_of(friday.series.id)
    assert (occurrence.status, occurrence.order_id, occurrence.problem) == ("made", order.id, "window_full")
    booking = db.session.scalars(
        select(SlotBooking).where(SlotBooking.shop_id == shop.id, SlotBooking.delivery_date == FRIDAY)
    ).one()
    assert booking.taken == 2  # over-booked, and shown so: cancelling gives the place back as usual
    [alert] = alerts_for(shop.id)
    assert (alert.user_id, alert.order_id, alert.template) == (friday.manager.id, order.id, "standing_order_problem")
    text = templates.render(alert.template, alert.language, alert.context)
    assert order.number in text and "window is full" in text and "8 January" in text


def test_a_batch_whose_window_fills_places_the_dates_that_fit_and_makes_the_rest_as_new_with_the_reason(shop):
    front = open_shop(shop, capacity=2)
    MembershipFactory(user=UserFactory(language="en"), shop=shop, role="manager")
    series = [
        make_series(
            front,
            now=NOW,
            starts_on=date(2027, 1, 1),
            template=template(front, customer={"name": f"Client {i}", "phone": f"+7916555000{i}"}),
        )
        for i in range(3)
    ]

    assert scan() == 3  # three dates of one shop: one batch, the window has two places

    made = {o.id: o for o in orders_of(shop.id)}
    outcomes = sorted(
        (occurrence.problem, made[occurrence.order_id].status, made[occurrence.order_id].comment != "")
        for s in series
        for occurrence in occurrences_of(s.id)
    )
    assert outcomes == [("", "new", False), ("", "new", False), ("window_full", "new", True)]
    assert sorted(o.number for o in made.values()) == ["0104-0001", "0104-0002", "0104-0003"]  # one number each
    booking = db.session.scalars(
        select(SlotBooking).where(SlotBooking.shop_id == shop.id, SlotBooking.delivery_date == FRIDAY)
    ).one()
    assert booking.taken == 3  # two places and the over-booked date, shown so
    assert len(alerts_for(shop.id)) == 1  # the managers are told of the one that did not fit
    assert scan() == 0 and len(made) == 3


def test_a_closed_day_makes_the_order_without_a_fee_and_says_so_in_russian(shop):
    front = open_shop(shop)
    db.session.execute(delete(DeliveryWindow).where(DeliveryWindow.shop_id == shop.id, DeliveryWindow.weekday == 4))
    MembershipFactory(shop=shop, role="admin", user=UserFactory(language="ru"))
    db.session.commit()
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))

    assert scan() == 1

    [order] = orders_of(shop.id)
    assert (order.status, order.delivery_fee, order.window_end) == ("new", Decimal("0.00"), None)
    assert "нет такого окна доставки" in order.comment
    assert occurrences_of(series.id)[0].problem == "window_unknown"
    [alert] = alerts_for(shop.id)
    assert "заказ" in templates.render(alert.template, alert.language, alert.context)


def test_a_product_taken_off_sale_and_a_refused_promo_code_are_both_said(shop):
    front = open_shop(shop)
    make_code(shop, code="FRIDAY", valid_until=datetime(2027, 1, 2, tzinfo=UTC))
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1), template=template(front, promo_code="FRIDAY"))
    catalogue.archive_product(shop_id=shop.id, product_id=front.bouquet.id, actor_id=None)
    db.session.commit()

    assert scan() == 1

    [order] = orders_of(shop.id)
    assert (order.status, order.subtotal, order.discount, order.promo_code) == (
        "new",
        Decimal("2900.00"),
        Decimal("0.00"),
        None,
    )
    assert set(occurrences_of(series.id)[0].problem.split(",")) == {"product_off_sale", "promo_refused"}


def test_a_valid_promo_code_gives_its_discount_on_each_date(shop):
    front = open_shop(shop)
    make_code(shop, code="REGULAR", value="10")
    make_series(front, now=NOW, starts_on=date(2027, 1, 1), template=template(front, promo_code="regular"))

    assert scan() == 1

    [order] = orders_of(shop.id)
    assert (order.discount, order.promo_code) == (Decimal("290.00"), "REGULAR")


def test_the_date_is_the_shop_local_date_in_two_time_zones():
    moscow, new_york = ShopFactory(timezone="Europe/Moscow"), ShopFactory(timezone="America/New_York", country="US")
    fronts = {
        "moscow": open_shop(moscow, prefix="M "),
        "new_york": open_shop(new_york, prefix="NY "),
    }
    created = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    # Mother's Day in the US, 9 May 2027: made 7 days ahead, on 2 May local.
    rule = {"frequency": "yearly", "named_day": "mothers_day_us"}
    for front in fronts.values():
        make_series(
            front,
            now=created,
            starts_on=date(2027, 1, 1),
            rule=rule,
            template=template(front, customer={"name": "Ann", "phone": "+12025550123"}),
        )
    # 1 May 22:30 in New York is already 2 May 05:30 in Moscow.
    assert scan(datetime(2027, 5, 2, 2, 30, tzinfo=UTC)) == 1
    assert [o.delivery_date for o in orders_of(moscow.id)] == [date(2027, 5, 9)]
    assert orders_of(new_york.id) == []
    # Past local midnight in New York (EDT, UTC−4).
    assert scan(datetime(2027, 5, 2, 4, 0, tzinfo=UTC)) == 1
    [order] = orders_of(new_york.id)
    assert order.delivery_date == date(2027, 5, 9)
    # The window is 10:00 New York daylight time.
    assert order.scheduled_at == datetime(2027, 5, 9, 14, 0, tzinfo=UTC)


def test_a_skipped_date_is_never_made_and_the_series_goes_on(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    standing.skip_date(shop_id=shop.id, standing_order_id=series.id, actor_id=None, day=FRIDAY, now=NOW)

    assert scan() == 0  # the skipped date is passed over: nothing made
    assert orders_of(shop.id) == []
    assert [(o.date, o.status) for o in occurrences_of(series.id)] == [(FRIDAY, "skipped")]

    assert scan(NOW + timedelta(days=4)) == 1  # Friday 8th: the 15th is due
    assert [o.delivery_date for o in orders_of(shop.id)] == [date(2027, 1, 15)]


def test_a_paused_series_makes_nothing_and_resumes_from_today(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    standing.set_paused(shop_id=shop.id, standing_order_id=series.id, actor_id=None, paused=True, now=NOW)
    assert scan() == 0
    later = NOW + timedelta(days=14)  # Monday 18 January
    assert scan(later) == 0
    standing.set_paused(shop_id=shop.id, standing_order_id=series.id, actor_id=None, paused=False, now=later)

    assert scan(later) == 1
    # The 8th and 15th passed while paused: not made. The 22nd is.
    assert [o.delivery_date for o in orders_of(shop.id)] == [date(2027, 1, 22)]
    assert [o.date for o in occurrences_of(series.id)] == [date(2027, 1, 22)]


def test_a_change_of_the_series_affects_only_the_dates_not_made_yet(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    assert scan() == 1
    [first] = orders_of(shop.id)

    patch = StandingOrderUpdateSchema().load({"template": {"card_text": "New card"}, "lead_days": 14})
    standing.update_standing_order(shop_id=shop.id, standing_order_id=series.id, actor_id=None, data=patch, now=NOW)

    # The 8th is made already (never again); with 14 days' lead the 15th is due now, with the new card.
    assert scan() == 1
    made = orders_of(shop.id)
    assert [(o.delivery_date, o.card_text) for o in made] == [
        (FRIDAY, "For you, as every Friday"),
        (date(2027, 1, 15), "New card"),
    ]
    assert made[0].id == first.id and made[0].version == first.version


def test_a_hand_edited_order_is_not_made_again_when_the_rule_changes_back(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    assert scan() == 1
    [order] = orders_of(shop.id)
    orders.update_order(
        shop_id=shop.id, order_id=order.id, actor_id=None, data={"card_text": "Edited by hand"}, if_match="*"
    )
    # Thursdays, then Fridays again: the 8th comes back into the rule but keeps its one order.
    for weekdays in ([3], [4]):
        patch = StandingOrderUpdateSchema().load({"rule": {"frequency": "weekly", "weekdays": weekdays}})
        standing.update_standing_order(shop_id=shop.id, standing_order_id=series.id, actor_id=None, data=patch, now=NOW)
    scan()
    assert [(o.delivery_date, o.card_text) for o in orders_of(shop.id)] == [(FRIDAY, "Edited by hand")]


def test_dates_the_scan_missed_are_recorded_as_failed_and_the_managers_told(shop):
    front = open_shop(shop)
    MembershipFactory(shop=shop, role="manager")
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    # The scan was down for two weeks: the 8th and 15th have passed, the 22nd is due.
    assert scan(NOW + timedelta(days=14)) == 3
    assert [(o.date, o.status, o.problem) for o in occurrences_of(series.id)] == [
        (date(2027, 1, 8), "failed", "date_passed"),
        (date(2027, 1, 15), "failed", "date_passed"),
        (date(2027, 1, 22), "made", ""),
    ]
    assert [o.delivery_date for o in orders_of(shop.id)] == [date(2027, 1, 22)]
    assert sorted(a.template for a in alerts_for(shop.id)) == ["standing_order_failed"] * 2


def test_an_erased_customer_fails_the_date_with_the_reason(shop):
    front = open_shop(shop)
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))
    customer = series.customer_id
    db.session.execute(update(Customer).where(Customer.id == customer).values(anonymized_at=NOW))
    db.session.commit()

    assert scan() == 1
    assert [(o.status, o.problem, o.order_id) for o in occurrences_of(series.id)] == [("failed", "customer_gone", None)]
    assert orders_of(shop.id) == []
