# KAM server image: web (gunicorn, the default command), Celery worker and beat.
# docker-compose.yml runs this one image with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=kam.settings \
    KAM_ENV=production

# gettext: msgfmt for compilemessages (the .mo files are not in git).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*

# The processes run as this unprivileged user; the code stays owned by root (read-only to it).
RUN groupadd --system --gid 10001 kam \
 && useradd --system --uid 10001 --gid kam --home-dir /app --no-create-home --shell /usr/sbin/nologin kam

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --requirement requirements.lock

COPY . .

# Build-time only: settings need DATABASE_URL and REDIS_URL (else they start the embedded
# servers) and, in production, SECRET_KEY and ALLOWED_HOSTS. Nothing connects at import.
# These dummy values are scoped to this RUN and are not part of the image's environment.
RUN export DATABASE_URL=postgres://build@localhost/build \
           REDIS_URL=redis://localhost:6379/0 \
           SECRET_KEY=build-only \
           ALLOWED_HOSTS=localhost \
 && python manage.py compilemessages --verbosity 1 \
 && python manage.py collectstatic --noinput --verbosity 1 \
 && mkdir -p /app/var \
 && chown kam:kam /app/var

USER kam

EXPOSE 8000

# worker: celery -A kam worker --loglevel INFO
# beat:   celery -A kam beat --loglevel INFO --schedule /tmp/celerybeat-schedule
CMD ["gunicorn", "kam.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
