from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.common.models import TimestampMixin
from app.common.types import UTCDateTime
from app.extensions import db


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    FLORIST = "florist"
    COURIER = "courier"


ROLE_VALUES = tuple(r.value for r in Role)


class User(TimestampMixin, db.Model):
    """A member of staff. One person, one row, whatever the number of shops they work in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default="ru")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Every token issued before this moment is dead (password change, deactivation).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Only the shops the user may act in: a membership deactivated by a shop stays as history
    # but is invisible here, so access checks, /auth/me and token answers all ignore it.
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        primaryjoin="and_(User.id == Membership.user_id, Membership.deactivated_at.is_(None))",
    )

    __table_args__ = (CheckConstraint("language IN ('ru', 'en')", name="language_known"),)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


class Membership(TimestampMixin, db.Model):
    """A user's one role in one shop."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # Set when the shop deactivates the person: they lose this shop, the row stays for history.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="memberships")
    shop: Mapped["Shop"] = relationship()  # noqa: F821  resolved by name on the registry
    # Loaded by the staff queries: the person is also active staff of another shop (None when not loaded).
    shared_with_other_shops: Mapped[bool | None] = query_expression()

    __table_args__ = (
        UniqueConstraint("user_id", "shop_id"),
        CheckConstraint("role IN ('admin', 'manager', 'florist', 'courier')", name="role_known"),
    )

    @hybrid_property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls):
        return cls.deactivated_at.is_(None)


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    # A pending invitation past `expires_at` reads as expired; it is stored so when the shop invites again.
    EXPIRED = "expired"


class StaffInvitation(TimestampMixin, db.Model):
    """A shop's offer of a role to a person. Someone who already has an account joins only by accepting it;
    a phone new to the system gets its account (with what the shop typed) and joins at its first login.

    The shop sees what it typed (phone, name, role) and the answer, never the account behind the phone until
    the person accepts: the same for a new phone as for one with an account.
    """

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # The invitee's account: never shown to the shop before they accept.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default=InvitationStatus.PENDING.value)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # This invitation made the account: the person's first login accepts it (they have no other shop to weigh).
    opened_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    shop: Mapped["Shop"] = relationship()  # noqa: F821  resolved by name on the registry

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'manager', 'florist', 'courier')", name="role_known"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')", name="status_known"),
        Index("ix_staff_invitations_shop_created", "shop_id", "created_at"),
        Index("ix_staff_invitations_user_status", "user_id", "status"),
    )

    def state(self, now: datetime) -> str:
        """The status as the people see it: a pending invitation past its time is expired."""
        if self.status == InvitationStatus.PENDING.value and self.expires_at <= now:
            return InvitationStatus.EXPIRED.value
        return self.status
