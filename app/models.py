"""Every model, imported once so the metadata (and Alembic) see the whole schema."""

from app.apikeys.models import ApiKey
from app.audit.models import AuditEntry
from app.auth.models import LoginSession, RefreshToken
from app.catalogue.models import Category, Product, RecipeComponent
from app.courier.models import CourierAssignment, Delivery
from app.customers.models import Customer, OccasionDate
from app.idempotency.models import IdempotencyRecord
from app.messaging.models import MessageLog
from app.orders.models import Order, OrderItem, OrderNumberCounter, OrderStatusChange, Payment
from app.production.models import ProductionTask
from app.promos.models import PromoCode
from app.shops.models import Shop
from app.slots.models import DeliveryWindow, DeliveryWindowOverride, SlotBooking
from app.standing.models import StandingOccurrence, StandingOrder
from app.storefront.models import StorefrontOrder
from app.users.models import Membership, User
from app.warehouse.models import (
    Batch,
    Item,
    Movement,
    Reservation,
    StockCount,
    StockCountLine,
    Supply,
    WriteOff,
)
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.workshop.models import WorkshopBooking

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Batch",
    "Category",
    "CourierAssignment",
    "Customer",
    "Delivery",
    "DeliveryWindow",
    "DeliveryWindowOverride",
    "IdempotencyRecord",
    "Item",
    "LoginSession",
    "Membership",
    "MessageLog",
    "OccasionDate",
    "Order",
    "OrderItem",
    "OrderNumberCounter",
    "OrderStatusChange",
    "Payment",
    "Movement",
    "ProductionTask",
    "Product",
    "PromoCode",
    "RecipeComponent",
    "RefreshToken",
    "Reservation",
    "Shop",
    "SlotBooking",
    "StandingOccurrence",
    "StandingOrder",
    "StockCount",
    "StockCountLine",
    "StorefrontOrder",
    "Supply",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkshopBooking",
    "WriteOff",
]
