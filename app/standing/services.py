"""Standing orders: the series managers keep, and the scan that turns each date into a normal order.

Each date becomes an order `lead_days` ahead, through the same intake as POST /orders (that day's prices,
window capacity, florist minutes, promo), exactly once: the date is claimed by the unique
(standing_order_id, date) row of `standing_occurrences`, inside the transaction that makes its order, under
the series row locked with SKIP LOCKED, so two scans at once never make a date twice. A date intake refuses
is never dropped: the order is made as `new` anyway (see `create_order(lenient=True)`; on a day whose
florist minutes are spent, holding none until it is confirmed), the reason written into its comment and
kept on the occurrence, and the managers are told (app/standing/alerts.py).

A change of the series (PATCH) moves only the dates not made yet; a date already made, skipped or failed
keeps its row and is never made again. Dates that pass while a series is paused are not made.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload

from app.audit import services as audit
from app.common import memo
from app.common.pagination import page_of
from app.common.phones import InvalidPhone, normalize_phone
from app.common.types import utcnow
from app.customers import services as customers
from app.customers.models import Customer
from app.errors import ConflictError, DomainError, NotFoundError, RuleViolation
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.shops.models import Shop
from app.standing import alerts, rules
from app.standing.models import StandingOccurrence, StandingOrder
from app.standing.schemas import StandingTemplateSchema

log = logging.getLogger(__name__)

AUDIT_FIELDS = ["customer_id", "rule", "starts_on", "ends_on", "count", "lead_days", "paused"]
UPCOMING = 10
PAST = 50
# Series a scan handles in one transaction when all goes well (the shop's number counter is held meanwhile).
BATCH = 50
# The cron scan runs as this many jobs at once (app/jobs/schedule.py), each for the shops whose id leaves its
# remainder: free workers make them side by side. A shop stays in one job: its order number counter is held by
# one transaction at a time, so two jobs sharing a shop would queue on it.
SCAN_JOBS = 4
COMMENT_LIMIT = 2000
# A note in the order's comment, in the shop's country's language (managers read it in the order).
NOTE = {"ru": "Постоянный заказ №{series}: {problem}.", "en": "Standing order #{series}: {problem}."}
FIXABLE = {
    "workshop_full",
    "window_full",
    "window_closed",
    "window_unknown",
    "product_off_sale",
    "promo_refused",
    "pickup_passed",
}


# --- reading ---------------------------------------------------------------------------------


def local_today(shop: Shop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop.timezone)).date()


def _series_of(row: StandingOrder):
    return rules.recurrence(row.rule, starts_on=row.starts_on, ends_on=row.ends_on, count=row.count)


def get_standing_order(*, shop_id: int, standing_order_id: int) -> StandingOrder:
    row = db.session.scalars(
        select(StandingOrder).where(StandingOrder.id == standing_order_id, StandingOrder.shop_id == shop_id)
    ).first()
    if row is None:
        raise NotFoundError("Standing order not found.")
    return row


def list_standing_orders(
    *, shop_id: int, customer_id: int | None, paused: bool | None, page: int, page_size: int
) -> tuple[list[StandingOrder], int]:
    """The shop's standing orders, newest first: two statements whatever the page size."""
    stmt = select(StandingOrder).where(StandingOrder.shop_id == shop_id)
    if customer_id is not None:
        stmt = stmt.where(StandingOrder.customer_id == customer_id)
    if paused is not None:
        stmt = stmt.where(StandingOrder.paused.is_(paused))
    return page_of(stmt.order_by(StandingOrder.id.desc()), page=page, page_size=page_size)


