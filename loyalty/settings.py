"""Trouw settings. The environment is read here, once, and parsed strictly.

Every variable is documented in README.md ("Configuration"). Development defaults need nothing:
SQLite in ``var/``, an embedded Celery broker on the file system, e-mail on the console.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TROUW_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _env_int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ImproperlyConfigured(f"{name} must be a whole number {low}–{high}, got {raw!r}")
    return int(raw)


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development").strip().lower()
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production, got {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"

DEBUG = _env_bool("DJANGO_DEBUG", default=DJANGO_ENV == "development")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_ENV=production")
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40

ALLOWED_HOSTS = _env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "loyalty",
    "members",
    "rewards",
    "tiers",
    "charity",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "loyalty.middleware.ResetTimezoneMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "loyalty.middleware.ContentSecurityPolicyMiddleware",
]
# The JSON API (/api/v1/) is served with these only (loyalty/handlers.py): a till's call has no
# session, CSRF token, messages, signed-in user or static files, and pays for every layer.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "loyalty.middleware.ResetTimezoneMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"
ASGI_APPLICATION = "loyalty.asgi.application"

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
                "csp.context_processors.nonce",
                "loyalty.context_processors.front_doors",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------
# The card indexes INCLUDE the columns the earn reads (loyalty migration 0022), for PostgreSQL's
# index-only scans; SQLite, the embedded default, builds them without those columns, as intended.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite:")):
        raise ImproperlyConfigured(
            "DATABASE_URL must be a postgres:// or sqlite:// URL, got " + DATABASE_URL.split(":")[0]
        )
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        _pool_max = os.environ.get("DATABASE_POOL_MAX_SIZE", "").strip() or "8"
        if not _pool_max.isdigit() or not 0 <= int(_pool_max) <= 1000:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MAX_SIZE must be a whole number 0–1000, got {_pool_max!r}")
        DATABASE_POOL_MAX_SIZE = int(_pool_max)
        if DATABASE_POOL_MAX_SIZE:
            # One pool per process (psycopg_pool): a request borrows a connection and gives it
            # back when it ends, so a threaded server (runserver starts a thread per
            # connection) never holds more than this many; a connection, and the statements
            # psycopg prepared on it, lives on in the pool. Waiting longer than `timeout` for
            # one is an error (500), not a queue without end. 0: no pool, a connection per
            # request (behind PgBouncer, which pools them itself).
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": 1, "max_size": DATABASE_POOL_MAX_SIZE, "timeout": 10,
            }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _env_bool(
        "DATABASE_SERVER_SIDE_BINDING", True
    ):
        # Parameters travel apart from the SQL, so psycopg prepares a statement the connection
        # runs often (the earn's) and PostgreSQL plans it once (docs/benchmarks.md). Switch it
        # off behind PgBouncer older than 1.21 in transaction mode.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "trouw.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis:// or rediss:// URL")

# A task not acknowledged within the visibility timeout is handed to another worker
# (acks_late): it must be longer than any task's hard time limit, and no task is given an
# ETA (countdown) longer than it. A dead Redis fails at once (no retries, 1 s to connect), so
# recording a purchase never waits for it: the outbox row is written, the sweep sends it.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
if REDIS_URL:
    # Redis, with the process's memory standing in while Redis does not answer: allauth's
    # sign-in rate limits live in the cache and fail closed (429), see loyalty/cache.py.
    CACHES = {"default": {"BACKEND": "loyalty.cache.RedisWithLocalFallback",
                          "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = dict(REDIS_BROKER_TRANSPORT_OPTIONS)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Embedded broker: messages are files under var/celery, so `make run` needs no Redis.
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A worker killed half-way (SIGKILL, out of memory) gives its task back to the queue instead
# of acknowledging it: the tasks are idempotent, so running one again is safe.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Time limits: the soft one raises inside the task, the hard one kills its process; both well
# under the broker's visibility timeout (1 hour).
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_TIME_LIMIT = 600
# Publishing never waits for a broker that is away: one try, a short connect timeout.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# The worker itself keeps trying to reach the broker (at start and after losing it).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")

# --- Auth (django-allauth: one e-mail login for every role) ----------------------------------
AUTH_USER_MODEL = "loyalty.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "start"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = os.environ.get(
    "ACCOUNT_EMAIL_VERIFICATION", "mandatory" if PRODUCTION else "optional"
)
if ACCOUNT_EMAIL_VERIFICATION not in {"mandatory", "optional", "none"}:
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none")
ACCOUNT_SIGNUP_FORM_CLASS = "loyalty.forms.SignupExtraForm"
ACCOUNT_ADAPTER = "loyalty.adapters.AccountAdapter"
ACCOUNT_SIGNUP_REDIRECT_URL = "dashboard:shop_create"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_SESSION_REMEMBER = None

# --- E-mail ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("EMAIL_PORT", 25, low=1, high=65535)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
# An SMTP server that stops answering must not hold a worker: the send fails and is retried.
EMAIL_TIMEOUT = _env_int("EMAIL_TIMEOUT", 15, low=1, high=300)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Trouw <no-reply@trouw.local>")
# Any other backend by setting, e.g. django-anymail (EMAIL_BACKEND=
# anymail.backends.postmark.EmailBackend, ANYMAIL_POSTMARK_SERVER_TOKEN=…): every ANYMAIL_*
# variable becomes the Django setting of that name, which anymail reads.
globals().update({name: value for name, value in os.environ.items()
                  if name.startswith("ANYMAIL_")})
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch")), ("sv", _("Swedish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage" if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token travels in hx-headers
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # /healthz is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

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
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "loyalty.api.ApiSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "loyalty.api.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trouw API",
    "DESCRIPTION": "Loyalty programs for small shops: members, purchases and rewards for tills "
    "and webshops. Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # No CDN: Swagger UI's files come from drf-spectacular-sidecar, served as our static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Trouw -----------------------------------------------------------------------------------
# Absolute links in e-mails (invitations) start with this.
TROUW_BASE_URL = os.environ.get("TROUW_BASE_URL", "http://127.0.0.1:8000")
TROUW_INVITATION_MAX_AGE_DAYS = int(os.environ.get("TROUW_INVITATION_MAX_AGE_DAYS", "7"))
# How long a process may keep an API key's row (with its shop and rules in force) between
# calls: a revoked key, or new rules, reach other processes within this many seconds (0: ask
# the database on every call).
TROUW_API_KEY_CACHE_SECONDS = int(os.environ.get("TROUW_API_KEY_CACHE_SECONDS", "5"))
# How long the answer to an API write with an Idempotency-Key is kept for replays (a daily task
# deletes older ones).
TROUW_IDEMPOTENCY_KEEP_DAYS = int(os.environ.get("TROUW_IDEMPOTENCY_KEEP_DAYS", "30"))
# What each of the core's moments does beyond the core, in order, inside the moment's own
# transaction (loyalty/moments.py): one place that shows everything a moment does. Each entry
# is the dotted path of a function; its keyword arguments are the moment's:
#   purchase  effect(*, purchase)       a purchase is recorded (after its points)
#   refund    effect(*, refund)         a purchase is refunded or undone (after its points)
#   enrolment effect(*, membership)     a customer gets a card (after the sign-up bonus)
#   birthday  effect(*, shop, gifts)    a batch of a shop's birthday gifts (after their points)
#   referral  effect(*, membership, count)  a member's referred friends now number ``count``
#             (the card locked; announced by the referrals once they exist)
TROUW_EFFECTS: dict[str, list[str]] = {
    # Badges first: a badge's bonus points count towards the level decided after them.
    "purchase": ["tiers.badges.services.badges_award", "tiers.services.purchase_level_up",
                 "charity.services.purchase_donate"],
    "refund": ["tiers.badges.services.badges_refund_check", "tiers.services.refund_level_back",
               "charity.services.refund_donation_back"],
    "enrolment": ["members.services.welcome_write"],
    "birthday": ["rewards.services.birthday_vouchers_issue"],
    "referral": ["tiers.badges.services.badges_referral_award"],
}
# What the purchase's effects want read in the earn's own statement, so that they need no round
# trip of their own (PostgreSQL, a purchase that earns points: the statement that writes the
# purchase, its entry, its lot and the balance, right after the card's lock). Each is a function
# ``read(*, purchase, membership, now, items) -> (sql, params) | None`` (``items``: the
# purchase's lines, not yet written) giving one value as a scalar subquery. The statement's own
# writes are not visible to a subquery of it: ``p`` is the new purchase (``id``, ``created_at``,
# ``amount``, ``refunded_amount``) and ``e`` its earn entry (``id``, ``points``). The value lands
# in ``purchase.earn_reads[path]``; an effect that finds none there reads for itself (SQLite, a
# purchase that earns no points).
TROUW_EARN_READS: list[str] = ["tiers.badges.services.earn_read"]
# The e-mails the outbox sends, by kind: who renders one (a function of the app the kind
# belongs to, ``render(message) -> loyalty.emails.Email | None``; None: nothing to send any
# more), whether it is marketing (sent only with the member's consent, with a one-click
# unsubscribe), its name for the owner (the member's page lists the e-mails), and optionally
# ``sent``: a function called with the message once it went out.
TROUW_EMAIL_KINDS: dict[str, dict] = {
    "staff_invitation": {"render": "loyalty.emails.staff_invitation", "marketing": False,
                         "label": _("Team invitation"),
                         "sent": "loyalty.emails.staff_invitation_sent"},
    "welcome": {"render": "members.emails.welcome", "marketing": False,
                "label": _("Welcome")},
    "voucher_issued": {"render": "rewards.emails.voucher_issued", "marketing": False,
                       "label": _("Voucher")},
    "voucher_expiring": {"render": "rewards.emails.voucher_expiring", "marketing": True,
                         "label": _("Voucher expiry reminder")},
    "birthday": {"render": "loyalty.emails.birthday", "marketing": True,
                 "label": _("Birthday")},
    "points_expiring": {"render": "loyalty.emails.points_expiring", "marketing": True,
                        "label": _("Points expiry reminder")},
    "level_ending": {"render": "tiers.emails.level_ending", "marketing": True,
                     "label": _("Level ending reminder")},
}
# The outbox (loyalty/services/outbox.py): tries before a message counts as failed, the first
# wait after a failed try (doubling each time, at most 6 hours), messages a drain sends before
# it hands on to the next, how many it claims at once (one commit each way per batch; a worker
# killed mid-batch leaves at most this many for the sweep to settle), how long one drain may
# send, after how long a message still
# "sending" is given up (the worker was killed; longer than any outbox task may run), and how
# many drains a sweep may start at once.
TROUW_OUTBOX_MAX_ATTEMPTS = _env_int("TROUW_OUTBOX_MAX_ATTEMPTS", 8, low=1, high=50)
TROUW_OUTBOX_BACKOFF_SECONDS = _env_int("TROUW_OUTBOX_BACKOFF_SECONDS", 60, low=1, high=3600)
TROUW_OUTBOX_BATCH = _env_int("TROUW_OUTBOX_BATCH", 500, low=1, high=100_000)
TROUW_OUTBOX_CLAIM_BATCH = _env_int("TROUW_OUTBOX_CLAIM_BATCH", 25, low=1, high=1000)
TROUW_OUTBOX_DRAIN_SECONDS = _env_int("TROUW_OUTBOX_DRAIN_SECONDS", 60, low=1, high=100)
TROUW_OUTBOX_STUCK_SECONDS = _env_int("TROUW_OUTBOX_STUCK_SECONDS", 900, low=300, high=86400)
TROUW_OUTBOX_SWEEP_MAX_DRAINS = _env_int("TROUW_OUTBOX_SWEEP_MAX_DRAINS", 4, low=1, high=100)
# The page a marketing e-mail's unsubscribe link opens (a URL name; it takes the token).
TROUW_UNSUBSCRIBE_URL = "member_unsubscribe"
# An open voucher's reminder goes out this many days before it expires (at the shop's local
# day time; rewards/tasks.py).
TROUW_VOUCHER_REMINDER_DAYS = _env_int("TROUW_VOUCHER_REMINDER_DAYS", 3, low=1, high=60)
# Where the other apps plug into the core's pages, by URL name (the core imports none of them):
# links in the dashboard's side menu and on the portal card, panels that the counter's member
# page loads with htmx, and the page the counter's search sends a voucher code to.
# The dashboard's links are always there (the owner switches a program on from its page). A
# portal link may name, third, a boolean field of the shop that says whether it applies (the
# member's card shows it only while that field is true; a field loaded with the shop, so it
# costs no query): no "Levels" in a shop without levels.
TROUW_DASHBOARD_LINKS = [("rewards_catalogue", _("Rewards")), ("tiers_levels", _("Levels")),
                         ("badges_list", _("Badges")), ("charity_program", _("Charity"))]
TROUW_PORTAL_LINKS = [("portal_rewards", _("Rewards")),
                      ("portal_levels", _("Levels"), "levels_enabled"),
                      ("portal_achievements", _("Achievements"), "badges_enabled"),
                      ("portal_impact", _("My impact"), "charity_enabled")]
TROUW_COUNTER_MEMBER_PANELS = ["counter_member_rewards", "counter_member_charity"]
# What the counter's earn form offers beside the amount (a round-up for the shop's charity):
# the dotted path of ``offer(*, membership, amount=None) -> dict | None`` (None: nothing to
# offer; else ``charity``, ``max``, ``currency`` and, for a typed amount, ``round_up`` and
# ``rounded``); the form sends ``round_up`` or ``donation_amount`` as the purchase's extras.
TROUW_COUNTER_DONATION_OFFER: str | None = "charity.selectors.counter_donation_offer"
TROUW_DASHBOARD_MEMBER_PANELS = ["rewards_member_vouchers", "tiers_member_level",
                                 "charity_member_panel"]
TROUW_COUNTER_CODE_LOOKUP = "counter_voucher"
# Panels of other apps on a shop's public page, by URL name (a public view taking shop_slug that
# renders a fragment); the page renders them in the same request (members.views.public).
TROUW_PUBLIC_PAGE_PANELS = ["public_rewards", "charity_public_panel"]
# Birthday gifts (loyalty/services/birthdays.py). A birthday set or changed less than this many
# days before it falls counts from the next year. What other apps add to the gift (a voucher),
# in words for pages and the owner: dotted paths of ``describe(*, shop) -> str | None``; the
# job runs for a shop whose program gives birthday points or one of these gives something.
TROUW_BIRTHDAY_NOTICE_DAYS = int(os.environ.get("TROUW_BIRTHDAY_NOTICE_DAYS", "30"))
if not 0 <= TROUW_BIRTHDAY_NOTICE_DAYS <= 365:
    raise ImproperlyConfigured("TROUW_BIRTHDAY_NOTICE_DAYS must be 0 to 365 days")
TROUW_BIRTHDAY_GIFT_EXTRAS = ["rewards.selectors.birthday_reward_words"]
# Who tells how far members are from the next level (tiers), for the members API's
# ``level.progress``: ``f(*, shop, memberships) -> {membership id: {"next_level", "left",
# "percent"} | None}``, a whole page of cards in a constant number of queries.
TROUW_LEVEL_PROGRESS: str | None = "tiers.selectors.level_progress_many"
# Who names a shop's levels by rank (``f(*, shop) -> {rank: name}``), for rewards kept for a
# minimum level ("For members from level Zilver up.").
TROUW_LEVEL_NAMES: str | None = "tiers.selectors.level_names"
# Who gives a level its own birthday points (``f(*, shop) -> {rank: points}``, only the levels
# that set them; empty without levels): the birthday job and its words, read once per shop run.
TROUW_BIRTHDAY_POINTS_BY_LEVEL: str | None = "tiers.selectors.birthday_points_by_level"
# Cards per transaction of the birthday job (locked, given and e-mailed together).
TROUW_BIRTHDAY_BATCH_SIZE = int(os.environ.get("TROUW_BIRTHDAY_BATCH_SIZE", "1000"))
if TROUW_BIRTHDAY_BATCH_SIZE < 1:
    raise ImproperlyConfigured("TROUW_BIRTHDAY_BATCH_SIZE must be 1 or more")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if DJANGO_ENV == "test":
    # Test settings only make things faster.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ACCOUNT_RATE_LIMITS = False  # the suite signs in many times from one address
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
