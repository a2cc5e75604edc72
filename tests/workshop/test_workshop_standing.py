"""A standing order's date on a day whose florist minutes are spent: made as new with the reason, holding none,
and the managers told; confirming it then checks the day again."""

from __future__ import annotations

from app.messaging import templates
from app.standing import services as standing
from tests.standing.standingdata import FRIDAY, NOW, alerts_for, occurrences_of, orders_of, series_after_a_friday_order
from tests.workshop.workshopdata import BOUQUET_MINUTES, held, limited_shop


def test_a_spent_day_still_makes_the_order_as_new_with_the_reason_and_tells_the_managers(shop):
    front = limited_shop(shop, BOUQUET_MINUTES, capacity=5)
    friday = series_after_a_friday_order(shop, front, product=front.bouquet)

    assert standing.make_due_occurrences(now=NOW) == 1

    [order] = [o for o in orders_of(shop.id) if o.id != friday.first.id]
    assert (order.status, order.delivery_date, order.workshop_minutes) == ("new", FRIDAY, None)
    assert "florists' minutes that day are spent" in order.comment or "минуты флористов" in order.comment
    [occurrence] = occurrences_of(friday.series.id)
    assert (occurrence.status, occurrence.order_id, occurrence.problem) == ("made", order.id, "workshop_full")
    assert held(shop.id, FRIDAY) == BOUQUET_MINUTES  # the day is not over its minutes
    [alert] = alerts_for(shop.id)
    assert (alert.user_id, alert.order_id) == (friday.manager.id, order.id)
    assert "florists' minutes that day are spent" in templates.render(alert.template, alert.language, alert.context)