def occurrences(*, shop_id: int, standing_order_id: int, now: datetime | None = None) -> dict[str, list[dict]]:
    """The next dates from today (planned, skipped or already made) and the past ones made or failed."""
    now = now or utcnow()
    row = get_standing_order(shop_id=shop_id, standing_order_id=standing_order_id)
    shop = db.session.get(Shop, shop_id)
    today = local_today(shop, now)
    upcoming_dates = rules.dates(_series_of(row), after=today, limit=UPCOMING)
    recorded = db.session.execute(
        select(StandingOccurrence, Order.number, Order.status)
        .outerjoin(Order, Order.id == StandingOccurrence.order_id)
        .where(
            StandingOccurrence.standing_order_id == row.id,
            StandingOccurrence.date.in_(upcoming_dates) | (StandingOccurrence.date < today),
        )
        .order_by(StandingOccurrence.date.desc())
        .limit(PAST + UPCOMING)
    ).all()
    by_date = {occurrence.date: _shown(occurrence, number, status) for occurrence, number, status in recorded}
    upcoming = [
        by_date.get(day) or {"date": day, "status": "planned", "order": None, "problem": ""} for day in upcoming_dates
    ]
    past = [shown for day, shown in by_date.items() if day < today][:PAST]
    return {"upcoming": upcoming, "past": past}


def _shown(occurrence: StandingOccurrence, number: str | None, status: str | None) -> dict[str, Any]:
    order = None
    if occurrence.order_id is not None:
        order = {"id": occurrence.order_id, "number": number, "status": status}
    return {"date": occurrence.date, "status": occurrence.status, "order": order, "problem": occurrence.problem}


# --- managing the series ----------------------------------------------------------------------


def _customer(shop_id: int, template: dict[str, Any], actor_id: int | None) -> Customer:
    if template.get("customer_id") is not None:
        customer = db.session.scalars(
            select(Customer).where(Customer.id == template["customer_id"], Customer.shop_id == shop_id)
        ).first()
        if customer is None or customer.anonymized_at is not None:
            raise RuleViolation(
                "No such customer.", errors={"template": {"customer_id": ["No such customer in this shop."]}}
            )
        return customer
    given = template["customer"]
    return customers.find_or_create_customer(
        shop_id=shop_id, actor_id=actor_id, name=given["name"], phone=given["phone"], error_field="template.customer"
    )


def _stored_template(template: dict[str, Any], customer_id: int) -> dict[str, Any]:
    """The template as kept: JSON values, the customer by id, the lines without prices (taken each date)."""
    kept = {k: v for k, v in template.items() if k not in ("customer", "customer_id", "items")}
    kept["customer_id"] = customer_id
    kept["items"] = [{"product_id": line["product_id"], "quantity": line["quantity"]} for line in template["items"]]
    return kept


def _check_recipient_phone(shop: Shop, template: dict[str, Any]) -> None:
    """Checked (and kept in E.164) now, so no date fails on it later."""
    if not template.get("recipient_phone"):
        return
    try:
        template["recipient_phone"] = normalize_phone(template["recipient_phone"], shop.country)
    except InvalidPhone as exc:
        raise RuleViolation("Not a valid phone number.", errors={"template": {"recipient_phone": [str(exc)]}}) from None


def _check_products(shop_id: int, template: dict[str, Any]) -> None:
    try:
        orders.price_lines(shop_id=shop_id, lines=template["items"])
    except RuleViolation as exc:
        raise RuleViolation(
            "Some products are not on sale here; remove them from the order.", errors={"template": exc.errors}
        ) from None


def _schedule(row: StandingOrder, shop: Shop, now: datetime) -> None:
    """The next date to make: the first of the rule from today on (dates already made keep their rows)."""
    start = max(row.starts_on, local_today(shop, now))
    row.next_date = rules.first_on_or_after(_series_of(row), start)
    row.due_on = row.next_date - timedelta(days=row.lead_days) if row.next_date else None


