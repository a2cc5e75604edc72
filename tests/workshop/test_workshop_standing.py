"""A standing order's date on a day whose florist minutes are spent: made as new with the reason, holding none,
and the managers told; confirming it then checks the day again."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.extensions import db
from app.messaging import templates
from app.messaging.models import MessageLog
from app.orders import services as orders
from app.orders.schemas import OrderCreateSchema
from app.standing import services as standing
from tests.factories import MembershipFactory, UserFactory
from tests.orders.orderdata import MORNING
from tests.standing.standingdata import make_series, occurrences_of, orders_of
from tests.workshop.workshopdata import BOUQUET_MINUTES, held, limited_shop

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # Monday 4 January 2027, 12:00 in Moscow
FRIDAY = date(2027, 1, 8)


def test_a_spent_day_still_makes_the_order_as_new_with_the_reason_and_tells_the_managers(shop):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=5)
    manager = UserFactory(language="en")
    MembershipFactory(user=manager, shop=shop, role="manager")
    first = orders.create_order(
        shop_id=shop.id,
        actor_id=None,
        data=OrderCreateSchema().load(
            {
                "customer": {"name": "Somebody", "phone": "+79165556677"},
                "fulfillment": "delivery",
                "address": "Tverskaya 1",
                "delivery_date": FRIDAY.isoformat(),
                "window_start": MORNING,
                "items": [{"product_id": front.bouquet.id, "quantity": 1}],
            }
        ),
        now=NOW,
    )
    series = make_series(front, now=NOW, starts_on=date(2027, 1, 1))

    assert standing.make_due_occurrences(now=NOW) == 1

    [order] = [o for o in orders_of(shop.id) if o.id != first.id]
    assert (order.status, order.delivery_date, order.workshop_minutes) == ("new", FRIDAY, None)
    assert "florists' minutes that day are spent" in order.comment or "минуты флористов" in order.comment
    [occurrence] = occurrences_of(series.id)
    assert (occurrence.status, occurrence.order_id, occurrence.problem) == ("made", order.id, "workshop_full")
    assert held(shop.id, FRIDAY) == BOUQUET_MINUTES  # the day is not over its minutes
    [alert] = db.session.scalars(
        select(MessageLog).where(MessageLog.shop_id == shop.id, MessageLog.kind == "standing_order")
    ).all()
    assert (alert.user_id, alert.order_id) == (manager.id, order.id)
    assert "florists' minutes that day are spent" in templates.render(alert.template, alert.language, alert.context)
