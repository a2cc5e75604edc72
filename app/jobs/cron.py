"""`rq cron` configuration (`make cron`): run exactly one such process per deployment.

The jobs it enqueues run on the workers, inside the app context.
"""

from rq import cron

from app.jobs.schedule import PERIODIC

for periodic in PERIODIC:
    cron.register(
        periodic.func,
        queue_name=periodic.queue,
        interval=periodic.interval,
        cron=periodic.cron,
        job_timeout=300,
        name=periodic.func.__name__,
    )