def create_standing_order(
    *, shop_id: int, actor_id: int | None, data: dict[str, Any], now: datetime | None = None
) -> StandingOrder:
    now = now or utcnow()
    shop = db.session.get(Shop, shop_id)
    try:
        customer = _customer(shop_id, data["template"], actor_id)
        _check_recipient_phone(shop, data["template"])
        _check_products(shop_id, data["template"])
        row = StandingOrder(
            shop_id=shop_id,
            customer_id=customer.id,
            template=_stored_template(data["template"], customer.id),
            rule=data["rule"],
            starts_on=data["starts_on"],
            ends_on=data.get("ends_on"),
            count=data.get("count"),
            lead_days=data.get("lead_days", 7),
            paused=False,
            created_by_id=actor_id,
            version=1,
        )
        _schedule(row, shop, now)
        db.session.add(row)
        db.session.flush()
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="create",
            entity_type="standing_order",
            entity_id=row.id,
            changes=audit.snapshot(row, AUDIT_FIELDS),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def _merged_template(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The stored template with the patch over it, checked as on creation (422 naming template fields)."""
    merged = dict(stored)
    if "customer" in patch:
        merged.pop("customer_id", None)
    if patch.get("fulfillment") == "pickup":
        merged.pop("address", None)
        merged.pop("window_start", None)
    elif patch.get("fulfillment") == "delivery":
        merged.pop("pickup_time", None)
    merged.update(patch)
    try:
        return StandingTemplateSchema().load(merged)
    except ValidationError as exc:
        raise RuleViolation("Some fields of the template are not valid.", errors={"template": exc.messages}) from None


def update_standing_order(
    *, shop_id: int, standing_order_id: int, actor_id: int | None, data: dict[str, Any], now: datetime | None = None
) -> StandingOrder:
    """Change the series: only the dates not made yet follow; made, skipped and failed dates stay as they are."""
    now = now or utcnow()
    try:
        row = _locked(shop_id, standing_order_id)
        shop = db.session.get(Shop, shop_id)
        changes: dict[str, list[Any]] = {}
        if "template" in data:
            template = _merged_template(row.template, data["template"])
            customer = _customer(shop_id, template, actor_id)
            _check_recipient_phone(shop, template)
            _check_products(shop_id, template)
            stored = _stored_template(template, customer.id)
            if stored != row.template:
                row.template = stored
                changes["template"] = ["***", "***"]  # personal data: that it changed, not what it said
            changes.update(audit.apply_changes(row, {"customer_id": customer.id}))
        series = {k: data[k] for k in ("rule", "starts_on", "ends_on", "count", "lead_days") if k in data}
        if series.get("ends_on") and series.get("count") is None and row.count and "count" not in data:
            series["count"] = None  # an end date replaces a count
        if series.get("count") and row.ends_on and "ends_on" not in data:
            series["ends_on"] = None
        changes.update(audit.apply_changes(row, series))
        if row.ends_on and row.ends_on < row.starts_on:
            raise RuleViolation("The end comes before the start.", errors={"ends_on": ["Before starts_on."]})
        if changes:
            if not row.paused:
                _schedule(row, shop, now)
            row.version += 1
            audit.record(
                shop_id=shop_id,
                actor_id=actor_id,
                action="update",
                entity_type="standing_order",
                entity_id=row.id,
                changes=changes,
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def delete_standing_order(*, shop_id: int, standing_order_id: int, actor_id: int | None) -> None:
    """The series and its dates' records go; the orders already made stay, as any order."""
    row = _locked(shop_id, standing_order_id)
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="delete",
        entity_type="standing_order",
        entity_id=row.id,
        changes={"rule": [row.rule, None]},
    )
    db.session.delete(row)
    db.session.commit()


