"""The periodic jobs, in one list read by `rq cron` (jobs/cron.py) and by `flask jobs run-due`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.events.dispatch import SWEEP_INTERVAL, dispatch_all
from app.events.services import prune_events
from app.jobs.maintenance import purge_expired_login_sessions, purge_idempotency_keys
from app.messaging.order_reminders import scan_courier_reminders, scan_florist_reminders, scan_overdue_orders
from app.messaging.recovery import RECOVERY_INTERVAL, recover_messages
from app.messaging.scans import scan_occasion_reminders, scan_stock_digests
from app.standing.services import SCAN_JOBS, make_due_occurrences
from app.webhooks.jobs import SWEEP_INTERVAL as WEBHOOK_SWEEP_INTERVAL
from app.webhooks.jobs import sweep_deliveries


@dataclass(frozen=True)
class Periodic:
    func: Callable
    queue: str
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab, UTC
    kwargs: dict | None = None  # the job's arguments: one function scheduled as several jobs

    @property
    def name(self) -> str:
        parts = "_".join(str(value) for value in (self.kwargs or {}).values())
        return f"{self.func.__name__}_{parts}" if parts else self.func.__name__


PERIODIC: list[Periodic] = [
    # The message log's own sweep: lost, stranded or abandoned sends go out again within ~20 s of their
    # time. On the `otp` queue, drained first, so a burst of reminders never holds up the rescue of a code.
    Periodic(recover_messages, "otp", interval=RECOVERY_INTERVAL),
    # The event log's consumers catch up on what a lost wake-up left (normally a commit queues its own dispatch).
    Periodic(dispatch_all, "status", interval=SWEEP_INTERVAL),
    Periodic(prune_events, "default", cron="37 3 * * *"),
    # Webhook deliveries heal themselves: a killed worker's attempt or a retry the scheduler lost goes out again.
    Periodic(sweep_deliveries, "webhooks", interval=WEBHOOK_SWEEP_INTERVAL),
    Periodic(purge_idempotency_keys, "default", cron="17 3 * * *"),
    Periodic(purge_expired_login_sessions, "default", cron="27 3 * * *"),
    # Every minute: each scan sends what is due at the shop's own local time (10:00 reminders, the
    # 08:00 digest once per local day), so shops in any time zone are served by one UTC schedule.
    Periodic(scan_occasion_reminders, "default", interval=60),
    Periodic(scan_stock_digests, "default", interval=60),
    # Every minute too: what is due within the next hour (couriers), half hour (florists) or is late.
    Periodic(scan_courier_reminders, "default", interval=60),
    Periodic(scan_florist_reminders, "default", interval=60),
    Periodic(scan_overdue_orders, "default", interval=60),
    # Every 10 minutes: standing orders' dates whose day to be made (date − lead_days) has begun in the shop's
    # time zone become orders, made by SCAN_JOBS jobs at once, each for its share of the shops; two scans at
    # once never make a date twice (app/standing/services.py).
    *(
        Periodic(make_due_occurrences, "default", interval=600, kwargs={"part": part, "parts": SCAN_JOBS})
        for part in range(SCAN_JOBS)
    ),
]
