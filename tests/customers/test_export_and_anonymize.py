"""A customer's data handed over whole, and erased for good while the books keep their orders."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.courier import services as couriers
from app.courier.models import Delivery
from app.customers.models import Customer, OccasionDate
from app.extensions import db
from app.messaging.models import MessageLog
from app.orders.models import Order, OrderStatusChange
from app.production.models import ProductionTask
from tests.customers.customerdata import make_customer, make_date
from tests.orders.orderdata import delivery, open_shop, place
from tests.production.workshop import photo
from tests.warehouse.stockdata import staff_client

URL = "/api/v1/customers"
PERSONAL = {
    "name": "Olga Petrova",
    "phone": "+79161112233",
    "email": "olga@example.test",
    "notes": "Allergic to lilies",
    "telegram_chat_id": "555000111",
}


@pytest.fixture
def manager(app, shop):
    return staff_client(app, shop, "manager")


@pytest.fixture
def olga(shop, manager):
    """A customer with every personal field filled, changed once, with two dates."""
    customer = make_customer(shop, **PERSONAL, marketing_consent=True, language="en")
    manager.patch(f"{URL}/{customer.id}", json={"notes": PERSONAL["notes"] + ", loves tulips"})
    make_date(customer, "Daughter Masha's birthday", 2, 29, year=2012)
    make_date(customer, "Wedding anniversary", 6, 21, remind_days_before=5)
    return customer


PERSONAL_VALUES = [*PERSONAL.values(), "tulips", "Masha", "Wedding anniversary"]


def test_export_holds_the_customer_their_dates_and_their_audit_trail(manager, shop, olga):
    make_customer(shop, name="Boris", phone="+79035550000")  # somebody else

    response = manager.get(f"{URL}/{olga.id}/export")

    assert response.status_code == 200
    body = response.json
    assert body["customer"]["id"] == olga.id
    assert {k: body["customer"][k] for k in PERSONAL} == {**PERSONAL, "notes": PERSONAL["notes"] + ", loves tulips"}
    assert body["customer"]["marketing_consent"] is True
    assert [(d["label"], d["month"], d["day"], d["year"]) for d in body["dates"]] == [
        ("Daughter Masha's birthday", 2, 29, 2012),
        ("Wedding anniversary", 6, 21, None),
    ]
    assert [a["action"] for a in body["audit"]] == ["create", "update", "add_date", "add_date"]
    assert body["audit"][1]["actor_id"] == manager.user.id
    assert body["audit"][1]["changes"]["notes"] == [PERSONAL["notes"], PERSONAL["notes"] + ", loves tulips"]
    assert body["orders"] == []
    assert "Boris" not in response.get_data(as_text=True)


def test_export_includes_the_customers_orders(manager, shop):
    front = open_shop(shop)
    order = place(front, delivery(front, customer={"name": "Olga Petrova", "phone": "+79161112233"}))
    place(front, delivery(front, customer={"name": "Boris", "phone": "+79035550000"}, card_text="For Boris's wife"))

    body = manager.get(f"{URL}/{order.customer_id}/export").json

    assert [o["id"] for o in body["orders"]] == [order.id]
    assert body["orders"][0]["card_text"] == "Happy birthday, Ira!"
    assert "For Boris's wife" not in json.dumps(body)


def test_anonymize_erases_every_personal_field_and_every_date(manager, shop, olga):
    response = manager.post(f"{URL}/{olga.id}/anonymize")

    assert response.status_code == 200
    body = response.json
    assert {k: body[k] for k in (*PERSONAL, "marketing_consent")} == {
        "name": "",
        "phone": None,
        "email": None,
        "notes": "",
        "telegram_chat_id": None,
        "marketing_consent": False,
    }
    assert body["anonymized_at"] is not None
    assert body["consent_changed_at"] == body["anonymized_at"]
    # No date and no consent: the reminder scan has nothing to send them, ever.
    assert db.session.scalar(select(func.count()).where(OccasionDate.customer_id == olga.id)) == 0
    # Nothing personal survives anywhere the shop can read: the record, the export, the audit log.
    exported = manager.get(f"{URL}/{olga.id}/export").get_data(as_text=True)
    audit_log = json.dumps(
        [e.changes for e in db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop.id))]
    )
    for value in PERSONAL_VALUES:
        assert value not in exported, value
        assert value not in audit_log, value
    assert json.loads(exported)["dates"] == []
    assert [a["action"] for a in json.loads(exported)["audit"]][-1] == "anonymize"


def test_anonymize_twice_answers_the_same_and_logs_once(manager, olga):
    first = manager.post(f"{URL}/{olga.id}/anonymize")
    second = manager.post(f"{URL}/{olga.id}/anonymize")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json == second.json
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(olga.id))).all()
    assert actions.count("anonymize") == 1


def test_an_anonymized_customer_cannot_be_filled_in_again_but_their_phone_can_join_anew(manager, olga):
    manager.post(f"{URL}/{olga.id}/anonymize")

    patched = manager.patch(f"{URL}/{olga.id}", json={"name": "Olga", "marketing_consent": True})
    dated = manager.post(f"{URL}/{olga.id}/dates", json={"label": "Birthday", "month": 1, "day": 1})
    again = manager.post(URL, json={"name": "Olga Petrova", "phone": PERSONAL["phone"]})

    assert (patched.status_code, patched.json["errors"]) == (409, {"customer": ["Anonymized."]})
    assert dated.status_code == 409
    assert again.status_code == 201 and again.json["id"] != olga.id  # a new customer, not the old record


def test_anonymize_erases_the_recipient_details_of_their_orders_and_keeps_the_money(manager, shop):
    front = open_shop(shop)
    order = place(front, delivery(front))
    total = order.total

    response = manager.post(f"{URL}/{order.customer_id}/anonymize")

    assert response.status_code == 200
    kept = db.session.scalars(select(Order).where(Order.id == order.id).execution_options(populate_existing=True)).one()
    assert (kept.recipient_name, kept.recipient_phone, kept.address, kept.card_text) == ("", None, None, "")
    assert kept.total == total
    exported = manager.get(f"{URL}/{order.customer_id}/export").get_data(as_text=True)
    for value in ("Olga Petrova", "+79161112233", "Irina Sokolova", "+79162223344", "Arbat", "Happy birthday"):
        assert value not in exported, value


def test_delete_refuses_a_customer_with_orders(manager, shop):
    front = open_shop(shop)
    order = place(front, delivery(front))

    response = manager.delete(f"{URL}/{order.customer_id}")

    assert response.status_code == 409
    assert response.json["errors"] == {"customer": ["Has orders: use POST /customers/{id}/anonymize."]}
    assert db.session.get(Customer, order.customer_id) is not None


def _message(customer, kind: str, status: str, context: dict, *, sent: datetime | None = None) -> MessageLog:
    row = MessageLog(
        shop_id=customer.shop_id,
        customer_id=customer.id,
        kind=kind,
        channel="sms",
        recipient_masked="+7916***2233",
        template=kind,
        language="en",
        status=status,
        attempts=1 if sent else 0,
        occurrence_key=f"{kind}:{customer.id}:{status}",
        context=context,
        sent_at=sent,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_export_includes_the_messages_sent_to_the_customer(manager, shop, olga):
    sent_at = datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
    reminder = _message(olga, "occasion_reminder", "sent", {"name": "Olga Petrova", "label": "Wedding"}, sent=sent_at)
    boris = make_customer(shop, name="Boris", phone="+79035550000")
    _message(boris, "occasion_reminder", "sent", {"name": "Boris"}, sent=sent_at)

    body = manager.get(f"{URL}/{olga.id}/export").json

    assert [
        (m["id"], m["kind"], m["channel"], m["recipient"], m["status"], m["attempts"]) for m in body["messages"]
    ] == [(reminder.id, "occasion_reminder", "sms", "+7916***2233", "sent", 1)]
    assert datetime.fromisoformat(body["messages"][0]["sent_at"]) == sent_at
    assert datetime.fromisoformat(body["messages"][0]["created_at"]) == reminder.created_at


@pytest.fixture
def olgas_order_with_its_trip(app, shop, manager, tmp_media):
    """Olga's order confirmed (a florist's task holds the card), then a failed trip with a comment and a photo."""
    front = open_shop(shop)
    order = place(front, delivery(front, card_text="For Ira, love from Olga"))
    assert manager.post(f"/api/v1/orders/{order.id}/status", json={"status": "confirmed"}).status_code == 200
    courier = staff_client(app, shop, "courier")
    db.session.commit()
    db.session.get(Order, order.id).status = "ready"  # as the florists would leave it
    db.session.commit()
    couriers.assign_courier(shop_id=shop.id, order_id=order.id, courier_id=courier.user.id, actor_id=None)
    db.session.get(Order, order.id).status = "out_for_delivery"
    db.session.commit()
    deliveries = f"/api/v1/courier/deliveries/{order.id}"
    uploaded = courier.put(f"{deliveries}/photo", data={"photo": (io.BytesIO(photo()), "door.jpg")})
    assert uploaded.status_code == 200, uploaded.json
    failed = courier.post(f"{deliveries}/fail", json={"reason": "other", "comment": "Neighbour Anna Ivanova took it"})
    assert failed.status_code == 200, failed.json
    return order


def _fresh(model, **where):
    db.session.expire_all()
    return db.session.scalars(select(model).filter_by(**where)).all()


def test_anonymize_erases_the_card_on_the_florists_tasks_and_the_couriers_notes_and_photo(
    manager, olgas_order_with_its_trip, tmp_media
):
    order = olgas_order_with_its_trip
    (trip,) = _fresh(Delivery, order_id=order.id)
    photo_file = tmp_media / trip.photo_key
    assert photo_file.exists()
    assert [t.card_text for t in _fresh(ProductionTask, order_id=order.id)] == ["For Ira, love from Olga"]

    assert manager.post(f"{URL}/{order.customer_id}/anonymize").status_code == 200

    assert [t.card_text for t in _fresh(ProductionTask, order_id=order.id)] == [""]
    (trip,) = _fresh(Delivery, order_id=order.id)
    assert (trip.failure_comment, trip.photo_key, trip.failure_reason) == ("", None, "other")
    assert not photo_file.exists()
    assert list(tmp_media.rglob("*.jpg")) == []
    history = _fresh(OrderStatusChange, order_id=order.id)
    assert [h.to_status for h in history] == ["new", "confirmed", "delivery_failed"]  # the books keep the story
    leftovers = json.dumps(
        [
            manager.get(f"{URL}/{order.customer_id}/export").json,
            [h.comment for h in history],
            [e.changes for e in _fresh(AuditEntry, entity_type="order", entity_id=str(order.id))],
        ]
    )
    for value in ("Anna Ivanova", "love from Olga", photo_file.name):
        assert value not in leftovers, value
    card = manager.get(f"/api/v1/courier/deliveries/{order.id}").json
    assert (card["failure_comment"], card["photo_url"]) == ("", None)


def test_anonymize_erases_the_personal_values_of_their_message_log_and_stops_what_is_queued(manager, shop, olga):
    sent_at = datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
    context = {"shop": shop.name, "name": "Olga Petrova", "label": "Wedding anniversary", "date": "21 June"}
    sent = _message(olga, "occasion_reminder", "sent", {**context, "occasion_id": 7}, sent=sent_at)
    queued = _message(olga, "order_status", "queued", {"shop": shop.name, "number": "0601-0001", "name": "Olga"})
    boris = make_customer(shop, name="Boris", phone="+79035550000")
    theirs = _message(boris, "occasion_reminder", "sent", {"name": "Boris"}, sent=sent_at)

    assert manager.post(f"{URL}/{olga.id}/anonymize").status_code == 200

    db.session.expire_all()
    sent, queued, theirs = (db.session.get(MessageLog, m.id) for m in (sent, queued, theirs))
    # The books keep what was sent and when; nothing names or reaches Olga any more.
    assert (sent.kind, sent.status, sent.sent_at, sent.attempts) == ("occasion_reminder", "sent", sent_at, 1)
    assert sent.context == {
        "shop": shop.name,
        "name": "[erased]",
        "label": "[erased]",
        "date": "[erased]",
        "occasion_id": 7,
    }
    assert "2233" not in sent.recipient_masked
    # A message still waiting for its worker is never sent to an erased person.
    assert (queued.status, queued.context["number"], queued.context["name"]) == ("failed", "0601-0001", "[erased]")
    assert theirs.context == {"name": "Boris"}
    exported = manager.get(f"{URL}/{olga.id}/export").get_data(as_text=True)
    for value in ("Olga", "Wedding anniversary", "21 June", "+7916***2233"):
        assert value not in exported, value
    assert [m["kind"] for m in json.loads(exported)["messages"]] == ["occasion_reminder", "order_status"]
