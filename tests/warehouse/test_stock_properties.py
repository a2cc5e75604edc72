"""Random sequences of stock operations against a model of the shelf.

After every step: on hand and reserved equal the sums of the movements and the model's numbers,
available is never negative, no batch goes below zero, and every batch holds exactly what the
model says — which only happens if each operation took the batches expiring first. Write-offs may
take reserved stems: the newest orders give up what is left uncovered and keep it as `short`, a
short order is never consumed, and a supply refills the oldest short order first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select

from app.extensions import db
from app.warehouse import services, stock
from app.warehouse.models import Batch, Item, Reservation, ReservationState
from tests.factories import ShopFactory
from tests.warehouse.stockdata import make_item, movement_sums_by_item

ZERO = Decimal("0")
SHELF_LIVES = (3, 7, None)  # a short-lived flower, a sturdier one, packaging that never expires

quantities = st.one_of(
    st.integers(min_value=1, max_value=12).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("12"), places=3),
)
unit_costs = st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2)
item_indexes = st.integers(min_value=0, max_value=len(SHELF_LIVES) - 1)


@dataclass
class ModelBatch:
    id: int
    expires_on: date | None
    received_on: date
    unit_cost: Decimal
    remaining: Decimal

    @property
    def fefo_key(self):
        return (self.expires_on is None, self.expires_on or date.max, self.received_on, self.id)


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.shop = ShopFactory()
        self.today = services.shop_today(self.shop.id)
        self.items: list[Item] = [
            make_item(self.shop, f"item {i}", shelf_life_days=life) for i, life in enumerate(SHELF_LIVES)
        ]
        self.batches: dict[int, list[ModelBatch]] = {item.id: [] for item in self.items}
        self.reserved: dict[int, Decimal] = {item.id: ZERO for item in self.items}
        self.orders: dict[int, dict[int, Decimal]] = {}  # active reservations, order -> item -> quantity held
        self.short: dict[int, dict[int, Decimal]] = {}  # order -> item -> what a write-off left it short of
        self.next_order_id = 1

    # --- the model -------------------------------------------------------------------------

    def on_hand(self, item_id: int) -> Decimal:
        return sum((b.remaining for b in self.batches[item_id]), ZERO)

    def available(self, item_id: int) -> Decimal:
        return self.on_hand(item_id) - self.reserved[item_id]

    def take_fefo(self, item_id: int, needed: Decimal) -> Decimal:
        cost = ZERO
        for batch in sorted(self.batches[item_id], key=lambda b: b.fefo_key):
            taken = min(batch.remaining, needed)
            batch.remaining -= taken
            needed -= taken
            cost += (batch.unit_cost * taken).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert needed == 0
        return cost

    def add_batches_created(self, item_id: int) -> None:
        known = {b.id for b in self.batches[item_id]}
        for batch in db.session.scalars(select(Batch).where(Batch.item_id == item_id, Batch.id.not_in(known))):
            self.batches[item_id].append(
                ModelBatch(batch.id, batch.expires_on, batch.received_on, batch.unit_cost, batch.quantity)
            )

    def give_up_newest_first(self, item_id: int, missing: Decimal) -> None:
        """What on hand no longer covers comes out of the newest orders' reservations, kept as short."""
        for order_id in sorted(self.orders, reverse=True):
            given_up = min(self.orders[order_id].get(item_id, ZERO), max(missing, ZERO))
            if given_up > 0:
                self.orders[order_id][item_id] -= given_up
                self.short[order_id][item_id] = self.short[order_id].get(item_id, ZERO) + given_up
                self.reserved[item_id] -= given_up
                missing -= given_up

    def refill_oldest_first(self, item_id: int) -> None:
        for order_id in sorted(self.short):
            given = min(self.short[order_id].get(item_id, ZERO), self.available(item_id))
            if given > 0:
                self.short[order_id][item_id] -= given
                self.orders[order_id][item_id] += given
                self.reserved[item_id] += given

    # --- rules -----------------------------------------------------------------------------

    @rule(index=item_indexes, qty=quantities, cost=unit_costs, days_ago=st.integers(min_value=0, max_value=10))
    def receive_a_supply(self, index, qty, cost, days_ago):
        item = self.items[index]
        services.create_supply(
            shop_id=self.shop.id,
            actor_id=None,
            supplier="Flora",
            received_on=self.today - timedelta(days=days_ago),
            lines=[{"item_id": item.id, "quantity": qty, "unit_cost": cost}],
        )
        self.add_batches_created(item.id)
        self.refill_oldest_first(item.id)

    @rule(lines=st.lists(st.tuples(item_indexes, quantities), min_size=1, max_size=4))
    def reserve_for_an_order(self, lines):
        order_id = self.next_order_id
        self.next_order_id += 1
        needed: dict[int, Decimal] = {}
        for index, qty in lines:
            item_id = self.items[index].id
            needed[item_id] = needed.get(item_id, ZERO) + qty
        fits = all(qty <= self.available(item_id) for item_id, qty in needed.items())
        try:
            stock.reserve(
                shop_id=self.shop.id,
                order_id=order_id,
                lines=[(self.items[i].id, q) for i, q in lines],
                actor_id=None,
            )
            db.session.commit()
        except stock.StockShortage as shortage:
            db.session.rollback()
            assert not fits
            short = {s["item_id"] for s in shortage.errors["shortages"]}
            assert short == {i for i, q in needed.items() if q > self.available(i)}
            return
        assert fits
        for item_id, qty in needed.items():
            self.reserved[item_id] += qty
        self.orders[order_id] = needed
        self.short[order_id] = {}

    @rule(index=item_indexes, stems=st.integers(min_value=1, max_value=2))
    def reserve_a_stem_or_two(self, index, stems):
        """Small orders: many orders holding one item, so losses and refills have an order to follow."""
        self.reserve_for_an_order([(index, Decimal(stems))])

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def release_an_order(self, data):
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        stock.release(shop_id=self.shop.id, order_id=order_id, actor_id=None)
        db.session.commit()
        self.short.pop(order_id)
        for item_id, qty in self.orders.pop(order_id).items():
            self.reserved[item_id] -= qty

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def consume_an_order(self, data):
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        is_short = any(qty > 0 for qty in self.short[order_id].values())
        try:
            cost = stock.consume(shop_id=self.shop.id, order_id=order_id, actor_id=None)
        except stock.OrderShort as refused:
            db.session.rollback()
            assert is_short
            assert {s["item_id"] for s in refused.errors["shortages"]} == {
                item_id for item_id, qty in self.short[order_id].items() if qty > 0
            }
            return
        db.session.commit()
        assert not is_short
        self.short.pop(order_id)
        expected = ZERO
        for item_id, qty in self.orders.pop(order_id).items():
            expected += self.take_fefo(item_id, qty)
            self.reserved[item_id] -= qty
        assert cost == expected

    @rule(index=item_indexes, qty=quantities, data=st.data())
    def write_off(self, index, qty, data):
        item_id = self.items[index].id
        with_stock = [b for b in self.batches[item_id] if b.remaining > 0]
        named = data.draw(st.none() | st.sampled_from(with_stock)) if with_stock else None
        self.write_off_and_check(item_id, qty, named)

    @precondition(lambda self: any(b.remaining > 0 for batches in self.batches.values() for b in batches))
    @rule(data=st.data())
    def a_whole_batch_wilts(self, data):
        """The usual loss: a batch goes off whole, reserved stems or not."""
        batch = data.draw(st.sampled_from([b for batches in self.batches.values() for b in batches if b.remaining > 0]))
        item_id = next(item_id for item_id, batches in self.batches.items() if batch in batches)
        self.write_off_and_check(item_id, batch.remaining, batch)

    def write_off_and_check(self, item_id: int, qty: Decimal, named: ModelBatch | None) -> None:
        fits = qty <= self.on_hand(item_id) and (named is None or qty <= named.remaining)
        try:
            write_off = services.create_write_off(
                shop_id=self.shop.id,
                actor_id=None,
                reason="wilted",
                lines=[{"item_id": item_id, "quantity": qty, "batch_id": named.id if named else None}],
            )
        except stock.StockShortage:
            db.session.rollback()
            assert not fits
            return
        assert fits
        self.give_up_newest_first(item_id, self.reserved[item_id] - (self.on_hand(item_id) - qty))
        if named is None:
            expected_cost = self.take_fefo(item_id, qty)
        else:
            named.remaining -= qty
            expected_cost = (named.unit_cost * qty).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert write_off.cost == expected_cost

    @rule(index=item_indexes, counted=st.decimals(min_value=Decimal("0"), max_value=Decimal("40"), places=3))
    def count(self, index, counted):
        item_id = self.items[index].id
        services.create_count(shop_id=self.shop.id, actor_id=None, lines=[{"item_id": item_id, "counted": counted}])
        self.give_up_newest_first(item_id, self.reserved[item_id] - counted)  # the shelf is the truth
        difference = counted - self.on_hand(item_id)
        if difference < 0:
            self.take_fefo(item_id, -difference)
        elif difference > 0:
            self.add_batches_created(item_id)
            surplus = self.batches[item_id][-1]
            assert (surplus.received_on, surplus.remaining) == (self.today, difference)
        self.refill_oldest_first(item_id)

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def books_match_the_movements_the_model_and_fefo(self):
        # Three statements for the whole shop: the invariant runs after every step.
        items = db.session.scalars(
            select(Item).where(Item.shop_id == self.shop.id).execution_options(populate_existing=True)
        ).all()
        sums = movement_sums_by_item(self.shop.id)
        batches = db.session.scalars(select(Batch).where(Batch.shop_id == self.shop.id)).all()
        for item in items:
            assert item.on_hand == sums[item.id][0] == self.on_hand(item.id)
            assert item.reserved == sums[item.id][1] == self.reserved[item.id]
            assert item.available >= 0
        assert all(batch.remaining >= 0 for batch in batches)
        # Each batch holds exactly what the model left in it: only true if every take was FEFO.
        actual = {b.id: b.remaining for b in batches}
        assert actual == {b.id: b.remaining for model in self.batches.values() for b in model}
        held = db.session.execute(
            select(Reservation.order_id, Reservation.item_id, Reservation.quantity, Reservation.short).where(
                Reservation.shop_id == self.shop.id, Reservation.state == ReservationState.ACTIVE.value
            )
        ).all()
        assert {(o, i): (q, s) for o, i, q, s in held} == {
            (o, i): (q, self.short[o].get(i, ZERO)) for o, lines in self.orders.items() for i, q in lines.items()
        }


@pytest.mark.usefixtures("app")
def test_random_stock_operations_keep_the_books_straight():
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
