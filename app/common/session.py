"""The database session: what runs once a transaction commits, and one transaction for a whole request.

Services own their commit. An idempotent request must also commit its stored answer, and a crash
between the two commits would leave the key claimed with no answer; so while `one_transaction()`
holds the session, a service's commit only flushes, and the holder commits the work and its own
rows together (or rolls all back). What must wait for the data to be committed (a job enqueued,
a replaced file deleted) is handed to `after_commit()` and waits for the real commit.

A GET or HEAD runs its statements with no transaction block around them (`read_without_transactions`): under
READ COMMITTED each statement sees what was committed when it started either way, and the BEGIN and ROLLBACK
a request paid for nothing are gone (docs/decisions.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Engine, event, orm

log = logging.getLogger(__name__)
_HELD = "commit_held"
_PENDING = "after_commit"
_HELD_ITEMS = "held_until_commit"
_READ_ENGINES = "flowercrm.read_engines"
READ_METHODS = frozenset({"GET", "HEAD"})


class HeldCommits(orm.Session):
    """A session whose commit() flushes instead while a caller holds the transaction."""

    def commit(self) -> None:
        if self.info.get(_HELD):
            self.flush()  # the holder commits; rules and constraints still speak now, at the flush
            return
        super().commit()


class Session(HeldCommits, FlaskSession):
    """`db.session`'s class: Flask-SQLAlchemy's, with commits a caller may hold, and reads outside a transaction."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if has_request_context() and request.method in READ_METHODS:
            return current_app.extensions[_READ_ENGINES].get(engine, engine)
        return engine


def read_without_transactions(app: Flask, engine: Engine) -> None:
    """GET and HEAD requests on `engine` run each statement on its own (autocommit), on the same pool."""
    app.extensions[_READ_ENGINES] = {engine: engine.execution_options(isolation_level="AUTOCOMMIT")}


@contextmanager
def one_transaction(session: orm.Session) -> Iterator[None]:
    """Within the block, commits flush into the open transaction; the caller commits or rolls back once."""
    session.info[_HELD] = True
    try:
        yield
    finally:
        session.info.pop(_HELD, None)


def is_held(session: orm.Session) -> bool:
    """Whether a caller holds the session's transaction (`one_transaction`): commits only flush now."""
    return bool(session.info.get(_HELD))


@dataclass
class _Held:
    item: object
    # The innermost transaction (or savepoint) when it was added: if that rolls back, the item goes with it.
    transaction: orm.SessionTransaction


def hold_until_commit(session: orm.Session, key: str, item: object) -> None:
    """Keep `item` under `key` until the session's transaction ends: `take_held` hands it over at the commit,
    a rollback drops it (a savepoint's rollback drops only what was added inside that savepoint)."""
    # An idle session begins its transaction now, so a rollback before any SQL still drops the item.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_HELD_ITEMS, {}).setdefault(key, []).append(_Held(item, transaction))


def take_held(session: orm.Session, key: str) -> list:
    """What was held under `key` in the transaction now committing, in the order it was added."""
    return [held.item for held in session.info.get(_HELD_ITEMS, {}).pop(key, [])]


@dataclass
class _Pending:
    call: Callable[[], object]
    what: str


def after_commit(session: orm.Session, call: Callable[[], object], *, what: str) -> None:
    """Run `call()` once the session's current transaction commits; never if it rolls back.

    Asked for inside a savepoint that rolls back, it is dropped with it; the enclosing transaction's
    calls stay. A call that fails is logged (`what` names it): the data is committed already.
    """
    hold_until_commit(session, _PENDING, _Pending(call, what))


@event.listens_for(orm.Session, "after_commit")
def _run_pending(session: orm.Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released (SQLAlchemy calls that a commit too); the real commit comes later
    for pending in take_held(session, _PENDING):
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
        session.info.pop(_HELD_ITEMS, None)
        return
    for items in session.info.get(_HELD_ITEMS, {}).values():
        # Only the rolled-back savepoint's own items (and those of savepoints inside it) go.
        items[:] = [held for held in items if not _inside(held.transaction, previous_transaction)]
