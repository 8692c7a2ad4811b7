"""Settings, all from the environment.

With no configuration the server uses SQLite under ``COFLUX_DATA_DIR`` (default ``./data``) and
the in-memory channel layer. ``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` to the Redis
channel layer so that several server processes can serve one deployment.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from coflux_server import data_dir
from coflux_server.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir.prepare(Path(env_str("COFLUX_DATA_DIR", str(Path.cwd() / "data"))).resolve())

# The server's secret signs sessions, CSRF tokens and service tokens. Several server processes
# serving one deployment must share it: give it in COFLUX_SECRET, or let them share the data
# directory, where it is generated once otherwise.
SECRET_KEY = env_str("COFLUX_SECRET", "") or data_dir.generated_secret(DATA_DIR, "secret")
COFLUX_TOKEN_SECRET = SECRET_KEY
DEBUG = env_bool("COFLUX_DEBUG", False)
COFLUX_PUBLIC_HOST = env_str("COFLUX_PUBLIC_HOST", "")
"""host:port at which launched workers reach the server (default: the address it listens on);
a leading ``%`` stands for the project's name."""
ALLOWED_HOSTS = env_list("COFLUX_ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1,[::1]")
if COFLUX_PUBLIC_HOST and not COFLUX_PUBLIC_HOST.startswith("%"):
    # Launched workers reach the server under this name.
    ALLOWED_HOSTS.append(urlsplit(f"//{COFLUX_PUBLIC_HOST}").hostname or COFLUX_PUBLIC_HOST)
COFLUX_ALLOW_ORIGINS = env_list("COFLUX_ALLOW_ORIGINS", "")
"""Origins (``https://ci.example.com``) whose pages may open websockets besides the server's own."""

COFLUX_REQUIRE_AUTH = env_bool("COFLUX_REQUIRE_AUTH", True)
"""Off: callers without credentials may use the API and connect workers (tokens still count)."""
COFLUX_SUPER_TOKEN_HASH = env_str("COFLUX_SUPER_TOKEN_HASH", "").strip().lower()
"""SHA-256 (hex) of the super token, which may do anything; empty: there is none."""
if COFLUX_SUPER_TOKEN_HASH and not re.fullmatch(r"[0-9a-f]{64}", COFLUX_SUPER_TOKEN_HASH):
    raise ImproperlyConfigured("COFLUX_SUPER_TOKEN_HASH must be 64 hexadecimal digits (SHA-256)")
COFLUX_AUTH_FAILURE_LIMIT = env_int("COFLUX_AUTH_FAILURE_LIMIT", 20, minimum=1)
COFLUX_AUTH_FAILURE_WINDOW = env_float("COFLUX_AUTH_FAILURE_WINDOW", 60.0)
"""Failed logins or tokens allowed per client address within this many seconds (then 429)."""

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/, served as static files
    "django_htmx",
    "projects",
    "workspaces",
    "runs",
    "assets",
    # The top layer: the serve command, which wires every app together.
    "coflux_server",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "coflux_server.middleware.storable_text",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every API and blob request is authenticated here (coflux_server.request_auth).
    "coflux_server.request_auth.authenticate_requests",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "coflux_server.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "coflux_server.urls"
ASGI_APPLICATION = "coflux_server.asgi.application"

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
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI each request does its database work in a thread of its own, so a
        # persistent connection would never be reused: every request would open one (a new
        # PostgreSQL backend process). A pool hands connections from request to request, each
        # checked as it is handed out (so none is dead after the database restarted).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(env_float("COFLUX_DB_POOL_SIZE", 20)),
            "timeout": 30,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": data_dir.private_file(DATA_DIR / "coflux.sqlite3"),
            # The orchestrator and the consumers keep their connections between calls.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # Several threads write (the orchestrator, API views): wait for the lock rather
                # than failing, take the write lock up front, and let readers run beside a writer.
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # The layer waits on Redis with blocking pops; redis-py 8's default socket
                # timeout would cut those off every 5 seconds.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "capacity": 10000,
                "prefix": env_str("COFLUX_CHANNEL_PREFIX", "coflux"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000},
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["coflux_server.api_parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["coflux_server.api_auth.DoorAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "coflux_server.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A refusal of the body as a whole is reported under "body" (see api_errors.invalid_request).
    "NON_FIELD_ERRORS_KEY": "body",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

# The OpenAPI schema at /api/schema/ and its browsable docs at /api/docs/ (coflux_server.api_docs).
SPECTACULAR_SETTINGS = {
    "TITLE": "Coflux API",
    "DESCRIPTION": (BASE_DIR / "coflux_server" / "api_description.md").read_text(),
    "VERSION": version("coflux-server"),
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get components of their own, so that "not blank" (minLength 1) is said of
    # what clients send and not of what the API answers.
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "token": {
                "type": "http",
                "scheme": "bearer",
                "description": "A super token, a service token or a worker session's token.",
            }
        }
    },
    "SECURITY": [{"token": []}],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runs.run_list.RUN_STATUSES",
        "WorkspaceStateEnum": "workspaces.models.Workspace.State",
        "PoolTypeEnum": "workspaces.models.Pool.Type",
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Studio: every page needs a logged-in user; no page may be framed (clickjacking), and the
# Content-Security-Policy (coflux_server.security) allows our own scripts and styles only.
AUTHENTICATION_BACKENDS = ["projects.backends.ThrottledModelBackend"]
LOGIN_URL = "studio:login"
LOGIN_REDIRECT_URL = "studio:home"
LOGOUT_REDIRECT_URL = "studio:login"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

COFLUX_PROJECT = env_str("COFLUX_PROJECT", "default")
COFLUX_SESSION_GRACE = env_float("COFLUX_SESSION_GRACE", 30.0)
"""Seconds a disconnected worker session may take to reconnect before its work is abandoned."""
COFLUX_LEASE_SECONDS = env_float("COFLUX_LEASE_SECONDS", 15.0)
"""How long an orchestrator's claim on a project lasts without renewal."""
COFLUX_MAX_BLOB_BYTES = env_int("COFLUX_MAX_BLOB_BYTES", 5 * 1024**3, minimum=1)
"""The largest blob the server stores (other request bodies: ``DATA_UPLOAD_MAX_MEMORY_SIZE``)."""
COFLUX_LAUNCHER_TYPES = [
    kind.strip() for kind in env_str("COFLUX_LAUNCHER_TYPES", "").split(",") if kind.strip()
]
"""Which kinds of pool may launch workers (process, docker, kubernetes); none by default, since a
pool runs whatever its configuration names."""
if set(COFLUX_LAUNCHER_TYPES) - {"process", "docker", "kubernetes"}:
    raise ImproperlyConfigured("COFLUX_LAUNCHER_TYPES lists process, docker and/or kubernetes")
COFLUX_CLI_PATH = env_str("COFLUX_CLI_PATH", "")
"""The ``coflux`` command process pools start workers with (default: this Python's
``-m coflux``)."""
COFLUX_LAUNCH_STOP_SECONDS = env_float("COFLUX_LAUNCH_STOP_SECONDS", 150.0)
"""How long a stopped pool worker may drain before it is killed."""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "coflux": {"handlers": ["console"], "level": env_str("COFLUX_LOG_LEVEL", "INFO")},
        # Failures that escape a view's own handling: with DEBUG off Django only mails them.
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}
