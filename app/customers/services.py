"""Customers and their occasion dates: CRUD, search, and the customer's own part of export and anonymization.

`app.privacy` exports and anonymizes a customer everywhere they are kept, this module's part among them.

The audit entries of a customer and of their dates are all filed under the customer
(entity_type "customer"), so the export can hand them over and anonymization can erase the
personal values in them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.common.pagination import page_of
from app.common.phones import InvalidPhone, normalize_phone
from app.common.types import utcnow
from app.customers.models import Customer, OccasionDate
from app.customers.schemas import day_exists
from app.errors import ConflictError, NotFoundError, PreconditionFailed, RuleViolation
from app.extensions import db
from app.orders.models import Order
from app.shops.models import Shop
from app.shops.services import shop_language
from app.warehouse.services import version_tag

CUSTOMER_FIELDS = ["phone", "name", "email", "language", "notes", "marketing_consent", "telegram_chat_id"]
DATE_FIELDS = ["label", "month", "day", "year", "remind_days_before", "reminders_enabled"]
# What anonymization leaves readable in the customer's audit entries: nothing that names or reaches a person.
NOT_PERSONAL = {
    "language",
    "marketing_consent",
    "consent_changed_at",
    "anonymized_at",
    "remind_days_before",
    "reminders_enabled",
    "date_id",
}
ERASED = "[erased]"
ENTITY = "customer"


def _matches(if_match: str, tag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    return "*" in candidates or tag in candidates


def _record(shop_id: int, actor_id: int | None, action: str, customer_id: int, changes: dict[str, Any]) -> None:
    audit.record(
        shop_id=shop_id, actor_id=actor_id, action=action, entity_type=ENTITY, entity_id=customer_id, changes=changes
    )


def _phone(shop_id: int, raw: str, field: str) -> str:
    region = db.session.get(Shop, shop_id).country
    try:
        return normalize_phone(raw, region)
    except InvalidPhone as exc:
        raise RuleViolation("Not a valid phone number.", errors={field: [str(exc)]}) from None


def _phone_taken(shop_id: int, phone: str, existing_id: int | None) -> ConflictError:
    errors: dict[str, Any] = {"phone": ["Another customer of this shop has this phone."]}
    if existing_id is not None:
        errors["customer_id"] = existing_id
    return ConflictError("A customer with this phone already exists; open their record instead.", errors=errors)


def _customer_with_phone(shop_id: int, phone: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.shop_id == shop_id, Customer.phone == phone)).first()


def _flush_unique_phone(shop_id: int, phone: str | None, new: Customer | None = None) -> None:
    try:
        # A new customer is added inside the savepoint, so a conflict undoes it and leaves the session clean.
        with db.session.begin_nested():
            if new is not None:
                db.session.add(new)
            db.session.flush()
    except IntegrityError:  # a concurrent request saved the same phone first
        existing = _customer_with_phone(shop_id, phone) if phone else None
        raise _phone_taken(shop_id, phone or "", existing.id if existing else None) from None


# --- customers -------------------------------------------------------------------------------


def get_customer(*, shop_id: int, customer_id: int, lock: bool = False) -> Customer:
    """The shop's customer; another shop's, or none, is 404."""
    stmt = select(Customer).where(Customer.id == customer_id, Customer.shop_id == shop_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    customer = db.session.scalars(stmt).first()
    if customer is None:
        raise NotFoundError("Customer not found.")
    return customer


def customer_tag(customer: Customer) -> str:
    """The customer's ETag."""
    return version_tag(customer)


def create_customer(*, shop_id: int, actor_id: int | None, data: dict[str, Any], commit: bool = True) -> Customer:
    data = {**data, "phone": _phone(shop_id, data["phone"], "phone")}
    existing = _customer_with_phone(shop_id, data["phone"])
    if existing is not None:
        raise _phone_taken(shop_id, data["phone"], existing.id)
    return _add_customer(shop_id, actor_id, data, commit=commit)


def _add_customer(shop_id: int, actor_id: int | None, data: dict[str, Any], *, commit: bool) -> Customer:
    """A new customer with a normalized phone nobody in the shop was found with (the unique key still guards)."""
    if not data.get("language"):
        data["language"] = shop_language(db.session.get(Shop, shop_id).country)
    customer = Customer(shop_id=shop_id, **data)
    if customer.marketing_consent:
        customer.consent_changed_at = utcnow()
    _flush_unique_phone(shop_id, data["phone"], new=customer)
    _record(shop_id, actor_id, "create", customer.id, audit.snapshot(customer, CUSTOMER_FIELDS))
    if commit:
        db.session.commit()
    return customer


