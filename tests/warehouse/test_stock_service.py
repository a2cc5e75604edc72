"""The stock service as orders will use it: reserve, release, consume."""

from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.errors import RuleViolation
from app.extensions import db
from app.warehouse import stock
from app.warehouse.models import Movement, Reservation
from tests.warehouse.stockdata import D, batches_of, fresh, make_item, movement_sums, supply

TODAY = date.today()


@pytest.fixture
def rose(shop):
    return make_item(shop, "Red rose")


@pytest.fixture
def eucalyptus(shop):
    return make_item(shop, "Eucalyptus", kind="greenery", unit="kg", shelf_life_days=10)


def test_reserve_is_all_or_nothing_and_lists_every_shortage(shop, rose, eucalyptus):
    supply(shop, (rose, 5, "40.00"), (eucalyptus, "0.5", "900.00"))
    tulip = make_item(shop, "Tulip")

    with pytest.raises(stock.StockShortage) as caught:
        stock.reserve(
            shop_id=shop.id,
            order_id=1,
            lines=[(rose.id, D(3)), (eucalyptus.id, D("0.75")), (tulip.id, D(1))],
            actor_id=None,
        )
    db.session.rollback()

    assert caught.value.status_code == 409
    assert caught.value.errors == {
        "shortages": [
            {"item_id": eucalyptus.id, "name": "Eucalyptus", "needed": "0.750", "available": "0.500"},
            {"item_id": tulip.id, "name": "Tulip", "needed": "1.000", "available": "0.000"},
        ]
    }
    assert fresh(rose).reserved == 0  # the rose line that fitted was not kept either
    assert db.session.query(Movement).filter_by(kind="reservation").count() == 0


def test_reserve_release_and_reserve_again(shop, rose):
    supply(shop, (rose, 10, "40.00"))

    stock.reserve(shop_id=shop.id, order_id=7, lines=[(rose.id, D(4)), (rose.id, D(2))], actor_id=None)
    db.session.commit()
    assert (fresh(rose).on_hand, fresh(rose).reserved, fresh(rose).available) == (D(10), D(6), D(4))

    assert stock.release(shop_id=shop.id, order_id=7, actor_id=None, reason="cancelled") == 1
    assert stock.release(shop_id=shop.id, order_id=7, actor_id=None) == 0  # releasing twice changes nothing
    db.session.commit()
    assert fresh(rose).reserved == 0
    assert movement_sums(rose.id) == (D(10), D(0))
    states = [r.state for r in db.session.query(Reservation).filter_by(order_id=7)]
    assert states == ["released"]


def test_consume_takes_batches_expiring_first_and_returns_their_cost(shop, rose):
    supply(shop, (rose, 5, "50.00"), received_on=TODAY - timedelta(days=1))  # expires first
    supply(shop, (rose, 5, "30.00"), received_on=TODAY)
    supply(shop, (rose, 5, "70.00"), received_on=TODAY - timedelta(days=3))  # expires before both

    stock.reserve(shop_id=shop.id, order_id=11, lines=[(rose.id, D(8))], actor_id=None)
    cost = stock.consume(shop_id=shop.id, order_id=11, actor_id=None)
    db.session.commit()

    assert cost == D("500.00")  # 5 x 70 + 3 x 50
    remaining = {b.unit_cost: b.remaining for b in batches_of(rose.id)}
    assert remaining == {D("70.00"): D(0), D("50.00"): D(2), D("30.00"): D(5)}
    item = fresh(rose)
    assert (item.on_hand, item.reserved) == (D(7), D(0))
    assert movement_sums(rose.id) == (D(7), D(0))
    reservation = db.session.query(Reservation).filter_by(order_id=11).one()
    assert (reservation.state, reservation.cost) == ("consumed", D("500.00"))
    # Consuming again is a no-op: the reservation is settled.
    assert stock.consume(shop_id=shop.id, order_id=11, actor_id=None) == D("0.00")


def test_consume_of_half_kilograms_costs_by_the_kilo(shop, eucalyptus):
    supply(shop, (eucalyptus, "1.25", "880.00"))
    stock.reserve(shop_id=shop.id, order_id=3, lines=[(eucalyptus.id, D("0.333"))], actor_id=None)
    assert stock.consume(shop_id=shop.id, order_id=3, actor_id=None) == D("293.04")  # 0.333 x 880 = 293.04
    assert fresh(eucalyptus).on_hand == D("0.917")


def test_another_shops_item_cannot_be_reserved(shop, other_shop, rose):
    theirs = make_item(other_shop, "Their rose")
    supply(other_shop, (theirs, 10, "10.00"))
    with pytest.raises(RuleViolation) as caught:
        stock.reserve(shop_id=shop.id, order_id=1, lines=[(theirs.id, D(1))], actor_id=None)
    assert caught.value.status_code == 422
    assert fresh(theirs).reserved == 0


def test_release_and_consume_only_touch_the_shop_named(shop, other_shop, rose):
    supply(shop, (rose, 3, "10.00"))
    stock.reserve(shop_id=shop.id, order_id=5, lines=[(rose.id, D(2))], actor_id=None)
    assert stock.release(shop_id=other_shop.id, order_id=5, actor_id=None) == 0
    assert stock.consume(shop_id=other_shop.id, order_id=5, actor_id=None) == D("0.00")
    assert fresh(rose).reserved == D(2)


def test_non_positive_quantities_are_refused(shop, rose):
    supply(shop, (rose, 3, "10.00"))
    with pytest.raises(RuleViolation):
        stock.reserve(shop_id=shop.id, order_id=1, lines=[(rose.id, D(0))], actor_id=None)


def test_an_order_holds_one_active_reservation_per_item_the_database_refuses_a_second(shop, rose):
    supply(shop, (rose, 10, "40.00"))
    stock.reserve(shop_id=shop.id, order_id=8, lines=[(rose.id, D(2))], actor_id=None)
    db.session.commit()
    with pytest.raises(IntegrityError):
        stock.reserve(shop_id=shop.id, order_id=8, lines=[(rose.id, D(3))], actor_id=None)
    db.session.rollback()
    held = db.session.query(Reservation).filter_by(order_id=8, state="active").one()
    assert held.quantity == D(2)
    assert fresh(rose).reserved == D(2)
    # Released, the item can be held again (a change of a confirmed order's lines does exactly this).
    stock.release(shop_id=shop.id, order_id=8, actor_id=None)
    stock.reserve(shop_id=shop.id, order_id=8, lines=[(rose.id, D(3))], actor_id=None)
    db.session.commit()
    assert stock.consume(shop_id=shop.id, order_id=8, actor_id=None) == D("120.00")
    assert movement_sums(rose.id) == (D(7), D(0))


def test_stock_beyond_what_the_books_hold_is_refused_not_a_database_error(shop, rose):
    locked = stock.lock_items(shop_id=shop.id, item_ids=[rose.id])[rose.id]
    stock.receive(item=locked, quantity_received=stock.MAX_ON_HAND, unit_cost=D(0), received_on=TODAY, actor_id=None)
    with pytest.raises(RuleViolation):
        stock.receive(item=locked, quantity_received=D("0.001"), unit_cost=D(0), received_on=TODAY, actor_id=None)