def _locked(shop_id: int, standing_order_id: int) -> StandingOrder:
    row = db.session.scalars(
        select(StandingOrder)
        .where(StandingOrder.id == standing_order_id, StandingOrder.shop_id == shop_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFoundError("Standing order not found.")
    return row


def _insert_occurrence(row: StandingOrder, day: date, status: str, problem: str = "") -> int | None:
    """Claim the date: the new row's id, or None when the date already has one (made, skipped or failed)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return db.session.execute(
        dialect.insert(StandingOccurrence)
        .values(
            shop_id=row.shop_id, standing_order_id=row.id, date=day, status=status, problem=problem, created_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["standing_order_id", "date"])
        .returning(StandingOccurrence.id)
    ).scalar_one_or_none()


def skip_date(
    *, shop_id: int, standing_order_id: int, actor_id: int | None, day: date, now: datetime | None = None
) -> StandingOrder:
    """One date of the series is not made. A date whose order is made already is changed on the order instead."""
    now = now or utcnow()
    try:
        row = _locked(shop_id, standing_order_id)
        shop = db.session.get(Shop, shop_id)
        if day < local_today(shop, now):
            raise RuleViolation("That date has passed.", errors={"date": ["In the past."]})
        if rules.first_on_or_after(_series_of(row), day) != day:
            raise RuleViolation(
                "The series does not fall on that date.", errors={"date": ["Not a date of the series."]}
            )
        if _insert_occurrence(row, day, "skipped") is None:
            existing = db.session.scalars(
                select(StandingOccurrence).where(
                    StandingOccurrence.standing_order_id == row.id, StandingOccurrence.date == day
                )
            ).one()
            if existing.status != "skipped":
                raise ConflictError(
                    "The order for that date is made already; change or cancel the order itself.",
                    errors={"date": ["Already made."], "order_id": existing.order_id},
                )
        else:
            row.version += 1
            audit.record(
                shop_id=shop_id,
                actor_id=actor_id,
                action="skip",
                entity_type="standing_order",
                entity_id=row.id,
                changes={"skipped": [None, day.isoformat()]},
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def set_paused(
    *, shop_id: int, standing_order_id: int, actor_id: int | None, paused: bool, now: datetime | None = None
) -> StandingOrder:
    """Pause: no date is made until resumed. Resume: from today on (dates that passed meanwhile are not made)."""
    now = now or utcnow()
    row = _locked(shop_id, standing_order_id)
    if row.paused != paused:
        row.paused = paused
        if not paused:
            _schedule(row, db.session.get(Shop, shop_id), now)
        row.version += 1
        audit.record(
            shop_id=shop_id,
            actor_id=actor_id,
            action="pause" if paused else "resume",
            entity_type="standing_order",
            entity_id=row.id,
            changes={"paused": [not paused, paused]},
        )
    db.session.commit()
    return row


# --- the scan ----------------------------------------------------------------------------------


def make_due_occurrences(now: datetime | None = None, part: int = 0, parts: int = 1) -> int:
    """The scan: make the order of every date whose day to make it (date − lead_days) has come in its
    shop's time zone; how many dates were made (or failed, with the reason). Safe to run twice at once.
    `part` of `parts`: only the shops whose id % parts == part (one of the SCAN_JOBS cron jobs)."""
    now = now or utcnow()
    horizon = now.date() + timedelta(days=1)  # no shop's local date is later than UTC's next day
    due = db.session.execute(
        select(StandingOrder.id, StandingOrder.due_on, Shop.timezone)
        .join(Shop, Shop.id == StandingOrder.shop_id)
        .where(
            StandingOrder.paused.is_(False),
            StandingOrder.due_on.is_not(None),
            StandingOrder.due_on <= horizon,
            StandingOrder.shop_id % parts == part,
        )
        .order_by(StandingOrder.shop_id, StandingOrder.id)  # shop by shop: see _make_batch
    ).all()
    db.session.commit()  # read only: ends the snapshot before the per-date transactions
    ids = [series_id for series_id, due_on, zone in due if due_on <= now.astimezone(ZoneInfo(zone)).date()]
    handled = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        try:
            handled += _make_batch(chunk, now)
            continue
        except Exception:  # create_order said no (and rolled the batch back), or a date needs care
            db.session.rollback()
        for series_id in chunk:  # date by date, each in its own transaction
            try:
                while outcome := make_next(series_id, now):
                    handled += outcome != "existing"
            except Exception:  # one broken series must not stop the others; the next scan tries it again
                db.session.rollback()
                log.exception("standing order %s: the scan failed on it", series_id)
    log.info("standing order scan made or failed %d date(s)", handled)
    return handled


class _NeedsCare(Exception):
    """A date of the batch that cannot go the usual way: the batch is done again date by date."""


def _make_batch(series_ids: list[int], now: datetime) -> int:
    """The usual case in one transaction for up to BATCH series: every due date made by plain intake. Any date
    intake refuses (or that has passed) undoes the batch, which is then made date by date (`make_next`).

    The series come shop by shop, so a batch spans as few shops as it can: the commit renders and logs events
    once per shop (fewer statements per order than a batch spread over 50 shops), and the shops' number
    counters are taken in shop order, so two scans at once queue on them rather than deadlock."""
    rows = db.session.scalars(
        select(StandingOrder)
        .options(lazyload("*"))
        .where(StandingOrder.id.in_(series_ids), StandingOrder.paused.is_(False), StandingOrder.due_on.is_not(None))
        .order_by(StandingOrder.shop_id, StandingOrder.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    if not rows:  # another scan holds them
        db.session.commit()
        return 0
    shops = {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_({r.shop_id for r in rows})))}
    # The dates these locked series already have (skipped, or made before a change): passed over, not made.
    recorded = set(
        db.session.execute(
            select(StandingOccurrence.standing_order_id, StandingOccurrence.date).where(
                StandingOccurrence.standing_order_id.in_([r.id for r in rows]),
                StandingOccurrence.date >= min((r.next_date for r in rows if r.next_date), default=now.date()),
            )
        ).all()
    )
    # Each shop's intake reads its customers with the shop (`create_orders`), and the intake's reads that hold for the
    # transaction (the dates' windows, florist-minute limits, products) once: app/common/memo.py.
    with memo.batch():
        made, moved = _make_dates(rows, shops, recorded, now)
    # The series move on only now: changed earlier, each would be flushed (one UPDATE) by the next order's
    # first query; now they go in the commit's flush, all at once.
    for row, next_date, due_on in moved:
        row.next_date, row.due_on = next_date, due_on
    if made:  # the unique key still guards: a clash undoes the batch, which is then made date by date
        db.session.execute(insert(StandingOccurrence), made)
    db.session.commit()
    return len(made)


def _make_dates(
    rows: list[StandingOrder], shops: dict[int, Shop], recorded: set[tuple[int, date]], now: datetime
) -> tuple[list[dict[str, Any]], list[tuple[StandingOrder, date | None, date | None]]]:
    """Each due date of the locked series made by plain intake, a shop's dates in one `create_orders` call: the
    occurrences to record, and the series' new dates."""
    due: dict[int, list[tuple[StandingOrder, date]]] = {}
    moved: list[tuple[StandingOrder, date | None, date | None]] = []
    for row in rows:
        today = local_today(shops[row.shop_id], now)
        next_date, due_on = row.next_date, row.due_on
        while due_on is not None and due_on <= today:
            day = next_date
            if day < today:
                raise _NeedsCare(row.id)
            if (row.id, day) not in recorded:
                due.setdefault(row.shop_id, []).append((row, day))
            next_date, due_on = _after(row, day)
        moved.append((row, next_date, due_on))
    made: list[dict[str, Any]] = []
    for shop_id, dates in due.items():  # shop by shop, in the order the rows came (their number counters' order)
        shop = shops[shop_id]
        placed = orders.create_orders(
            shop_id=shop_id,
            actor_id=None,
            batch=[_order_data(row, shop, day, []) for row, day in dates],
            now=now,
            commit=False,
        )
        made.extend(
            {
                "shop_id": shop_id,
                "standing_order_id": row.id,
                "date": day,
                "status": "made",
                "order_id": order.id,
                "problem": "",
                "created_at": utcnow(),
            }
            for (row, day), order in zip(dates, placed, strict=True)
        )
    return made, moved


def _claim_series(series_id: int, now: datetime) -> tuple[StandingOrder, Shop, date] | None:
    """The series locked for this scan and its due date, or None (another scan holds it, or nothing is due)."""
    row = db.session.scalars(
        select(StandingOrder)
        .options(lazyload("*"))
        .where(StandingOrder.id == series_id, StandingOrder.paused.is_(False), StandingOrder.due_on.is_not(None))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    shop = db.session.get(Shop, row.shop_id)
    if row.due_on > local_today(shop, now):
        return None
    return row, shop, row.next_date


def _after(row: StandingOrder, day: date) -> tuple[date | None, date | None]:
    """The series' next date after `day` and the day to make it; (None, None): the series is over."""
    next_date = rules.following(_series_of(row), day)
    return next_date, next_date - timedelta(days=row.lead_days) if next_date else None


def _advance(row: StandingOrder, day: date) -> None:
    row.next_date, row.due_on = _after(row, day)


def _problem(exc: DomainError) -> str:
    errors = exc.errors or {}
    if isinstance(exc, ConflictError) and "window" in errors:
        return f"window_{errors.get('reason', 'closed')}"
    if isinstance(exc, ConflictError) and "workshop" in errors:
        return "workshop_full"
    if "items" in errors:
        return "product_off_sale"
    if "promo_code" in errors:
        return "promo_refused"
    if "pickup_time" in errors:
        return "pickup_passed"
    if "customer_id" in errors or "customer" in errors:
        return "customer_gone"
    return "refused"


def _language(shop: Shop) -> str:
    return "ru" if shop.country in ("RU", "BY", "KZ") else "en"


def _order_data(row: StandingOrder, shop: Shop, day: date, codes: list[str]) -> dict[str, Any]:
    data = {**row.template, "delivery_date": day, "source": "phone"}
    if "promo_refused" in codes:
        data.pop("promo_code", None)
    if codes:
        language = _language(shop)
        note = NOTE[language].format(series=row.id, problem=alerts.describe(codes, language))
        comment = (data.get("comment") or "")[: COMMENT_LIMIT - len(note) - 1]
        data["comment"] = f"{comment}\n{note}" if comment else note
    return data


def make_next(series_id: int, now: datetime) -> str | None:
    """Handle the series' next due date in one transaction: "made", "failed", "existing" (the date had its row:
    skipped, or made before a change of the series), or None when nothing (more) is due for this scan."""
    codes: list[str] = []
    for _attempt in range(4):
        claimed = _claim_series(series_id, now)
        if claimed is None:
            db.session.rollback()
            return None
        row, shop, day = claimed
        occurrence_id = _insert_occurrence(row, day, "made", problem=",".join(codes))
        if occurrence_id is None:  # skipped by a manager, or made before a change of the series
            _advance(row, day)
            db.session.commit()
            return "existing"
        if day < local_today(shop, now):
            return _give_up(row, shop, occurrence_id, day, ["date_passed"])
        try:
            order = orders.create_order(
                shop_id=row.shop_id,
                actor_id=None,
                data=_order_data(row, shop, day, codes),
                now=now,
                commit=False,
                lenient=bool(set(codes) - {"promo_refused", "workshop_full"}),
                workshop_lenient="workshop_full" in codes,
            )
        except DomainError as exc:  # create_order rolled the transaction back: claim and lock are gone
            problem = _problem(exc)
            if problem not in FIXABLE or problem in codes:
                return _record_failure(series_id, now, [*codes, problem])
            codes.append(problem)
            continue
        db.session.execute(
            update(StandingOccurrence)
            .where(StandingOccurrence.id == occurrence_id)
            .values(order_id=order.id, problem=",".join(codes))
        )
        _advance(row, day)
        if codes:
            alerts.tell_managers(shop=shop, series_id=row.id, day=day, codes=codes, order=order)
        db.session.commit()
        return "made"
    return _record_failure(series_id, now, codes or ["refused"])


def _record_failure(series_id: int, now: datetime, codes: list[str]) -> str | None:
    claimed = _claim_series(series_id, now)
    if claimed is None:
        db.session.rollback()
        return None
    row, shop, day = claimed
    occurrence_id = _insert_occurrence(row, day, "failed")
    if occurrence_id is None:
        _advance(row, day)
        db.session.commit()
        return "existing"
    return _give_up(row, shop, occurrence_id, day, codes)


def _give_up(row: StandingOrder, shop: Shop, occurrence_id: int, day: date, codes: list[str]) -> str:
    """No order for this date: the occurrence says why, the managers are told, the series moves on."""
    db.session.execute(
        update(StandingOccurrence)
        .where(StandingOccurrence.id == occurrence_id)
        .values(status="failed", problem=",".join(codes))
    )
    _advance(row, day)
    alerts.tell_managers(shop=shop, series_id=row.id, day=day, codes=codes, order=None)
    db.session.commit()
    log.warning("standing order %s: no order for %s (%s)", row.id, day.isoformat(), ",".join(codes))
    return "failed"
