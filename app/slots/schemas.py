"""Delivery windows as the API shows them."""

from __future__ import annotations

from marshmallow import fields

from app.common.schemas import Money, Schema


class DeliverySlotQueryArgsSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "The delivery date (shop-local), YYYY-MM-DD."})


class DeliveryWindowSchema(Schema):
    date = fields.Date(required=True)
    start = fields.String(required=True, metadata={"example": "10:00", "description": "Shop-local HH:MM."})
    end = fields.String(required=True, metadata={"example": "14:00", "description": "Shop-local HH:MM."})
    starts_at = fields.AwareDateTime(
        required=True, metadata={"description": "The window's start in shop time, with that date's UTC offset."}
    )
    ends_at = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True)
    taken = fields.Integer(required=True, metadata={"description": "Orders in this window."})
    left = fields.Integer(required=True, metadata={"description": "Capacity minus taken, never below 0."})
    delivery_fee = Money(required=True, dump_only=True)
    open = fields.Boolean(
        required=True, metadata={"description": "False once the window has started, or past today's same-day cut-off."}
    )