def find_or_create_customer(
    *, shop_id: int, actor_id: int | None, name: str, phone: str, error_field: str = "phone"
) -> Customer:
    """The shop's customer with this phone, or a new one with this name (for order intake); does not commit.

    An invalid phone is RuleViolation naming `error_field`.
    """
    normalized = _phone(shop_id, phone, error_field)
    existing = _customer_with_phone(shop_id, normalized)
    if existing is not None:
        return existing
    try:
        return _add_customer(shop_id, actor_id, {"phone": normalized, "name": name}, commit=False)
    except ConflictError:  # created by a concurrent order just now: use theirs
        existing = _customer_with_phone(shop_id, normalized)
        if existing is None:
            raise
        return existing


def _refuse_if_anonymized(customer: Customer) -> None:
    if customer.anonymized_at is not None:
        raise ConflictError(
            "This customer was anonymized; their record can no longer change.",
            errors={"customer": ["Anonymized."]},
        )


def update_customer(
    *, shop_id: int, customer_id: int, actor_id: int | None, data: dict[str, Any], if_match: str | None = None
) -> Customer:
    """Change a customer; with `if_match`, only if nobody changed them since that version (else 412)."""
    customer = get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    if if_match is not None and not _matches(if_match, customer_tag(customer)):
        raise PreconditionFailed(
            "The customer was changed since you read them; reload and try again.",
            errors={"headers": {"If-Match": ["Does not match the current version."]}},
        )
    _refuse_if_anonymized(customer)
    data = dict(data)
    if "phone" in data:
        data["phone"] = _phone(shop_id, data["phone"], "phone")
        existing = _customer_with_phone(shop_id, data["phone"])
        if existing is not None and existing.id != customer.id:
            raise _phone_taken(shop_id, data["phone"], existing.id)
    changes = audit.apply_changes(customer, data)
    if not changes:
        return customer
    if "marketing_consent" in changes:
        stamp = utcnow()
        before = customer.consent_changed_at
        changes["consent_changed_at"] = [before.isoformat() if before else None, stamp.isoformat()]
        customer.consent_changed_at = stamp
    _flush_unique_phone(shop_id, customer.phone)
    _record(shop_id, actor_id, "update", customer.id, changes)
    db.session.commit()
    return customer


def _has_orders(shop_id: int, customer_id: int) -> bool:
    """Whether any order names the customer."""
    return bool(db.session.scalar(select(exists().where(Order.shop_id == shop_id, Order.customer_id == customer_id))))


def delete_customer(*, shop_id: int, customer_id: int, actor_id: int | None) -> None:
    """DELETE: a customer without orders goes for good; one with orders must be anonymized instead (409)."""
    customer = get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    refusal = ConflictError(
        "The customer has orders, which the books keep; anonymize the customer instead.",
        errors={"customer": ["Has orders: use POST /customers/{id}/anonymize."]},
    )
    if _has_orders(shop_id, customer_id):
        raise refusal
    _scrub_audit(shop_id, customer_id)
    db.session.delete(customer)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # an order was saved for them meanwhile
        raise refusal from None
    _record(shop_id, actor_id, "delete", customer_id, {})
    db.session.commit()


