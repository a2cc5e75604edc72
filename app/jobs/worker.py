"""The RQ worker of the app: each job runs inside an app context with a session of its own."""

from __future__ import annotations

from flask import Flask
from rq import SimpleWorker, Worker

from app.common.context import request_id_var
from app.extensions import db


class AppContextMixin:
    app: Flask

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            if getattr(self, "_is_horse", False):
                db.engine.dispose(close=False)  # a forked horse must not share the parent's connections
            token = request_id_var.set(f"job-{job.id}")
            try:
                return super().perform_job(job, queue, execution)
            finally:
                request_id_var.reset(token)
                db.session.remove()


class AppWorker(AppContextMixin, Worker):
    """Forks a work horse per job (production)."""


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    """Runs jobs in its own process (tests, debugging)."""


def build_worker(app: Flask, queues, *, simple: bool = False, **kwargs) -> Worker:
    worker_class = AppSimpleWorker if simple else AppWorker
    worker = worker_class(queues, connection=app.extensions["redis"], **kwargs)
    worker.app = app
    return worker
