"""The database session: what runs once a transaction commits, and one transaction for a whole request.

Services own their commit. An idempotent request must also commit its stored answer, and a crash
between the two commits would leave the key claimed with no answer; so while `one_transaction()`
holds the session, a service's commit only flushes, and the holder commits the work and its own
rows together (or rolls all back). What must wait for the data to be committed (a job enqueued,
a replaced file deleted) is handed to `after_commit()` and waits for the real commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, orm

log = logging.getLogger(__name__)
_HELD = "commit_held"
_PENDING = "after_commit"


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


@dataclass
class _Pending:
    call: Callable[[], object]
    what: str
    # The innermost transaction (or savepoint) when it was asked for: if that rolls back, so does the call.
    transaction: orm.SessionTransaction


def after_commit(session: orm.Session, call: Callable[[], object], *, what: str) -> None:
    """Run `call()` once the session's current transaction commits; never if it rolls back.

    Asked for inside a savepoint that rolls back, it is dropped with it; the enclosing transaction's
    calls stay. A call that fails is logged (`what` names it): the data is committed already.
    """
    # An idle session begins its transaction now, so a rollback before any SQL still drops the call.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append(_Pending(call, what, transaction))


@event.listens_for(orm.Session, "after_commit")
def _run_pending(session: orm.Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released (SQLAlchemy calls that a commit too); the real commit comes later
    for pending in session.info.pop(_PENDING, []):
        try:
            pending.call()
        except Exception:  # the data is committed; a failed follow-up must not turn the answer into a 500
            log.exception("could not %s after commit", pending.what)


def _inside(transaction: orm.SessionTransaction | None, ancestor: orm.SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(orm.Session, "after_soft_rollback")
def _drop_pending(session: orm.Session, previous_transaction: orm.SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    pending = session.info.get(_PENDING)
    if pending:
        # Only the rolled-back savepoint's own calls (and those of savepoints inside it) go.
        session.info[_PENDING] = [call for call in pending if not _inside(call.transaction, previous_transaction)]
