# Flower CRM: one image for the web, worker and cron processes (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    FLASK_APP=wsgi.py \
    PORT=8000

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

COPY app ./app
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py events_wsgi.py gunicorn.events.conf.py .flaskenv ./

# instance/ holds uploaded media (a volume in docker-compose.yml); the app user must own it.
RUN mkdir -p instance/media && chown -R app:app instance

USER app

EXPOSE 8000 8001

# No HEALTHCHECK here: the worker and cron run this image too; docker-compose.yml checks the web one.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