def customers_query(
    *,
    shop_id: int,
    q: str | None = None,
    marketing_consent: bool | None = None,
    language: str | None = None,
    anonymized: bool | None = None,
) -> Select:
    """The shop's customers matching the filters; `q` matches part of the name or the phone's digits."""
    stmt = select(Customer).where(Customer.shop_id == shop_id)
    stmt = stmt.where(Customer.anonymized_at.is_not(None) if anonymized else Customer.anonymized_at.is_(None))
    if marketing_consent is not None:
        stmt = stmt.where(Customer.marketing_consent.is_(marketing_consent))
    if language:
        stmt = stmt.where(Customer.language == language)
    if q:
        # Both served by trigram GIN indexes on PostgreSQL (ix_customers_name_trgm, ix_customers_phone_trgm).
        matches = [Customer.name.icontains(q.strip(), autoescape=True)]
        digits = re.sub(r"\D", "", q)
        if digits:
            matches.append(Customer.phone.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    return stmt


def list_customers(*, page: int, page_size: int, **filters: Any) -> tuple[list[Customer], int]:
    """Newest first; see `customers_query` for the filters (shop_id, q, marketing_consent, language, anonymized)."""
    stmt = customers_query(**filters).order_by(Customer.created_at.desc(), Customer.id.desc())
    return page_of(stmt, page=page, page_size=page_size)


# --- occasion dates --------------------------------------------------------------------------


def list_dates(*, shop_id: int, customer_id: int, page: int, page_size: int) -> tuple[list[OccasionDate], int]:
    get_customer(shop_id=shop_id, customer_id=customer_id)
    stmt = (
        select(OccasionDate)
        .where(OccasionDate.shop_id == shop_id, OccasionDate.customer_id == customer_id)
        .order_by(OccasionDate.month, OccasionDate.day, OccasionDate.id)
    )
    return page_of(stmt, page=page, page_size=page_size)


def get_date(*, shop_id: int, customer_id: int, date_id: int) -> OccasionDate:
    occasion = db.session.scalars(
        select(OccasionDate).where(
            OccasionDate.id == date_id, OccasionDate.customer_id == customer_id, OccasionDate.shop_id == shop_id
        )
    ).first()
    if occasion is None:
        raise NotFoundError("Date not found.")
    return occasion


def _require_real_day(month: int, day: int, year: int | None) -> None:
    if not day_exists(month, day, year):
        raise RuleViolation("No such day in that month.", errors={"day": ["No such day in that month."]})


def add_date(*, shop_id: int, customer_id: int, actor_id: int | None, data: dict[str, Any]) -> OccasionDate:
    customer = get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    _refuse_if_anonymized(customer)
    _require_real_day(data["month"], data["day"], data.get("year"))
    occasion = OccasionDate(shop_id=shop_id, customer_id=customer.id, **data)
    db.session.add(occasion)
    db.session.flush()
    changes = {"date_id": [None, occasion.id], **audit.snapshot(occasion, DATE_FIELDS)}
    _record(shop_id, actor_id, "add_date", customer.id, changes)
    db.session.commit()
    return occasion


def update_date(
    *, shop_id: int, customer_id: int, date_id: int, actor_id: int | None, data: dict[str, Any]
) -> OccasionDate:
    customer = get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    occasion = get_date(shop_id=shop_id, customer_id=customer.id, date_id=date_id)
    _refuse_if_anonymized(customer)
    merged = {field: data.get(field, getattr(occasion, field)) for field in ("month", "day", "year")}
    _require_real_day(**merged)
    changes = audit.apply_changes(occasion, data)
    if not changes:
        return occasion
    _record(shop_id, actor_id, "update_date", customer.id, {"date_id": [date_id, date_id], **changes})
    db.session.commit()
    return occasion


def delete_date(*, shop_id: int, customer_id: int, date_id: int, actor_id: int | None) -> None:
    customer = get_customer(shop_id=shop_id, customer_id=customer_id, lock=True)
    occasion = get_date(shop_id=shop_id, customer_id=customer.id, date_id=date_id)
    db.session.delete(occasion)
    _record(shop_id, actor_id, "delete_date", customer.id, {"date_id": [date_id, None]})
    db.session.commit()


# --- export and anonymization ----------------------------------------------------------------


def _audit_entries(shop_id: int, customer_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.shop_id == shop_id,
                AuditEntry.entity_type == ENTITY,
                AuditEntry.entity_id == str(customer_id),
            )
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
    )


def export_record(*, shop_id: int, customer_id: int) -> dict[str, Any]:
    """The customer's own part of their export: the record, the dates and the audit trail."""
    customer = get_customer(shop_id=shop_id, customer_id=customer_id)
    dates = db.session.scalars(
        select(OccasionDate)
        .where(OccasionDate.shop_id == shop_id, OccasionDate.customer_id == customer_id)
        .order_by(OccasionDate.month, OccasionDate.day, OccasionDate.id)
    ).all()
    return {
        "customer": customer,
        "dates": list(dates),
        "audit": [
            {
                "at": entry.created_at.isoformat(),
                "action": entry.action,
                "actor_id": entry.actor_id,
                "changes": entry.changes,
            }
            for entry in _audit_entries(shop_id, customer_id)
        ],
    }


def _scrub_audit(shop_id: int, customer_id: int) -> None:
    """Erase the personal values the customer's audit entries hold; who did what, and when, stays."""
    for entry in _audit_entries(shop_id, customer_id):
        scrubbed = {
            field: (values if field in NOT_PERSONAL else [None if v is None else ERASED for v in values])
            for field, values in (entry.changes or {}).items()
        }
        if scrubbed != entry.changes:
            entry.changes = scrubbed  # a new dict, so the JSON column saves


def erase_record(customer: Customer, *, actor_id: int | None, now: datetime) -> None:
    """Erase the customer's personal data from their record, their dates and their audit entries.

    The customer's own part of anonymization (the caller holds the customer's row lock). Does not commit.
    """
    shop_id, customer_id = customer.shop_id, customer.id
    customer.phone = None
    customer.name = ""
    customer.email = None
    customer.notes = ""
    customer.telegram_chat_id = None
    if customer.marketing_consent:
        customer.marketing_consent = False
        customer.consent_changed_at = now
    customer.anonymized_at = now
    # No date left, no consent: no reminder is ever due for them again.
    db.session.execute(
        delete(OccasionDate)
        .where(OccasionDate.shop_id == shop_id, OccasionDate.customer_id == customer_id)
        .execution_options(synchronize_session="fetch")
    )
    _scrub_audit(shop_id, customer_id)
    _record(shop_id, actor_id, "anonymize", customer_id, {"anonymized_at": [None, now.isoformat()]})
