"""`rq cron` configuration (`make cron`): run exactly one such process per deployment.

The jobs it enqueues run on the workers, inside the app context.
"""

from dotenv import load_dotenv
from rq import cron

from app.config import exit_on_config_error, load_config
from app.jobs.schedule import PERIODIC

# The settings the workers will run these jobs with: a bad one stops this process too, at once.
load_dotenv(override=False)
exit_on_config_error(load_config)

for periodic in PERIODIC:
    cron.register(
        periodic.func,
        queue_name=periodic.queue,
        kwargs=periodic.kwargs,
        interval=periodic.interval,
        cron=periodic.cron,
        job_timeout=300,
        name=periodic.name,
    )
