"""The log's consumers inside the system: each event handled once, in order, whatever wakes them or fails."""

from __future__ import annotations

import threading
import time

import pytest

from app.events import dispatch, outbox
from app.extensions import db, redis_client
from app.jobs.worker import build_worker


@pytest.fixture
def handled():
    """A consumer of `stock.low` events for the test, recording what it was handed."""
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def handle(event) -> None:
        if event.data.get("explode"):
            raise RuntimeError("a consumer's bug")
        with lock:
            seen.append((event.shop_id, event.data["n"]))

    dispatch.consumer("test_consumer", types={"stock.low"})(handle)
    try:
        yield seen
    finally:
        dispatch.CONSUMERS.pop("test_consumer")


def record(shop_id: int, n: int, **extra) -> None:
    outbox.record("stock.low", shop_id=shop_id, subject_type="stock", subject_id=n, data={"n": n, **extra})


def test_a_consumer_gets_each_event_once_in_order_and_only_its_types(shop, other_shop, handled):
    for n in range(3):
        record(shop.id, n)
    outbox.record("order.created", shop_id=shop.id, subject_type="order", subject_id=1, data={"id": 1})
    record(other_shop.id, 10)
    db.session.commit()

    dispatch.dispatch_shop(shop.id)
    dispatch.dispatch_shop(shop.id)  # again: nothing new
    assert handled == [(shop.id, 0), (shop.id, 1), (shop.id, 2)]

    dispatch.dispatch_all()  # the sweep finds the other shop, behind
    assert handled[-1] == (other_shop.id, 10) and len(handled) == 4


def test_a_rolled_back_change_hands_nothing_to_consumers(shop, handled):
    record(shop.id, 1)
    db.session.rollback()
    dispatch.dispatch_all()
    assert handled == []


def test_a_failing_event_does_not_hold_up_the_next(shop, handled, caplog):
    record(shop.id, 1, explode=True)
    record(shop.id, 2)
    db.session.commit()
    dispatch.dispatch_shop(shop.id)
    assert handled == [(shop.id, 2)]
    assert "consumer test_consumer failed" in caplog.text


def test_a_consumer_that_cannot_tell_whether_it_is_idle_holds_up_only_itself(shop, handled, caplog):
    asked: list[int] = []

    def broken_idle(shop_id: int) -> bool:
        asked.append(shop_id)
        db.session.execute(db.text("SELECT 1 / 0"))  # a failing statement, as a lost connection would be
        return False

    dispatch.consumer("test_fragile", types={"stock.low"}, idle=broken_idle)(lambda event: None)
    try:
        record(shop.id, 1)
        db.session.commit()
        dispatch.dispatch_shop(shop.id)
        assert handled == [(shop.id, 1)]  # the other consumer had its event, in the same run
        assert asked == [shop.id] and "consumer test_fragile could not tell" in caplog.text
        cursors = dict(
            db.session.execute(
                db.text("SELECT consumer, position FROM event_cursors WHERE shop_id = :shop"), {"shop": shop.id}
            ).all()
        )
        assert cursors["test_fragile"] < cursors["test_consumer"]  # its event waits for the next run
        dispatch.dispatch_shop(shop.id)
        assert asked == [shop.id, shop.id] and handled == [(shop.id, 1)]
    finally:
        dispatch.CONSUMERS.pop("test_fragile")


def test_a_commit_queues_one_dispatch_per_shop_and_the_sweep_covers_a_lost_one(app, shop, handled):
    queue = app.extensions["queues"]["status"]
    record(shop.id, 1)
    db.session.commit()
    record(shop.id, 2)
    db.session.commit()
    assert [job.func_name for job in queue.get_jobs()] == ["app.events.dispatch.dispatch_shop"]  # not two

    queue.empty()  # the job is lost (a worker killed while taking it); its flag still stands
    record(shop.id, 3)
    db.session.commit()
    assert queue.count == 0 and handled == []
    dispatch.dispatch_all()
    assert handled == [(shop.id, 1), (shop.id, 2), (shop.id, 3)]
    assert redis_client.get(f"events:dispatch-queued:{shop.id}") is None


def test_a_shops_commits_within_the_delay_share_one_dispatch(app, shop, other_shop, handled, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_DISPATCH_DELAY", 1)  # as served (the suite's default is 0)
    queue = app.extensions["queues"]["status"]
    shop_id, other_id = shop.id, other_shop.id
    for n in range(3):
        record(shop_id, n)
        db.session.commit()
    record(other_id, 10)
    db.session.commit()
    # Nothing runs yet: one job per shop waits for its second, whatever the number of commits.
    assert queue.count == 0 and handled == []
    assert len(queue.scheduled_job_registry.get_job_ids()) == 2

    time.sleep(1.2)
    build_worker(app, [queue], simple=True).work(burst=True, with_scheduler=True)  # its scheduler queues them
    assert sorted(handled) == [(shop_id, 0), (shop_id, 1), (shop_id, 2), (other_id, 10)]
    assert queue.count == 0 and not queue.scheduled_job_registry.get_job_ids()
    record(shop_id, 3)
    db.session.commit()  # the flag went with the job: the next commit waits for a new one
    assert len(queue.scheduled_job_registry.get_job_ids()) == 1


@pytest.mark.committed
def test_dispatchers_racing_hand_each_event_over_once(app, shop, handled):
    shop_id = shop.id
    for n in range(200):
        record(shop_id, n)
    db.session.commit()

    def run() -> None:
        with app.app_context():
            dispatch.dispatch_shop(shop_id)
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(handled) == [(shop_id, n) for n in range(200)]
    assert [n for _, n in handled] == list(range(200))  # in order too
