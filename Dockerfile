# One image for every role of regsecrets: web (gunicorn), worker and beat (Celery),
# release (check --deploy, then migrate) and manage (any manage.py command); the
# first argument picks the role (ops/docker-entrypoint.sh). README "Container image".
#
# The base is pinned to an exact release; to pin its digest too, build with
#   --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Wheels only, every file checked against the hash in requirements.txt: nothing is
# compiled, so no compiler is needed here and none reaches the final stage.
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements.txt

WORKDIR /app
COPY manage.py ./
COPY regsecrets ./regsecrets
COPY templates ./templates
COPY static ./static

# Hashed, compressed static files for whitenoise. The settings need a secret key to
# load; this one exists only in this stage and signs nothing.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only \
    REGSECRETS_VAR_DIR=/tmp/build-var \
    /opt/venv/bin/python manage.py collectstatic --no-input --verbosity 0 \
 && /opt/venv/bin/python -m compileall -q regsecrets

# -------------------------------------------------------------- final stage
FROM ${PYTHON_IMAGE} AS final

LABEL org.opencontainers.image.title="regsecrets" \
      org.opencontainers.image.description="Private container-registry credentials, encrypted, checked and matched to images"

# DL3064 flags names containing "SECRET": here that is the project's name
# (REGSECRETS_VAR_DIR is a directory); no secret is set in the image.
# hadolint ignore=DL3064
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_DEBUG=false \
    PORT=8000 \
    REGSECRETS_VAR_DIR=/tmp/regsecrets \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

RUN groupadd --system --gid 10001 regsecrets \
 && useradd --system --uid 10001 --gid regsecrets --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin regsecrets

# Code and packages belong to root and are read-only for the app's user; it writes
# only under /tmp (a tmpfs or emptyDir when the root filesystem is read-only).
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY ops/docker-entrypoint.sh /usr/local/bin/regsecrets

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# The slim image has no curl: Python asks /healthz (any non-2xx answer raises).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["regsecrets"]
CMD ["web"]
