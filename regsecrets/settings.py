"""Django settings for regsecrets, read from the environment.

Development defaults run locally without configuration (``make run`` turns
DJANGO_DEBUG on); with DJANGO_DEBUG off, the system checks in
``regsecrets.core.checks`` refuse missing or insecure values by name.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dj_database_url

from regsecrets.env import email_config, env, env_bool, env_duration, env_float, env_list

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("REGSECRETS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)

# An empty value is reported by the deploy check; the placeholder only keeps
# development and the test suite running.
INSECURE_SECRET_KEY_PLACEHOLDER = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY") or INSECURE_SECRET_KEY_PLACEHOLDER

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "axes",
    "regsecrets.core",
    "regsecrets.crypto",
    "regsecrets.accounts",
    "regsecrets.audit",
    "regsecrets.registry_secrets",
    "regsecrets.deploy",
    "regsecrets.api",
]

MIDDLEWARE = [
    # Request id, log context and request metrics for everything below.
    "regsecrets.core.observe.RequestObservationMiddleware",
    # /healthz, /readyz and /metrics answer before the Host header is checked.
    "regsecrets.core.probes.ProbeMiddleware",
    # Outermost of the rest, so that they see every response, whichever layer produced it.
    "regsecrets.core.middleware.NoStoreMiddleware",
    "regsecrets.api.fallback.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "regsecrets.accounts.middleware.CurrentOrganizationMiddleware",
    # Query parameters no lookup can use: 400 on the site, in the error shape on /v1.
    "regsecrets.core.querystring.RefuseUnusableQueryMiddleware",
    "regsecrets.api.fallback.RefuseUnusableApiQueryMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes' rule).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "regsecrets.urls"
WSGI_APPLICATION = "regsecrets.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "regsecrets.accounts.context_processors.organizations",
                "regsecrets.core.context_processors.version",
            ],
        },
    },
]

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
# Runs of one statement on one connection before it is prepared (psycopg's default).
PREPARE_THRESHOLD = 5
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or DEFAULT_DATABASE_URL,
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60") or 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", False
):
    # psycopg 3 binds parameters on the server and prepares a statement once it has
    # run PREPARE_THRESHOLD times on a connection: later runs skip parsing and
    # planning. Not behind a transaction-pooling PgBouncer older than 1.21 or
    # without max_prepared_statements (see README, Production).
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": PREPARE_THRESHOLD,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite only: one file under var/, created on first run.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
_bootstrap = importlib.util.find_spec("bootstrap")
STATICFILES_DIRS: list[Path | tuple[str, str]] = [BASE_DIR / "static"]
if _bootstrap and _bootstrap.submodule_search_locations:
    # Bootstrap's CSS and JS come from the pinned bootstrap-wrapper package,
    # never from a CDN or a copy in the repository.
    STATICFILES_DIRS.append(("bootstrap", next(iter(_bootstrap.submodule_search_locations))))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("REGSECRETS_MANIFEST_STATIC", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Uploads are small documents (config.json, key files): keep them in memory
# and refuse anything large before a form sees it.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# --- Security -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = not DEBUG and env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 0 if DEBUG else int(env("DJANGO_HSTS_SECONDS", "31536000") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG and env_bool("DJANGO_HSTS_PRELOAD", True)
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks and local probes come over plain HTTP from the proxy's side.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Error reports cleanse credentials in debug too (Django's own filter switches
# itself off when DEBUG is on); see regsecrets.core.debugfilter.
DEFAULT_EXCEPTION_REPORTER_FILTER = "regsecrets.core.debugfilter.CredentialReporterFilter"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Trusted proxies in front of the app, each appending to X-Forwarded-For; the
# client address of every limit and audit record is the one the outermost saw.
REGSECRETS_PROXY_COUNT = int(env("REGSECRETS_PROXY_COUNT", "0") or 0)

# --- Sign-in rate limits (django-axes) --------------------------------------
AXES_FAILURE_LIMIT = int(env("REGSECRETS_LOGIN_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = env_float("REGSECRETS_LOGIN_COOLOFF_HOURS", 0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password"]
# The lockout keys on the same client address as the API limit and the audit log.
AXES_CLIENT_IP_CALLABLE = "regsecrets.core.clientip.client_ip"
AXES_VERBOSE = False

# --- regsecrets ---------------------------------------------------------------
REGSECRETS_SIGNUP_ENABLED = env_bool("REGSECRETS_SIGNUP_ENABLED", True)
# Comma-separated KID:BASE64KEY entries; the first encrypts, all decrypt.
REGSECRETS_ENCRYPTION_KEYS = env("REGSECRETS_ENCRYPTION_KEYS", "") or ""
REGSECRETS_DEV_KEY_FILE = VAR_DIR / "encryption.keys"
REGSECRETS_VERIFY_TIMEOUT = env_float("REGSECRETS_VERIFY_TIMEOUT", 10.0)
REGSECRETS_VERIFY_MAX_CONCURRENCY = int(env("REGSECRETS_VERIFY_MAX_CONCURRENCY", "8") or 8)
# Verification requests one process serves at once (0: no cap); more are answered at
# once "busy, try again in a moment". Keep it below gunicorn's threads per worker
# (GUNICORN_THREADS, 8) so that threads always remain for pages.
REGSECRETS_VERIFY_MAX_REQUESTS = int(env("REGSECRETS_VERIFY_MAX_REQUESTS", "4") or 0)
REGSECRETS_VERIFY_MAX_RESPONSE_BYTES = int(
    env("REGSECRETS_VERIFY_MAX_RESPONSE_BYTES", str(1 << 20)) or 1 << 20
)
REGSECRETS_ALLOW_PRIVATE_REGISTRIES = env_bool("REGSECRETS_ALLOW_PRIVATE_REGISTRIES", False)
REGSECRETS_INSECURE_REGISTRIES = frozenset(env_list("REGSECRETS_INSECURE_REGISTRIES"))
# Web "Test credentials" / "Verify image" actions per user per minute (0: no limit).
REGSECRETS_VERIFY_RATE_LIMIT = int(env("REGSECRETS_VERIFY_RATE_LIMIT", "30") or 30)
REGSECRETS_API_TOKEN_FAILURE_LIMIT = int(env("REGSECRETS_API_TOKEN_FAILURE_LIMIT", "20") or 20)

# Prometheus scrapes /metrics with "Authorization: Bearer <this>"; empty turns it off (404).
REGSECRETS_METRICS_TOKEN = env("REGSECRETS_METRICS_TOKEN", "") or ""

REDIS_URL = env("REDIS_URL") or ""
# Every key is prefixed and versioned per deployment, so two deployments (or a test
# run) sharing one Redis database share no rate-limit counter, slot or token;
# bumping the version abandons every cached value of a deployment at once.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_PREFIX": env("REGSECRETS_CACHE_KEY_PREFIX", "regsecrets") or "",
        "VERSION": int(env("REGSECRETS_CACHE_VERSION", "1") or 1),
    }
}
if REDIS_URL:
    CACHES["default"].update(
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    )

# --- Audit retention -------------------------------------------------------------
# Events older than this many days are deleted by `manage.py prune_audit_events` and
# the periodic task (beat schedule below); 0 keeps them forever (the default).
REGSECRETS_AUDIT_RETENTION_DAYS = max(0, int(env("REGSECRETS_AUDIT_RETENTION_DAYS", "0") or 0))
# Rows deleted per statement (and transaction), so pruning never holds long locks.
REGSECRETS_AUDIT_PRUNE_BATCH = max(1, int(env("REGSECRETS_AUDIT_PRUNE_BATCH", "5000") or 5000))

# --- Credential health ---------------------------------------------------------
# How often each secret is re-checked (6h, 30m, 3600...); each next check is spread
# by up to REGSECRETS_HEALTH_JITTER of it so that checks do not stampede.
REGSECRETS_HEALTH_INTERVAL = env_duration("REGSECRETS_HEALTH_INTERVAL", "6h")
REGSECRETS_HEALTH_JITTER = env_float("REGSECRETS_HEALTH_JITTER", 0.1)
# Consecutive failed checks before a secret is FAILING and its owners are alerted.
REGSECRETS_HEALTH_ALERT_AFTER = max(1, int(env("REGSECRETS_HEALTH_ALERT_AFTER", "2") or 2))
# At most this many checks in flight per registry host, across all workers.
REGSECRETS_HEALTH_HOST_CONCURRENCY = int(env("REGSECRETS_HEALTH_HOST_CONCURRENCY", "4") or 4)
# Secrets handed to the workers per beat tick.
REGSECRETS_HEALTH_BATCH = int(env("REGSECRETS_HEALTH_BATCH", "1000") or 1000)
# Claimed secrets per worker task: read in one query, recorded in one transaction.
REGSECRETS_HEALTH_CHECKS_PER_TASK = max(
    1, int(env("REGSECRETS_HEALTH_CHECKS_PER_TASK", "25") or 25)
)
# Plain-HTTP webhook endpoints (development and tests only; production wants HTTPS).
REGSECRETS_WEBHOOK_ALLOW_HTTP = env_bool("REGSECRETS_WEBHOOK_ALLOW_HTTP", False)
# Absolute links in alerts (emails and webhooks) start with this.
REGSECRETS_BASE_URL = (env("REGSECRETS_BASE_URL", "http://localhost:8000") or "").rstrip("/")

# --- Email -----------------------------------------------------------------------
# One URL: smtp://user:pass@host:587, smtp+tls://..., smtp+ssl://..., consolemail://,
# filemail:///path/to/dir, memorymail:// (dj-email-url).
_email = email_config(env("EMAIL_URL") or "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email["EMAIL_USE_TLS"])
EMAIL_USE_SSL = bool(_email["EMAIL_USE_SSL"])
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 10
if _email["EMAIL_FILE_PATH"]:
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "regsecrets@localhost") or "regsecrets@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery (regsecrets/celery.py reads the CELERY_* names) ---------------------
# Without REDIS_URL tasks run in-process, so `make run` needs no broker; beat and
# workers need Redis.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "health-enqueue-due": {
        "task": "regsecrets.registry_secrets.tasks.enqueue_due_checks",
        "schedule": env_float("REGSECRETS_HEALTH_TICK", 60.0),
    },
    # Hourly: a no-op while REGSECRETS_AUDIT_RETENTION_DAYS is 0.
    "audit-prune": {
        "task": "regsecrets.audit.tasks.prune_audit_events",
        "schedule": env_duration("REGSECRETS_AUDIT_PRUNE_INTERVAL", "1h"),
    },
}

# Records are redacted when they are made (regsecrets.core.logging, installed by
# the core app), so every handler, this one included, sees redacted text.
# REGSECRETS_LOG_FORMAT=json writes one JSON object per line (timestamp, level, logger,
# message, request_id, user_id, organization_id, exc_info), for log collectors.
REGSECRETS_LOG_FORMAT = (env("REGSECRETS_LOG_FORMAT", "plain") or "plain").strip().lower()
if REGSECRETS_LOG_FORMAT not in ("plain", "json"):
    raise ValueError(f"REGSECRETS_LOG_FORMAT must be plain or json, not {REGSECRETS_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "regsecrets.core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "regsecrets.core.logging.RedactingJsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": REGSECRETS_LOG_FORMAT,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("REGSECRETS_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # At DEBUG these log whole requests and responses, minted tokens and the
        # temporary credentials of an assumed role among them.
        "botocore": {"level": "INFO"},
        "boto3": {"level": "INFO"},
        "google.auth": {"level": "INFO"},
        # Every line JSON: Django's own handlers (its debug console, runserver's request
        # lines) would print plain text beside ours, so their records go to the root's.
        **(
            {
                "django": {"level": "INFO", "propagate": True},
                "django.server": {"level": "INFO", "propagate": True},
            }
            if REGSECRETS_LOG_FORMAT == "json"
            else {}
        ),
    },
}
