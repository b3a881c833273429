"""Settings, read once from the environment.

With no environment at all the project runs on the embedded default: a SQLite
file and the in-memory channel layer, which is right for one process.
DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis for everything else.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from documents.conf import DEFAULTS as COLLAB_DEFAULTS
from editor_project.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

_secret = env_str("SECRET_KEY")
if _secret is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    _secret = "insecure-development-key-change-me-" + "x" * 20
SECRET_KEY: str = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "documents",
]

MIDDLEWARE = [
    # First: every later line of a request's log carries its id.
    "editor_project.logs.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the policy too.
    "editor_project.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "editor_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "editor_project.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # A database host that drops packets must not hold a connection attempt (a socket's way
    # in, a commit) for the kernel's TCP timeout; a ?connect_timeout= in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)

REDIS_URL = env_str("REDIS_URL")
CHANNEL_LAYERS: dict[str, Any]
# "pubsub" (the default with Redis): Redis pub/sub (documents/realtime/layer.py), read by
# one task per process straight off its socket. "core": channels_redis's lists, which a
# process drains one message at a time, four Redis commands each (about 90 a second here,
# fewer than two busy processes send each other: carets then arrived seconds late). Either
# can lose messages (a full channel, a Redis restart); rooms heal updates from the database
# and presence from heartbeats.
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in ("pubsub", "core"):
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be pubsub or core, not {CHANNEL_LAYER!r}")
if REDIS_URL and CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "documents.realtime.layer.PubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "collab") or "collab",
            },
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # One message per document update per server process sits in a
                # channel; 100 (the default) drops silently under a burst. Gaps
                # are healed from the database either way.
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000),
                "expiry": 30,
                "group_expiry": 86400,
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "collab") or "collab",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000), "expiry": 30},
        }
    }

# The cache holds the login, sign-up and version throttles (documents/web/throttle.py):
# in Redis, their limits hold across server processes; in memory, per process.
CACHES: dict[str, Any]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CHANNEL_LAYER_PREFIX", "collab") or "collab",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Mail: confirmation links for e-mail addresses (documents/accounts/mail.py).
# Printed to the console unless EMAIL_HOST names an SMTP server; EMAIL_BACKEND
# may name any other Django backend.
EMAIL_HOST = env_str("EMAIL_HOST") or ""
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    # SSL is TLS from the first byte (port 465); STARTTLS upgrades a plain connection.
    if env_str("EMAIL_USE_TLS") is not None:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
    EMAIL_USE_TLS = False
# A slow mail server must not hold a sign-up for long; the mail can be resent.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Editor <noreply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The site's address, for links in mails sent away from any request (a thread's
# batched comment mail, sent by the mail sweep). A request's own mails link to
# the host it came to. By default the first trusted origin (the address the
# browsers use behind a TLS proxy).
_site_url = env_str("SITE_URL") or next(
    (origin for origin in CSRF_TRUSTED_ORIGINS if "*" not in origin), "http://localhost:8000"
)
if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", _site_url):
    raise ImproperlyConfigured(f"SITE_URL={_site_url!r} is not an http(s) address")
SITE_URL = _site_url.rstrip("/")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "document-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes. The editor bundle is built into the documents app
# (documents/static/editor/), so the app-directories finder serves it and the
# wheel ships it; there are no extra STATICFILES_DIRS.
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploaded images live in the default storage (the file system under
# MEDIA_ROOT) unless STORAGES names an "images" backend.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Behind a TLS-terminating proxy these belong on; off by default so a
    # plain-HTTP trial deployment still works.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    # Health checks come from inside the host, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    # A site that redirects everything to HTTPS is HTTPS only: browsers may
    # remember that for a year. Over plain HTTP the header would be ignored.
    SECURE_HSTS_SECONDS = env_int(
        "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SECURE_SSL_REDIRECT else 0
    )
    # Only covers names below the site's own host (*.docs.example.com).
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [
        # Joining the browsers' preload list is hard to undo: the operator's
        # decision, made with SECURE_HSTS_PRELOAD, not a default.
        *([] if SECURE_HSTS_PRELOAD or not SECURE_HSTS_SECONDS else ["security.W021"]),
        # SECURE_SSL_REDIRECT=false said explicitly: a plain-HTTP trial, where
        # neither the redirect nor HSTS can apply.
        *(
            ["security.W008", "security.W004"]
            if env_str("SECURE_SSL_REDIRECT") is not None and not SECURE_SSL_REDIRECT
            else []
        ),
    ]


# App tunables: documents/conf.py holds the defaults and documents them; any
# of them can be overridden with a COLLAB_<NAME> variable.
def _collab_reader(default: Any) -> Any:
    if isinstance(default, bool):  # before int: a bool is an int too
        return env_bool
    return env_float if isinstance(default, float) else env_int


COLLAB: dict[str, Any] = {
    key: _collab_reader(default)(f"COLLAB_{key}", default)
    for key, default in COLLAB_DEFAULTS.items()
    if env_str(f"COLLAB_{key}")
}

# GET /metrics (documents/metrics.py): answered for these addresses or networks,
# or for a request with `Authorization: Bearer <METRICS_TOKEN>`; 404 otherwise.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"])
for _network in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an address or network"
        ) from None

# The editor exposes its internals on `window` for the end-to-end tests only.
EDITOR_TEST_HOOKS = env_bool("EDITOR_TEST_HOOKS", False)

# "plain" lines for people, "json" (one object per line, with request and
# socket ids) for log collectors: editor_project/logs.py.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "editor_project.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "editor_project.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    # One handler, on the root: Daphne's and the app's lines each print once.
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "documents": {"level": env_str("LOG_LEVEL", "INFO")},
    },
}
