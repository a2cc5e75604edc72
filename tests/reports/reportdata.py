"""Small fixed data sets for the reports, made through the real services, then moved to fixed local times.

Orders, payments and write-offs are taken through the services (so prices, discounts, FEFO
consumption and costs are the app's own), and afterwards their timestamps are set to the shop-local
instants the hand-computed expectations are written for.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text, update

from app.catalogue import services as catalogue
from app.catalogue.models import Category, Product
from app.courier import services as courier_services
from app.courier.models import CourierAssignment, Delivery
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderStatusChange, Payment
from app.orders.schemas import OrderCreateSchema
from app.promos import services as promos
from app.shops.models import Shop
from app.users.models import Role, User
from app.warehouse import services as warehouse
from app.warehouse.models import Batch, Item, Movement, WriteOff
from tests.factories import MembershipFactory, UserFactory
from tests.slots.slotdata import set_windows
from tests.warehouse.stockdata import D, make_item, supply

DAY = date(2024, 3, 10)  # a Sunday


def local(zone: str, day: date, hh_mm: str) -> datetime:
    """A shop-local wall-clock time as an aware datetime."""
    hour, minute = map(int, hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


def backdate_order(order_id: int, at: datetime) -> None:
    db.session.execute(update(Order).where(Order.id == order_id).values(created_at=at))


def backdate_payment(payment_id: int, at: datetime) -> None:
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(created_at=at))


def windows(fee: str = "300.00") -> list[dict[str, Any]]:
    return [
        {"weekday": weekday, "start": "10:00", "end": "14:00", "capacity": 20, "delivery_fee": fee}
        for weekday in range(7)
    ]


def shop_tomorrow(shop: Shop) -> date:
    return datetime.now(ZoneInfo(shop.timezone)).date() + timedelta(days=1)


@dataclass
class Catalogue:
    shop: Shop
    rose: Item
    fern: Item
    bouquet: Product  # 5 roses + 1 fern, 2900.00, category Bouquets
    stem: Product  # 1 rose, 190.00, category Поштучно
    gift_card: Product  # no recipe, 3000.00, no category
    peony_box: Product  # on sale, never sold, category Bouquets
    archived: Product  # archived, never sold: not in the report
    orders: dict[str, Order] = field(default_factory=dict)


def _product(shop: Shop, name: str, price: str, category: Category | None, recipe: list[tuple[Item, int]]) -> Product:
    data = {"name": name, "price": D(price), "needs_assembly": False}
    if category is not None:
        data["category_id"] = category.id
    product = catalogue.create_product(shop_id=shop.id, actor_id=None, data=data)
    if recipe:
        components = [{"item_id": item.id, "quantity": D(qty)} for item, qty in recipe]
        catalogue.set_recipe(shop_id=shop.id, product_id=product.id, actor_id=None, components=components)
    return product


def open_catalogue(shop: Shop) -> Catalogue:
    """Roses in two batches (6 at 40.00 expiring first, 100 at 50.00), ferns at 12.00, and the products."""
    set_windows(shop, *windows())
    today = datetime.now(ZoneInfo(shop.timezone)).date()
    rose, fern = make_item(shop, "Red rose"), make_item(shop, "Fern", kind="greenery")
    supply(shop, (rose, 6, "40.00"), (fern, 20, "12.00"), received_on=today - timedelta(days=1))
    supply(shop, (rose, 100, "50.00"), received_on=today)
    bouquets = catalogue.create_category(shop_id=shop.id, actor_id=None, name="Bouquets")
    singles = catalogue.create_category(shop_id=shop.id, actor_id=None, name="Поштучно")
    made = Catalogue(
        shop=shop,
        rose=rose,
        fern=fern,
        bouquet=_product(shop, "Bouquet of roses", "2900.00", bouquets, [(rose, 5), (fern, 1)]),
        stem=_product(shop, "Rose by the stem", "190.00", singles, [(rose, 1)]),
        gift_card=_product(shop, "Gift card", "3000.00", None, []),
        peony_box=_product(shop, "Пионы «Нежность»", "4500.00", bouquets, []),
        archived=_product(shop, "Old bouquet", "1000.00", bouquets, []),
    )
    catalogue.archive_product(shop_id=shop.id, product_id=made.archived.id, actor_id=None)
    promos.create_promo_code(
        shop_id=shop.id,
        actor_id=None,
        data={"code": "SPRING10", "kind": "percent", "value": D(10), "min_order_total": D(0)},
    )
    db.session.commit()
    return made


def take_order(shop: Shop, lines: list[tuple[Product, int]], *, delivery: bool = False, **extra: Any) -> Order:
    body: dict[str, Any] = {
        "customer": {"name": "Olga Petrova", "phone": "+79161112233"},
        "delivery_date": shop_tomorrow(shop).isoformat(),
        "items": [{"product_id": product.id, "quantity": qty} for product, qty in lines],
        **extra,
    }
    if delivery:
        body.update(fulfillment="delivery", address="Svetlanskaya 1", window_start="10:00")
    else:
        body.update(fulfillment="pickup", pickup_time="12:00")
    return orders.create_order(shop_id=shop.id, actor_id=None, data=OrderCreateSchema().load(body))


def move(order: Order, *statuses: str) -> None:
    for status in statuses:
        comment = "Customer changed their mind" if status == "cancelled" else ""
        orders.change_status(shop_id=order.shop_id, order_id=order.id, actor_id=None, status=status, comment=comment)


def pay(order: Order, amount: str, at: datetime, method: str = "cash") -> Payment:
    payment, _ = orders.record_payment(
        shop_id=order.shop_id, order_id=order.id, actor_id=None, amount=D(amount), method=method
    )
    backdate_payment(payment.id, at)
    return payment


def sales_week(shop: Shop) -> Catalogue:
    """The Vladivostok shop's orders of 9-13 March 2024 (UTC+10 all year), as the sales tests expect them.

    - O1 10 Mar 00:30 (9 Mar 14:30 UTC): bouquet + 2 stems, SPRING10, assembled (7 roses: 6 at 40, 1 at 50;
      1 fern at 12 -> cost 302.00), completed, paid 2952.00.
    - O2 10 Mar 23:30: gift card, assembled (cost 0.00), completed, paid 3000.00; 500.00 refunded 11 Mar 10:00.
    - O3 11 Mar 12:00: 3 stems, confirmed then cancelled; 570.00 paid and refunded (not a kept order's refund).
    - O4 11 Mar 15:00: a delivered bouquet (fee 300.00) only confirmed: no cost of goods yet.
    - O6 12 Mar 09:00: a stem made ready (1 rose at 50.00), then cancelled.
    - O5 13 Mar 00:10 (12 Mar 14:10 UTC): a stem, outside 9-12 March in the shop's days.
    """
    zone = shop.timezone
    made = open_catalogue(shop)
    o1 = take_order(shop, [(made.bouquet, 1), (made.stem, 2)], promo_code="SPRING10")
    move(o1, "confirmed", "ready", "completed")
    backdate_order(o1.id, local(zone, DAY, "00:30"))
    pay(o1, "2952.00", local(zone, DAY, "00:35"))

    o2 = take_order(shop, [(made.gift_card, 1)])
    move(o2, "confirmed", "ready", "completed")
    backdate_order(o2.id, local(zone, DAY, "23:30"))
    pay(o2, "3000.00", local(zone, DAY, "23:31"), method="card")
    pay(o2, "-500.00", local(zone, DAY + timedelta(days=1), "10:00"), method="card")

    o3 = take_order(shop, [(made.stem, 3)])
    move(o3, "confirmed")
    pay(o3, "570.00", local(zone, DAY + timedelta(days=1), "12:05"))
    move(o3, "cancelled")
    backdate_order(o3.id, local(zone, DAY + timedelta(days=1), "12:00"))
    pay(o3, "-570.00", local(zone, DAY + timedelta(days=1), "12:30"))

    o4 = take_order(shop, [(made.bouquet, 1)], delivery=True)
    move(o4, "confirmed")
    backdate_order(o4.id, local(zone, DAY + timedelta(days=1), "15:00"))

    o6 = take_order(shop, [(made.stem, 1)])
    move(o6, "confirmed", "ready", "cancelled")
    backdate_order(o6.id, local(zone, DAY + timedelta(days=2), "09:00"))

    o5 = take_order(shop, [(made.stem, 1)])
    backdate_order(o5.id, local(zone, DAY + timedelta(days=3), "00:10"))
    db.session.commit()
    made.orders = {"o1": o1, "o2": o2, "o3": o3, "o4": o4, "o5": o5, "o6": o6}
    return made


def noise_in(shop: Shop) -> Order:
    """Another shop's big order, paid and partly refunded, in the same days: never counted elsewhere."""
    made = open_catalogue(shop)
    order = take_order(shop, [(made.bouquet, 3), (made.gift_card, 2)])
    move(order, "confirmed", "ready", "completed")
    backdate_order(order.id, local(shop.timezone, DAY + timedelta(days=1), "12:00"))
    pay(order, str(order.total), local(shop.timezone, DAY + timedelta(days=1), "12:00"))
    pay(order, "-100.00", local(shop.timezone, DAY + timedelta(days=1), "13:00"))
    warehouse.create_write_off(
        shop_id=shop.id, actor_id=None, reason="wilted", lines=[{"item_id": made.rose.id, "quantity": D(3)}]
    )
    db.session.execute(
        update(WriteOff).where(WriteOff.shop_id == shop.id).values(created_at=local(shop.timezone, DAY, "12:00"))
    )
    db.session.commit()
    return order


# --- stock and write-offs --------------------------------------------------------------------


def member(shop: Shop, name: str, role: str) -> User:
    user = UserFactory(name=name)
    MembershipFactory(user=user, shop=shop, role=role)
    db.session.flush()
    return user


@dataclass
class WriteOffWeek:
    rose: Item
    tulip: Item
    anna: User
    boris: User


def write_off_week(shop: Shop) -> WriteOffWeek:
    """Write-offs of 10-13 March 2024 in the shop's days (Vladivostok):

    - W1 10 Mar 00:30 (9 Mar UTC), wilted, Anna (florist): 10 roses at 40.00 = 400.00
    - W2 10 Mar 18:00, damaged, Boris (manager): 2 roses (80.00) and 3 tulips at 30.00 (90.00)
    - W3 11 Mar 09:00, wilted, Anna: 5 tulips = 150.00
    - W4 13 Mar 00:10 (12 Mar UTC), lost, Boris: 1 tulip, outside 9-12 March
    """
    rose, tulip = make_item(shop, "Red rose"), make_item(shop, "Tulip", shelf_life_days=5)
    supply(shop, (rose, 20, "40.00"), (tulip, 20, "30.00"))
    anna, boris = member(shop, "Anna", "florist"), member(shop, "Boris", "manager")
    plan = [
        (anna, "wilted", [(rose, 10)], DAY, "00:30"),
        (boris, "damaged", [(rose, 2), (tulip, 3)], DAY, "18:00"),
        (anna, "wilted", [(tulip, 5)], DAY + timedelta(days=1), "09:00"),
        (boris, "lost", [(tulip, 1)], DAY + timedelta(days=3), "00:10"),
    ]
    for who, reason, lines, day, hh_mm in plan:
        made = warehouse.create_write_off(
            shop_id=shop.id,
            actor_id=who.id,
            reason=reason,
            lines=[{"item_id": item.id, "quantity": D(qty)} for item, qty in lines],
        )
        db.session.execute(
            update(WriteOff).where(WriteOff.id == made.id).values(created_at=local(shop.timezone, day, hh_mm))
        )
    db.session.commit()
    return WriteOffWeek(rose, tulip, anna, boris)


@dataclass
class StockHistory:
    today: date
    rose: Item
    tulip: Item
    vase: Item
    first_rose_batch: Batch


def _backdate_stock(shop: Shop, *, batch_ids: list[int], at: datetime, write_off_id: int | None = None) -> None:
    if write_off_id is not None:
        condition = Movement.write_off_id == write_off_id
    else:
        condition = Movement.batch_id.in_(batch_ids) & (Movement.kind == "supply")
    # Movements are immutable (migration 0011's trigger); this fixture rewrites history inside the test's
    # transaction, which rolls back the ALTER TABLE too.
    db.session.execute(text("ALTER TABLE stock_movements DISABLE TRIGGER stock_movements_immutable"))
    db.session.execute(update(Movement).where(Movement.shop_id == shop.id, condition).values(created_at=at))
    db.session.execute(text("ALTER TABLE stock_movements ENABLE TRIGGER stock_movements_immutable"))


def stock_history(shop: Shop) -> StockHistory:
    """Stock over the last ten days, today being the shop's today (T):

    - T-10 10:00: 50 roses at 40.00 arrive (shelf life 7: expire T-3)
    - T-5 12:00: 10 of them written off (wilted)
    - T-2 09:00: 30 roses at 60.00 (expire T+5), 20 tulips at 30.00 (shelf life 5: expire T+3),
      5 vases at 200.00 (never expire)
    Items were set up at T-20.
    """
    zone = shop.timezone
    today = datetime.now(ZoneInfo(zone)).date()
    rose = make_item(shop, "Red rose")
    tulip = make_item(shop, "Tulip", shelf_life_days=5)
    vase = make_item(shop, "Glass vase", kind="packaging", unit="piece", shelf_life_days=None)
    db.session.execute(
        update(Item).where(Item.shop_id == shop.id).values(created_at=local(zone, today - timedelta(days=20), "09:00"))
    )
    first = supply(shop, (rose, 50, "40.00"), received_on=today - timedelta(days=10))
    _backdate_stock(shop, batch_ids=[b.id for b in first.batches], at=local(zone, today - timedelta(days=10), "10:00"))
    wilted = warehouse.create_write_off(
        shop_id=shop.id, actor_id=None, reason="wilted", lines=[{"item_id": rose.id, "quantity": D(10)}]
    )
    _backdate_stock(shop, batch_ids=[], write_off_id=wilted.id, at=local(zone, today - timedelta(days=5), "12:00"))
    second = supply(
        shop, (rose, 30, "60.00"), (tulip, 20, "30.00"), (vase, 5, "200.00"), received_on=today - timedelta(days=2)
    )
    _backdate_stock(shop, batch_ids=[b.id for b in second.batches], at=local(zone, today - timedelta(days=2), "09:00"))
    db.session.commit()
    return StockHistory(today, rose, tulip, vase, first.batches[0])


# --- CSV -------------------------------------------------------------------------------------


def parse_csv(response) -> list[dict[str, str]]:
    """The downloaded file as a spreadsheet would read it: BOM first, then the rows."""
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def as_csv_cells(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """JSON rows as CSV cells: null is empty, numbers are their text."""
    return [{key: "" if value is None else str(value) for key, value in row.items()} for row in rows]


def money(value: str) -> Decimal:
    return Decimal(value)


# --- couriers --------------------------------------------------------------------------------


@dataclass
class CourierDay:
    kolya: User
    misha: User
    sasha: User


def _trip_times(order: Order, *, delivered: datetime | None = None, on_phone: datetime | None = None) -> None:
    db.session.execute(
        update(Delivery)
        .where(Delivery.order_id == order.id)
        .values(delivered_at=delivered, client_completed_at=on_phone)
    )


def _assigned(order: Order, courier: User, since: datetime, until: datetime | None = None) -> None:
    db.session.execute(
        update(CourierAssignment)
        .where(CourierAssignment.order_id == order.id, CourierAssignment.courier_id == courier.id)
        .values(assigned_at=since, ended_at=until)
    )


def _failed_at(order: Order, at: datetime) -> None:
    db.session.execute(
        update(OrderStatusChange)
        .where(OrderStatusChange.order_id == order.id, OrderStatusChange.to_status == "delivery_failed")
        .values(created_at=at)
    )


def courier_day(shop: Shop) -> CourierDay:
    """Deliveries in the Vladivostok shop, windows 10:00-14:00 on 10 March 2024 (shop time):

    - D1 Kolya: the phone says 13:50 (on time), the server got it at 13:52; 490.00 cash at the door
    - D2 Kolya: 14:20 by the phone (late)
    - D3 Kolya: no time from the phone; the server's 11:00 counts (on time)
    - D4 Misha fails it at 12:00 (nobody_home); given to Kolya at 13:00, who delivers at 16:00 (late)
    - D5 Misha fails it on the 11th at 10:30 (wrong_address); it goes back to the shop
    - D6 Misha delivers it on the 13th at 00:30 (the 12th in UTC): outside 9-12 March
    - D7 Misha delivers at 09:40, before the window opens: neither on time nor late
    Sasha, a courier too, delivers nothing.
    """
    zone = shop.timezone
    at = lambda day, hh_mm: local(zone, date(2024, 3, day), hh_mm)  # noqa: E731
    made = open_catalogue(shop)
    kolya, misha, sasha = (member(shop, name, "courier") for name in ("Kolya", "Misha", "Sasha"))
    boss = member(shop, "Boss", "manager")
    db.session.commit()

    def out_with(courier: User) -> Order:
        order = take_order(shop, [(made.stem, 1)], delivery=True)
        move(order, "confirmed", "ready")
        courier_services.assign_courier(shop_id=shop.id, order_id=order.id, courier_id=courier.id, actor_id=boss.id)
        courier_services.pick_up(shop_id=shop.id, order_id=order.id, actor_id=courier.id, actor_role=Role.COURIER)
        db.session.execute(update(Order).where(Order.id == order.id).values(delivery_date=date(2024, 3, 10)))
        _assigned(order, courier, at(10, "09:00"))
        return order

    def deliver(order: Order, courier: User, **fields: Any) -> None:
        courier_services.deliver(
            shop_id=shop.id, order_id=order.id, actor_id=courier.id, actor_role=Role.COURIER, **fields
        )

    def fail(order: Order, courier: User, reason: str) -> None:
        courier_services.fail(
            shop_id=shop.id, order_id=order.id, actor_id=courier.id, actor_role=Role.COURIER, reason=reason, comment="x"
        )

    d1 = out_with(kolya)
    deliver(d1, kolya, amount_collected=d1.total)
    _trip_times(d1, delivered=at(10, "13:52"), on_phone=at(10, "13:50"))
    d2 = out_with(kolya)
    deliver(d2, kolya)
    _trip_times(d2, delivered=at(10, "14:21"), on_phone=at(10, "14:20"))
    d3 = out_with(kolya)
    deliver(d3, kolya)
    _trip_times(d3, delivered=at(10, "11:00"))
    d4 = out_with(misha)
    fail(d4, misha, "nobody_home")
    courier_services.assign_courier(shop_id=shop.id, order_id=d4.id, courier_id=kolya.id, actor_id=boss.id)
    courier_services.pick_up(shop_id=shop.id, order_id=d4.id, actor_id=kolya.id, actor_role=Role.COURIER)
    deliver(d4, kolya)
    _failed_at(d4, at(10, "12:00"))
    _assigned(d4, misha, at(10, "09:00"), at(10, "13:00"))
    _assigned(d4, kolya, at(10, "13:00"))
    _trip_times(d4, delivered=at(10, "16:00"), on_phone=at(10, "16:00"))
    d5 = out_with(misha)
    fail(d5, misha, "wrong_address")
    courier_services.return_to_shop(shop_id=shop.id, order_id=d5.id, actor_id=boss.id, actor_role=Role.MANAGER)
    _failed_at(d5, at(11, "10:30"))
    d6 = out_with(misha)
    deliver(d6, misha)
    _trip_times(d6, delivered=at(13, "00:30"), on_phone=at(13, "00:30"))
    d7 = out_with(misha)
    deliver(d7, misha)
    _trip_times(d7, delivered=at(10, "09:40"), on_phone=at(10, "09:40"))
    db.session.commit()
    return CourierDay(kolya, misha, sasha)


# --- every report over every data set, for comparing databases -------------------------------


def new_york_nights(shop: Shop) -> None:
    """Three stems taken at 23:30 on 9 and 10 March and 00:15 on the 11th, New York time (clocks went forward on the
    10th, so UTC is five hours ahead before and four after)."""
    made = open_catalogue(shop)
    for day, hh_mm in [(9, "23:30"), (10, "23:30"), (11, "00:15")]:
        order = take_order(shop, [(made.stem, 1)])
        move(order, "confirmed")
        backdate_order(order.id, local(shop.timezone, date(2024, 3, day), hh_mm))
    db.session.commit()


def _without_ids(value: Any) -> Any:
    """A dumped report with row ids left out: two databases number rows differently."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if not k.endswith("_id")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def every_report() -> dict[str, Any]:
    """Build each data set in a shop of its own and return every report over it, JSON-ready, without ids."""
    from app.reports import schemas, services
    from app.reports.periods import GroupBy
    from tests.factories import ShopFactory

    first, last = date(2024, 3, 9), date(2024, 3, 12)
    sales_shop, write_off_shop, courier_shop = (ShopFactory(timezone="Asia/Vladivostok") for _ in range(3))
    new_york = ShopFactory(timezone="America/New_York")
    sales_week(sales_shop)
    write_off_week(write_off_shop)
    courier_day(courier_shop)
    new_york_nights(new_york)
    reports = {}
    for group_by in GroupBy:
        reports[f"sales by {group_by}"] = schemas.SalesReportSchema().dump(
            services.sales_report(shop_id=sales_shop.id, date_from=first, date_to=last, group_by=group_by)
        )
        reports[f"New York by {group_by}"] = schemas.SalesReportSchema().dump(
            services.sales_report(shop_id=new_york.id, date_from=first, date_to=last, group_by=group_by)
        )
        reports[f"write-offs by {group_by}"] = schemas.WriteOffsReportSchema().dump(
            services.write_offs_report(shop_id=write_off_shop.id, date_from=first, date_to=last, group_by=group_by)
        )
    reports["products"] = schemas.ProductsReportSchema().dump(
        services.products_report(shop_id=sales_shop.id, date_from=first, date_to=last)
    )
    reports["couriers"] = schemas.CouriersReportSchema().dump(
        services.couriers_report(shop_id=courier_shop.id, date_from=first, date_to=last)
    )
    return _without_ids(reports)
