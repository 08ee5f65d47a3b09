"""KAM settings: one module, driven by the environment (django-environ).

KAM_ENV=development (default) generates a SECRET_KEY into var/ and turns DEBUG on;
KAM_ENV=production requires SECRET_KEY and ALLOWED_HOSTS and turns DEBUG off.
DATABASE_URL / REDIS_URL unset: the embedded PostgreSQL and Redis under var/ are used.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

KAM_ENV = env.str("KAM_ENV", default="development")
PRODUCTION = KAM_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)


def _development_secret_key() -> str:
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY") if PRODUCTION else env.str("SECRET_KEY", default="") or _development_secret_key()
ALLOWED_HOSTS = (
    env.list("ALLOWED_HOSTS")
    if PRODUCTION
    else env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Database: the app role at runtime, the owner role for migrations (DESIGN section 2) --------

if "DATABASE_URL" in env:
    DATABASE_APP_URL = env.str("DATABASE_URL")
    DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default=DATABASE_APP_URL)
else:
    from kam import embedded

    DATABASE_APP_URL, DATABASE_OWNER_URL = embedded.postgres_urls()


def _database(url: str) -> dict:
    config = env.db_url_config(url)
    # A Unix socket directory is written URL-encoded in the host (postgres://user@%2Fpath/db).
    config["HOST"] = unquote(config.get("HOST") or "")
    config.update(
        CONN_MAX_AGE=env.int("CONN_MAX_AGE", default=60),
        # A connection broken by a PostgreSQL restart is replaced at the next request or task.
        CONN_HEALTH_CHECKS=True,
        # The middleware opens the request transaction itself (it must set the tenant inside it).
        ATOMIC_REQUESTS=False,
        # client_connection_check_interval: a backend whose client died (a killed worker) stops its
        # query within seconds and frees its locks, instead of running on to the end (kam/recovery.py).
        OPTIONS={
            "connect_timeout": 5,
            "application_name": "kam",
            "options": "-c client_connection_check_interval=2000",
        },
    )
    return config


DATABASES = {"default": _database(DATABASE_APP_URL)}
# Credentials used by `migrate` and by the test database set-up: the tables' owner.
DATABASE_OWNER = _database(DATABASE_OWNER_URL)
# The runtime role, granted its privileges after every migrate (kam/rls.py).
DATABASE_APP_ROLE = DATABASES["default"]["USER"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, throttling ------------------------------------------------------------

if "REDIS_URL" in env:
    REDIS_URL = env.str("REDIS_URL")
else:
    from kam import embedded

    REDIS_URL = embedded.redis_url()


def _kombu_url(url: str) -> str:
    # redis-py spells a socket unix:///path?db=0; kombu spells it redis+socket:///path?virtual_host=0.
    if url.startswith("unix://"):
        path, _sep, query = url[len("unix://") :].partition("?")
        db = dict(part.split("=", 1) for part in query.split("&") if "=" in part).get("db", "0")
        return f"redis+socket://{path}?virtual_host={db}"
    return url


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kam"),
        "TIMEOUT": 300,
    }
}

# --- Applications ---------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "kam.apps.KamConfig",
    "accounts.apps.AccountsConfig",
    "scoring.apps.ScoringConfig",
    "teams.apps.TeamsConfig",
    # Before risk: seed_demo loads each app's demo in this order, and risk's demo runs read the renewals.
    "renewals.apps.RenewalsConfig",
    "risk.apps.RiskConfig",
    "service.apps.ServiceConfig",
    "growth.apps.GrowthConfig",
    "portfolio.apps.PortfolioConfig",
    # After risk: the demo's channels start empty of the demo's alerts (the sink shows what comes next).
    "messaging.apps.MessagingConfig",
    "dashboards.apps.DashboardsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kam.security.ContentSecurityPolicyMiddleware",
    # Before anything reads the body: size limits, NUL bytes and invalid UTF-8 (kam/security.py).
    "kam.security.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # Wraps the view in the request transaction and sets the tenant inside it.
    "kam.middleware.TenantMiddleware",
    # Inside the request transaction, in its tenant: one audit row per token request or 403.
    "kam.security.AccessAuditMiddleware",
]

ROOT_URLCONF = "kam.urls"
WSGI_APPLICATION = "kam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kam.context_processors.tenant",
            ],
        },
    },
]

# --- Users and login ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "kam.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# Login throttling: 5 failures for one e-mail from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The lock-out page with Retry-After (the cool-off), kam/security.py.
AXES_LOCKOUT_CALLABLE = "kam.security.lockout_response"

# --- Internationalisation ---------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files (vendored; WhiteNoise serves them in every mode) ------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # Development serves from the finders; the empty root only keeps WhiteNoise from warning.
    STATIC_ROOT.mkdir(exist_ok=True)

# --- Uploaded documents (contracts): outside the static files, never served by URL -------------------

# Files are stored here and reach a browser only through a view that checks the tenant and the
# reader (accounts/documents.py); MEDIA_URL is deliberately unset.
MEDIA_ROOT = Path(env.str("KAM_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- E-mail -----------------------------------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="KAM <kam@localhost>")
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))

# --- Needs by e-mail and chat bots (service/inbound/, docs/service.md, Capture) ----------------------

# The SMTP receiver that `make run` starts: mail to needs+<tenant-slug>@SERVICE_MAIL_DOMAIN.
SERVICE_SMTP_HOST = env.str("SERVICE_SMTP_HOST", default="127.0.0.1")
SERVICE_SMTP_PORT = env.int("SERVICE_SMTP_PORT", default=2525)
SERVICE_MAIL_DOMAIN = env.str("SERVICE_MAIL_DOMAIN", default="kam.localhost")
# A larger message is refused with 552 while it is sent.
SERVICE_MAIL_MAX_BYTES = env.int("SERVICE_MAIL_MAX_BYTES", default=25 * 1024 * 1024)
# Bot callbacks: the largest body taken (413 above), and how old a signed timestamp may be
# (WeCom and Feishu; DingTalk's own rule is one hour).
SERVICE_HOOK_MAX_BYTES = env.int("SERVICE_HOOK_MAX_BYTES", default=1024 * 1024)
SERVICE_HOOK_REPLAY_SECONDS = env.int("SERVICE_HOOK_REPLAY_SECONDS", default=300)

# --- Channels: WeCom, DingTalk and Feishu group robots, e-mail, webhooks (docs/channels.md) ----------

# The address of KAM that messages link to (they are read outside the browser).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# In production a robot channel sends only to its vendor's hosts, over https.
CHANNEL_VENDOR_HOSTS = {
    "wecom_robot": env.list("CHANNEL_WECOM_HOSTS", default=["qyapi.weixin.qq.com"]),
    "dingtalk_robot": env.list("CHANNEL_DINGTALK_HOSTS", default=["oapi.dingtalk.com"]),
    "feishu_robot": env.list("CHANNEL_FEISHU_HOSTS", default=["open.feishu.cn", "open.larksuite.com"]),
}
CHANNEL_VENDOR_HOSTS_ONLY = env.bool("CHANNEL_VENDOR_HOSTS_ONLY", default=not DEBUG)
# The local receiver `make run` starts, where the demo's channels point (messaging/sink.py).
CHANNEL_SINK_PORT = env.int("CHANNEL_SINK_PORT", default=8026)

# --- REST API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kam.api.auth.BearerTokenAuthentication",
        "kam.api.auth.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kam.api.permissions.TenantAccess"],
    "DEFAULT_PAGINATION_CLASS": "kam.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["kam.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="1200/minute")},
    "DEFAULT_SCHEMA_CLASS": "kam.api.schema.KamAutoSchema",
    "EXCEPTION_HANDLER": "kam.api.errors.exception_handler",
    # JSON with limits (depth, NUL, finite numbers: kam/api/parsers.py), forms and multipart uploads.
    "DEFAULT_PARSER_CLASSES": [
        "kam.api.parsers.KamJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "KAM API",
    "DESCRIPTION": (
        "Key account management (大客户管理) API for integrators. Authenticate with "
        "`Authorization: Bearer <token>`; the token decides the tenant. Lists use cursor pagination "
        "(`?page_size=` up to 500). Money is a string with two decimals, dates are ISO 8601. "
        'Errors share one shape: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The API base's docstrings are no operation's description (kam/api/schema.py).
    "GET_LIB_DOC_EXCLUDES": "kam.api.schema.lib_doc_excludes",
    # One enum per choice set, whatever the field is called (tier, computed_tier, ...).
    # ETag / If-None-Match / If-Match and their 304 and 412 on the detail resources (kam/api/viewsets.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kam.api.viewsets.document_conditional_requests",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "accounts.models.Tier",
        "ImportKindEnum": "accounts.models.ImportKind",
        "ImportStatusEnum": "accounts.models.ImportStatus",
        "TeamLevelEnum": "teams.models.Level",
        "StrengthEnum": "teams.models.Strength",
        "InitiativeKindEnum": "teams.models.InitiativeKind",
        "ActionStatusEnum": "teams.models.ActionStatus",
        "RuleKindEnum": "teams.models.RuleKind",
        "NeedStatusEnum": "service.models.NeedStatus",
        "RouteToEnum": "service.models.RouteTo",
        "FunctionEnum": "teams.models.Function",
        "RenewalStageEnum": "renewals.models.RenewalStage",
        "AlertKindEnum": "risk.models.alert_kind_values",
        "ChannelKindEnum": "messaging.models.ChannelKind",
        "ChannelDeliveryStatusEnum": "messaging.models.DeliveryStatus",
    },
}

# --- Celery (DESIGN section 7) -------------------------------------------------------------------

CELERY_BROKER_URL = _kombu_url(REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 50 * 60
CELERY_TASK_TIME_LIMIT = 60 * 60  # the longest hard limit of any task
# A message not acknowledged within the visibility timeout is redelivered; it must outlast every task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "retry_on_timeout": True,
    "health_check_interval": 30,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Two queues: what people wait for (the default queue: a rescore after an event, an import,
# a preview, a test message) and the batch beat sends (the nightly cycle, the sweeps), each
# with its own workers, so that the batch never holds up interactive work (docs/operations.md).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_INTERACTIVE_QUEUE", default="celery")
KAM_BATCH_QUEUE = env.str("CELERY_BATCH_QUEUE", default="kam-batch")
# Each tenant's nightly jobs are shifted by up to this many minutes (kam/nightly.py).
NIGHTLY_STAGGER_MINUTES = env.int("NIGHTLY_STAGGER_MINUTES", default=60)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The schedule itself lives in kam/celery.py (CELERY_BEAT_SCHEDULE there, in code).

# --- Security headers ---------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    # Behind a TLS reverse proxy that sends X-Forwarded-Proto (docs/operations.md, server install).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The container's healthcheck asks over plain HTTP from inside (docker-compose.yml).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Only a token in the header: browsers preload a site only once it is submitted to their list.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# No inline script anywhere (json_script data is not script). Inline styles remain in some
# templates (progress bars' widths, two <style> blocks), hence 'unsafe-inline' for styles only.
# Redoc builds its search index in a blob: worker.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# --- Request limits (kam/security.py, kam/api/parsers.py): refused before the body is read -----------

# Django's own limit on a body that is not a file upload; larger is refused with 413 by its Content-Length.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
REQUEST_MAX_BODY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# Upload views with a limit of their own (imports: 50 MB a file, accounts/imports/uploads.py; contract
# documents: 20 MB, accounts/documents.py);
# nothing above this ceiling reaches them.
REQUEST_UPLOAD_URL_NAMES = frozenset(
    {
        "imports-list",
        "api-imports-list",
        # a contract's document (20 MB, accounts/documents.py)
        "accounts-contract-create",
        "accounts-contract-edit",
        "api-contract-document",
    }
)
REQUEST_MAX_UPLOAD_SIZE = 64 * 1024 * 1024
# Longer query strings are refused with 414 (gunicorn's own request-line limit is 4094 bytes).
REQUEST_MAX_QUERY_STRING = 8192
# JSON bodies of the API: nested at most this deep (DRF's parser would otherwise hit Python's recursion limit).
API_JSON_MAX_DEPTH = 20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
