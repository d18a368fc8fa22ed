#!/bin/sh
# The image's entry point: the first argument picks the role.
#
#   web       gunicorn on $PORT (regsecrets/gunicorn_conf.py)        (default)
#   worker    a Celery worker (credential checks, alert deliveries)
#   beat      the Celery beat scheduler: run exactly one
#   release   manage.py check --deploy, then migrate (before web starts)
#   manage    any manage.py command: `manage createsuperuser`
#   anything else is run as it is (`sh`, `python -c ...`)
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    exec gunicorn regsecrets.wsgi -c python:regsecrets.gunicorn_conf "$@"
    ;;
  worker)
    exec celery -A regsecrets worker --loglevel="${CELERY_LOG_LEVEL:-INFO}" \
      --concurrency="${WORKER_CONCURRENCY:-4}" "$@"
    ;;
  beat)
    exec celery -A regsecrets beat --loglevel="${CELERY_LOG_LEVEL:-INFO}" \
      --schedule=/tmp/celerybeat-schedule "$@"
    ;;
  release)
    python manage.py check --deploy
    exec python manage.py migrate --no-input "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
