"""The database session, and one transaction for a whole request when its caller must commit last.

Services own their commit. An idempotent request must also commit its stored answer, and a crash
between the two commits would leave the key claimed with no answer; so while `one_transaction()`
holds the session, a service's commit only flushes, and the holder commits the work and its own
rows together (or rolls all back). Jobs wait for that commit as they wait for any.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import orm

_HELD = "commit_held"


class HeldCommits(orm.Session):
    """A session whose commit() flushes instead while a caller holds the transaction."""

    def commit(self) -> None:
        if self.info.get(_HELD):
            self.flush()  # the holder commits; rules and constraints still speak now, at the flush
            return
        super().commit()


class Session(HeldCommits, FlaskSession):
    """`db.session`'s class: Flask-SQLAlchemy's, with commits a caller may hold."""


@contextmanager
def one_transaction(session: orm.Session) -> Iterator[None]:
    """Within the block, commits flush into the open transaction; the caller commits or rolls back once."""
    session.info[_HELD] = True
    try:
        yield
    finally:
        session.info.pop(_HELD, None)
