"""Settings for financedash, read once from the environment (ARCHITECTURE section 8).

Defaults give the embedded single-machine setup: SQLite with the cache in a table, nothing
else to start. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab

from financedash.lib import logs

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))

# A fixed key is only acceptable for local development; production must set SECRET_KEY
# (check --deploy flags the insecure prefix).
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-local-development-only"
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "axes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "corsheaders",
    "template_partials",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "financedash",
    "marketdata",
    "portfolios",
    "pensions",
]

MIDDLEWARE = [
    # Request counts and latency for /metrics: the first and the last middleware, so the
    # latency covers all the others.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # One log line per request, with the request id every line logged meanwhile carries.
    "financedash.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may answer (CommonMiddleware's redirects), as it asks.
    "corsheaders.middleware.CorsMiddleware",
    # WhiteNoise, streaming files without blocking under ASGI.
    "financedash.middleware.StaticFilesMiddleware",
    "financedash.middleware.reject_nul_characters",
    "financedash.middleware.DatabaseBusyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LocaleMiddleware, after the login so that the profile's language can win.
    "financedash.middleware.LanguageMiddleware",
    "financedash.middleware.LoginRequiredMiddleware",
    # Privacy mode: amounts masked for this request when the browser's cookie says so.
    "financedash.middleware.privacy_mode",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: turns a locked-out login anywhere into financedash.accounts.locked_out.
    "axes.middleware.AxesMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# django-axes: the checking backend first, then Django's own.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "financedash.urls"
WSGI_APPLICATION = "financedash.wsgi.application"
# HTTP and WebSocket on one port (uvicorn; gunicorn with uvicorn workers in production).
ASGI_APPLICATION = "financedash.asgi.application"

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
            ],
            "builtins": [
                "django.templatetags.i18n",
                "financedash.templatetags.money",
                "financedash.templatetags.dates",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same backend, with decimal reads that never fail (see its docstring).
    DATABASES["default"]["ENGINE"] = "financedash.sqlite3"
    # Tests keep Django's in-memory default (tools that look for the stock engine's name,
    # such as pytest-django's per-worker naming, would otherwise name a file).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE makes concurrent writers queue for the lock instead of failing with
        # "database is locked" halfway through a transaction; WAL lets readers carry on.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, counting connections, queries and their duration for /metrics.
        DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A request whose worker died must not leave its statement running, holding locks,
    # for minutes (seen: ~5 min after a killed import): the server ends both.
    _db_timeout_ms = envint("DB_STATEMENT_TIMEOUT_SECONDS", 60) * 1000
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={_db_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={_db_timeout_ms}"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Parallel test workers (pytest-xdist's gw0, gw1, ...) each take a Redis database of their
# own, counting down from the one given: a test's cache.clear() is a FLUSHDB, and channel
# groups are named by row ids that every worker's test database reuses.
_TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _TEST_WORKER.startswith("gw") and _TEST_WORKER[2:].isdigit():
    _redis = urlsplit(REDIS_URL)
    _redis_db = int(_redis.path.strip("/") or 0)
    REDIS_URL = urlunsplit(_redis._replace(path=f"/{(_redis_db - int(_TEST_WORKER[2:])) % 16}"))
# The cache holds what every process must agree on (quotes, login lockouts, the provider's
# rate limit and breaker, history coverage), so it is never per-process memory: Redis when
# there is one, else a table in the database (created by financedash's migration 0002).
CACHE_TABLE = "financedash_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis's backend, counting reads, hits and misses for /metrics.
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "financedash"),
            # Redis down must not take the site down: a failed read is a miss, a failed
            # write is dropped (and logged). Nothing that decides an answer relies on a
            # write having landed: version stamps live in the database (financedash.lib.versions).
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    CACHES["results"] = CACHES["default"]
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "financedash.lib.cache.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Culling counts the table on every write; quotes and markers stay well below.
            "OPTIONS": {"MAX_ENTRIES": 20000},
        },
        # Computed results (performance series) under keys that carry the version stamps
        # of their inputs: an entry can only be right or unused, so each process may keep
        # its own, and the large series stay out of the database.
        "results": {"BACKEND": "financedash.lib.cache.LocMemCache"},
    }

# The channel layer carries pushes (portfolio figures, quotes) to the WebSocket consumers.
# Redis when there is one: every web worker, the Celery worker and a management command
# reach every socket. In memory otherwise: the embedded default is one server process, and
# a write made in another process (a management command) reaches open pages by their
# polling fallback instead.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # socket_timeout None: redis-py 8 reads with a 5 s timeout by default, and the
                # layer's receive is a blocking pop that waits longer than that on an idle
                # socket: every idle WebSocket was torn down (1011) every 5 s
                # (django/channels_redis#422). Connecting keeps a short timeout, as the cache's.
                "hosts": [
                    {"address": REDIS_URL, "socket_timeout": None, "socket_connect_timeout": 2}
                ],
                "prefix": f"{os.environ.get('CACHE_KEY_PREFIX', 'financedash')}:asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ALLOW_REGISTRATION = envbool("ALLOW_REGISTRATION", False)

# English for a request that states no preference (the source language); Norwegian Bokmål
# when the browser asks for it (nb, no or nn) or the profile chooses it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Oslo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# `make run` and `make demo` serve static files straight from their source folders
# (WhiteNoise's finders, rescanned per request so an edited stylesheet shows at once): no
# collectstatic step, and nothing to go stale, with or without DEBUG. A deployment collects
# them once (the Dockerfile does) and serves the hashed, compressed copies.
STATIC_FROM_SOURCE = envbool("STATIC_FROM_SOURCE", DEBUG)
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = STATIC_FROM_SOURCE
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if STATIC_FROM_SOURCE
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_BASE_CURRENCY = os.environ.get("DEFAULT_BASE_CURRENCY", "NOK")

# Login lockout (the HTML login, the admin login and the API login alike): failures per
# username + address before a lockout, and its length. django-axes keeps the attempts in
# the database, so every process sees them, with or without Redis.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 900)
AXES_FAILURE_LIMIT = "financedash.accounts.failure_limit"
AXES_COOLOFF_TIME = "financedash.accounts.lockout_time"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "financedash.accounts.locked_out"
# The address the connection came from: a forwarded-for header is the client's to forge.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
# Failed logins are logged with their username and address (axes never logs a password).
AXES_SENSITIVE_PARAMETERS: list[str] = []

# JSON API (ARCHITECTURE section 7).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only: a form encoding cannot say null, a list or a nested object, so the
    # same schema meant different things in three encodings. An upload endpoint declares
    # its own parser_classes (multipart).
    "DEFAULT_PARSER_CLASSES": ["financedash.lib.api_parsers.ObjectJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "financedash.lib.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "financedash.lib.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "financedash.lib.api_pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=envint("JWT_ACCESS_MINUTES", 30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=envint("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the password: a password change revokes every one issued before.
    "CHECK_REVOKE_TOKEN": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "financedash API",
    "DESCRIPTION": "Portfolios, transactions, market data and pensions for scripts. "
    "Authenticate with a JWT from /api/v1/auth/login as `Authorization: Bearer <access>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its Swagger page need a login (session or token) unless
    # PUBLIC_API_DOCS=true: they map every endpoint for whoever asks.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if envbool("PUBLIC_API_DOCS", False)
        else "rest_framework.permissions.IsAuthenticated"
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Two choice sets are called `kind` (a portfolio's, a pension account's).
    "ENUM_NAME_OVERRIDES": {"PortfolioKindEnum": "portfolios.models.Portfolio.Kind"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "financedash.lib.api_schema.postprocess_constraints",
        "financedash.lib.api_schema.add_error_responses",
    ],
}

# Market data (ARCHITECTURE section 6).
MARKETDATA_PROVIDER = os.environ.get("MARKETDATA_PROVIDER", "yahoo")
QUOTE_CACHE_TTL = envint("QUOTE_CACHE_TTL", 60)
HISTORY_CACHE_TTL = envint("HISTORY_CACHE_TTL", 900)
# Seconds a request (a new transaction, a chart) may spend fetching missing history from a
# remote provider; the rest is fetched by the worker or the next view (marketdata.backfill).
HISTORY_FETCH_BUDGET = float(os.environ.get("HISTORY_FETCH_BUDGET") or 3)
LIVE_REFRESH_SECONDS = envint("LIVE_REFRESH_SECONDS", 30)
# Live updates (portfolios.live): the keepalive message interval, the cap on the symbols one
# socket may follow, and whether the web process refreshes quotes itself while sockets are
# open (the embedded default, no Celery worker) or leaves it to Celery beat.
LIVE_PING_SECONDS = envint("LIVE_PING_SECONDS", 30)
LIVE_MAX_SYMBOLS = envint("LIVE_MAX_SYMBOLS", 50)
LIVE_EMBEDDED_REFRESH = envbool("LIVE_EMBEDDED_REFRESH", not REDIS_URL)

YNAB_ACCESS_TOKEN = os.environ.get("YNAB_ACCESS_TOKEN", "")
YNAB_BASE_URL = os.environ.get("YNAB_BASE_URL", "https://api.ynab.com/v1").rstrip("/")
# YNAB allows 200 requests per hour per token; refuse ourselves before that, with a time
# to retry, rather than be refused by YNAB in the middle of a sync.
YNAB_REQUEST_BUDGET = envint("YNAB_REQUEST_BUDGET", 180)
YNAB_CACHE_TTL = envint("YNAB_CACHE_TTL", 300)  # seconds an account list or balance is reused
YNAB_TIMEOUT = float(os.environ.get("YNAB_TIMEOUT") or 10)
# The yearly IPS deposit limit (in NOK) the IPS accounts' contributions are shown against;
# a setting because Parliament changes it.
IPS_YEARLY_CAP = Decimal(os.environ.get("IPS_YEARLY_CAP") or "15000")

# Prometheus metrics at /metrics, only for a scraper that sends this token (financedash.metrics);
# unset, /metrics is a 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# prometheus-client's multiprocess mode (deploy/gunicorn.conf.py sets it for the web workers):
# any other process started with it (a command, a worker) writes there too, and needs it.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Console lines, or JSON lines (LOG_FORMAT=json) each with the request id, the user id and the
# Celery task; secrets redacted (financedash.lib.logs). gunicorn uses the same configuration.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "console")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = logs.config(LOG_FORMAT, LOG_LEVEL)

# Content-Security-Policy (django-csp): scripts, styles and everything else from this site
# only, no inline script or style anywhere (htmx is told not to inject its indicator style;
# the Swagger page loads its start-up script as a file). 'self' covers the live WebSocket
# (same host) in connect-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Behind HTTPS, cookies must never travel in clear (Django's other secure defaults,
# nosniff, DENY framing and same-origin referrers, are already on).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
# HTTPS only, from the environment: with these set, `manage.py check --deploy` is clean.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# The container's health check asks over plain HTTP, on its own port.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Opt-in, and only behind a proxy that sets X-Forwarded-Proto itself (dropping a client's):
# otherwise any client could claim its plain-HTTP request came over HTTPS.
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 14 * 24 * 3600)
# A less guessable admin path, e.g. ADMIN_URL=manage-7f3a/ (the login lockout covers it too).
ADMIN_URL = (os.environ.get("ADMIN_URL", "").strip("/") or "admin") + "/"
# A separate front end's origins, e.g. https://app.example.com; none by default (the app's
# own pages are same-origin). The API authenticates with bearer tokens, never cookies, across
# origins (CORS_ALLOW_CREDENTIALS stays off).
CORS_ALLOWED_ORIGINS = envlist("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# --- Market data: provider limits, quote cache, background refresh (issue 3) -----------------
# Seconds per provider request; short, because without a worker quotes are fetched while a
# page waits.
MARKETDATA_TIMEOUT = envint("MARKETDATA_TIMEOUT", 5)
# Seconds a whole provider call may take (yfinance's cookie, crumb, retries and all), after
# which the page goes on with stored prices (marketdata.providers.deadline); background jobs
# may wait longer.
MARKETDATA_DEADLINE = float(os.environ.get("MARKETDATA_DEADLINE") or 2)
MARKETDATA_JOB_DEADLINE = float(os.environ.get("MARKETDATA_JOB_DEADLINE") or 60)
# Provider calls allowed per window, across all processes (a batch of quotes is one call).
MARKETDATA_RATE_LIMIT = envint("MARKETDATA_RATE_LIMIT", 30)
MARKETDATA_RATE_WINDOW = envint("MARKETDATA_RATE_WINDOW", 60)
# Consecutive failures that open the circuit, and seconds before one trial call is let through.
MARKETDATA_BREAKER_FAILURES = envint("MARKETDATA_BREAKER_FAILURES", 5)
MARKETDATA_BREAKER_RESET = envint("MARKETDATA_BREAKER_RESET", 60)
# How long the last live quote is kept as the stale fallback, and how long a request waits
# for another process that is already fetching the same symbol.
QUOTE_LAST_KNOWN_TTL = envint("QUOTE_LAST_KNOWN_TTL", 7 * 24 * 3600)
QUOTE_LOCK_WAIT_MS = envint("QUOTE_LOCK_WAIT_MS", 2000)
# Beat intervals, in seconds.
QUOTE_REFRESH_SECONDS = envint("QUOTE_REFRESH_SECONDS", 300)
HISTORY_SYNC_SECONDS = envint("HISTORY_SYNC_SECONDS", 6 * 3600)

# Imports of more lines than this run in the background (portfolios.jobs): a Celery task
# with Redis (a worker), else a thread of the web process, since eager Celery would run them
# in the request. A job silent for IMPORT_JOB_TIMEOUT seconds is taken for dead.
IMPORT_JOB_ROWS = envint("IMPORT_JOB_ROWS", 2000)
IMPORT_JOB_RUNNER = os.environ.get("IMPORT_JOB_RUNNER") or ("celery" if REDIS_URL else "thread")
IMPORT_JOB_TIMEOUT = envint("IMPORT_JOB_TIMEOUT", 600)

CELERY_BROKER_URL = REDIS_URL or "memory://"
# No Redis, no worker: tasks run in the caller (the embedded single-machine setup).
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "refresh-quotes": {
        "task": "portfolios.tasks.refresh_quotes",
        "schedule": float(QUOTE_REFRESH_SECONDS),
        # A refresh that waited past the next one is worthless.
        "options": {"expires": QUOTE_REFRESH_SECONDS},
    },
    "sync-history": {
        "task": "portfolios.tasks.sync_history",
        "schedule": float(HISTORY_SYNC_SECONDS),
        "options": {"expires": HISTORY_SYNC_SECONDS},
    },
    "reap-import-jobs": {
        "task": "portfolios.tasks.reap_import_jobs",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # Pension balances change slowly: once a day, early, is enough (and cheap on the budget).
    "sync-ynab": {
        "task": "pensions.tasks.sync_ynab",
        "schedule": crontab(hour=5, minute=30),
        "options": {"expires": 3600},
    },
}
