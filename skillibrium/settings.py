"""Skillibrium settings: everything a deployment changes comes from the environment (README lists each)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
# The embedded database, collected static files and the demo's sandbox and mail.
VAR_DIR = Path(os.environ.get("SKILLIBRIUM_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


ENVIRONMENT = env("SKILLIBRIUM_ENVIRONMENT", "sandbox")
if ENVIRONMENT not in {"sandbox", "production"}:
    raise ImproperlyConfigured("SKILLIBRIUM_ENVIRONMENT must be 'sandbox' or 'production'.")

DEBUG = env_bool("SKILLIBRIUM_DEBUG", False)
SECRET_KEY = env("SKILLIBRIUM_SECRET_KEY", "insecure-local-only-secret-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SKILLIBRIUM_SECRET_KEY (or SKILLIBRIUM_DEBUG=1 for local use).")
ALLOWED_HOSTS = env("SKILLIBRIUM_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
SITE_URL = env("SKILLIBRIUM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    # Without autodiscovery: the staff admin (skillibrium/shell/staff_admin/) shows only what it registers.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "crontask",
    "health_check",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "skillibrium.core",
    "skillibrium.merge_client",
    "skillibrium.accounts",
    "skillibrium.directory",
    "skillibrium.integrations",
    "skillibrium.sync",
    "skillibrium.provisioning",
    "skillibrium.notifications",
    "skillibrium.demo",
]

MIDDLEWARE = [
    "skillibrium.core.requests.request_ids",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "skillibrium.core.middleware.EndInactiveSessionsMiddleware",
    "skillibrium.accounts.time_zones.OrganizationTimeZoneMiddleware",
    "skillibrium.core.middleware.SignInAsAPageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "skillibrium.shell.errors.NotFoundPageInDebug",
]

ROOT_URLCONF = "skillibrium.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "skillibrium" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "skillibrium.shell.context_processors.skillibrium",
            ],
            # `when` (a time in the organization's zone, labelled) in every template, emails included.
            "builtins": ["skillibrium.accounts.templatetags.zones"],
        },
    },
]
WSGI_APPLICATION = "skillibrium.wsgi.application"
ASGI_APPLICATION = "skillibrium.asgi.application"

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'skillibrium.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database's folder (SKILLIBRIUM_VAR_DIR, say) may not exist yet: the first command makes it.
    Path(str(DATABASES["default"]["NAME"])).parent.mkdir(parents=True, exist_ok=True)
    # The web server, the worker and the scheduler share the file: WAL lets readers run beside one writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # PostgreSQL's JIT compiles any query it prices high, and on an organization's tables that is most of a
    # sync's (a 100,000-person pass: 0.43 s of compiling for 0.2 s of work). Our queries are short: no JIT.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "directory:my_org"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "skillibrium.accounts.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_ADAPTER = "skillibrium.accounts.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
# Addresses from the organization's HRIS or an admin are verified by accepting the invitation; someone who
# signed up cannot sign in before verifying theirs (AccountAdapter.pre_login), whatever this says.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Lockout: after SKILLIBRIUM_LOCKOUT_ATTEMPTS failures for one email, that email cannot sign in with a
# password (even the right one) for SKILLIBRIUM_LOCKOUT_SECONDS; a password reset lifts it. Also per IP.
LOCKOUT_ATTEMPTS = int(env("SKILLIBRIUM_LOCKOUT_ATTEMPTS", "5"))
LOCKOUT_SECONDS = int(env("SKILLIBRIUM_LOCKOUT_SECONDS", "900"))
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": f"20/5m/ip,{LOCKOUT_ATTEMPTS}/{LOCKOUT_SECONDS}s/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_ADAPTER = "skillibrium.accounts.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Skillibrium" if ENVIRONMENT == "production" else "Skillibrium Sandbox"
MFA_ALLOW_UNVERIFIED_EMAIL = True  # see ACCOUNT_EMAIL_VERIFICATION
SOCIALACCOUNT_ADAPTER = "skillibrium.accounts.adapter.SSOAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = False
# SSOAdapter matches people within the identity provider's own organization, never by email across all.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {"provider_class": "skillibrium.accounts.oidc.provider.VerifiedOpenIDConnectProvider"},
    "saml": {"provider_class": "skillibrium.accounts.saml.OrganizationSAMLProvider"},
}
# A sign-in lasts SKILLIBRIUM_SESSION_SECONDS (8 hours) from sign-in, and ends when the browser closes.
SESSION_COOKIE_AGE = int(env("SKILLIBRIUM_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_FAILURE_VIEW = "skillibrium.shell.errors.csrf_failure"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Outside DEBUG, static files are served from STATIC_ROOT under hashed names (the release step collects them),
# so a browser may cache them for ever and a deployment never serves a stale stylesheet.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Shared by every process: sign-in lockout counters, used SAML assertions and OIDC token ids live here.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "skillibrium_cache"}
}
if "SKILLIBRIUM_REDIS_URL" in os.environ:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["SKILLIBRIUM_REDIS_URL"],
    }

TASKS = {
    "default": {
        "BACKEND": env("SKILLIBRIUM_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
CRONTASK = {"REDIS_URL": os.environ["SKILLIBRIUM_REDIS_URL"]} if "SKILLIBRIUM_REDIS_URL" in os.environ else {}

# An invitation's link works this many days; an admin can resend a new one.
INVITATION_DAYS = int(env("SKILLIBRIUM_INVITATION_DAYS", "7"))
# Anyone may create an organization by signing up (their email verified); off in production unless asked.
SELF_SIGNUP = env_bool("SKILLIBRIUM_SELF_SIGNUP", ENVIRONMENT != "production")
# A connection degraded this long (a provider offline, a Merge issue that needs no relink) is told to admins.
DEGRADED_ALERT_HOURS = float(env("SKILLIBRIUM_DEGRADED_ALERT_HOURS", "24"))
DEFAULT_FROM_EMAIL = env("SKILLIBRIUM_FROM_EMAIL", "Skillibrium <no-reply@skillibrium.example>")
SUPPORT_EMAIL = env("SKILLIBRIUM_SUPPORT_EMAIL", "support@skillibrium.example")
# Production sends real email unless told otherwise; elsewhere email is printed.
EMAIL_BACKEND_PATH = env(
    "SKILLIBRIUM_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if ENVIRONMENT == "production"
    else "django.core.mail.backends.console.EmailBackend",
)
MAILER_OPTIONS: dict[str, object] = {}
if "smtp" in EMAIL_BACKEND_PATH:
    MAILER_OPTIONS = {
        "host": env("SKILLIBRIUM_SMTP_HOST", "127.0.0.1"),
        "port": int(env("SKILLIBRIUM_SMTP_PORT", "25")),
        "username": env("SKILLIBRIUM_SMTP_USER", ""),
        "password": env("SKILLIBRIUM_SMTP_PASSWORD", ""),
        "use_tls": env_bool("SKILLIBRIUM_SMTP_STARTTLS", False),
        # A server that accepts and never answers costs the worker this long per attempt, never a sync.
        "timeout": float(env("SKILLIBRIUM_SMTP_TIMEOUT_SECONDS", "10")),
    }
elif "filebased" in EMAIL_BACKEND_PATH:
    MAILER_OPTIONS = {"file_path": env("SKILLIBRIUM_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": MAILER_OPTIONS}}

# Merge.dev: the same client talks to the real Merge or to the local sandbox; only these settings change.
MERGE_API_URL = env("MERGE_API_URL", "http://127.0.0.1:8765/api").rstrip("/")
MERGE_API_KEY = env("MERGE_API_KEY", "sandbox-production-key")
MERGE_WEBHOOK_KEY = env("MERGE_WEBHOOK_KEY", "sandbox-webhook-key")
MERGE_LINK_SCRIPT_URL = env("MERGE_LINK_SCRIPT_URL", "http://127.0.0.1:8765/link/initialize.js")
MERGE_TIMEOUT_SECONDS = float(env("MERGE_TIMEOUT_SECONDS", "30"))
# The plan's per-linked-account limit (Launch 100, Professional 400, Enterprise 600 requests a minute).
MERGE_RATE_LIMIT_PER_MINUTE = int(env("MERGE_RATE_LIMIT_PER_MINUTE", "100"))
MERGE_RETRY_ATTEMPTS = int(env("MERGE_RETRY_ATTEMPTS", "4"))
# Failed requests (>= 400 but 429) the whole fleet may have in 10 s before it holds back (Merge blocks at 21).
MERGE_FLEET_FAILURE_BUDGET = int(env("MERGE_FLEET_FAILURE_BUDGET", "10"))
# The scheduler looks for due syncs this often.
SCHEDULER_TICK_SECONDS = int(env("SKILLIBRIUM_SCHEDULER_TICK_SECONDS", "30"))
# Readiness (/readyz) fails when due background work has waited this long for a worker, or the scheduler
# has not ticked for this long.
READY_BACKLOG_SECONDS = int(env("SKILLIBRIUM_READY_BACKLOG_SECONDS", "600"))
READY_SCHEDULER_SECONDS = int(env("SKILLIBRIUM_READY_SCHEDULER_SECONDS", "180"))
SYNC_INTERVAL_SECONDS = int(env("SKILLIBRIUM_SYNC_INTERVAL_SECONDS", "3600"))
# One sync per integration at a time: a lease renewed on every page, which a dead worker lets expire.
SYNC_LEASE_SECONDS = int(env("SKILLIBRIUM_SYNC_LEASE_SECONDS", "300"))

# Keys for secrets at rest; the first encrypts, all decrypt, so a new key can be put in front of the old one.
FIELD_ENCRYPTION_KEYS = [k for k in env("SKILLIBRIUM_ENCRYPTION_KEYS", "").split(",") if k]

_merge_origin = MERGE_LINK_SCRIPT_URL.split("/", 3)[:3]
MERGE_LINK_ORIGIN = "/".join(_merge_origin)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE, MERGE_LINK_ORIGIN],
    "frame-src": [CSP.SELF, MERGE_LINK_ORIGIN],
    "connect-src": [CSP.SELF, MERGE_LINK_ORIGIN],
    # Provider logos come from Merge's image hosts; images cannot run code.
    "img-src": [CSP.SELF, "data:", "https:", MERGE_LINK_ORIGIN],
    "style-src": [CSP.SELF, CSP.NONCE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a proxy, the web server (uvicorn --proxy-headers) takes the client's address and scheme from
# X-Forwarded-For/-Proto only when the connection comes from SKILLIBRIUM_TRUSTED_PROXIES (docs/deployment.md):
# no client can claim another address to dodge a rate limit, or claim https. Django trusts what it is given.
if ENVIRONMENT == "production" and SITE_URL.startswith("https://"):
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SKILLIBRIUM_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("SKILLIBRIUM_SSL_REDIRECT", True)

# Error pages and reports hide settings, variables and POST fields whose names look secret.
DEFAULT_EXCEPTION_REPORTER_FILTER = "skillibrium.core.diagnostics.SecretsFilter"
# One JSON object per line in production (an event's counts as fields of their own), plain lines elsewhere.
LOG_FORMAT = env("SKILLIBRIUM_LOG_FORMAT", "json" if ENVIRONMENT == "production" and not DEBUG else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("SKILLIBRIUM_LOG_FORMAT must be 'json' or 'plain'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {
        "request_id": {"()": "skillibrium.core.requests.RequestIdFilter"},
        "redact": {"()": "skillibrium.core.diagnostics.RedactSecretsFilter"},
        "client_error": {"()": "skillibrium.core.logfilters.ClientErrorWithoutTraceback"},
        "warnings": {"()": "skillibrium.core.logfilters.WarningsAndAbove"},
    },
    # On the handler, not on django.request: a logger's filter misses its children's records, and
    # django.security.* logs a 400 (a host we do not serve) with its traceback too.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "client_error", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("SKILLIBRIUM_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print every django.* line a second time, unformatted.
        "django": {"handlers": [], "level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "apscheduler": {"level": "WARNING"},
        # A failing readiness check is the 503 line django.request logs; the library's own adds a traceback.
        "health_check": {"level": "ERROR"},
        "django.tasks": {"level": "WARNING", "filters": ["warnings"]},
    },
}

# Error reports to Sentry, when a DSN is given, scrubbed by the same rules as error pages and logs.
SENTRY_DSN = env("SKILLIBRIUM_SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    def _scrubbed(event: object, hint: object) -> object:
        from skillibrium.core.diagnostics import scrub_error_report

        return scrub_error_report(event, hint)

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=ENVIRONMENT,
        send_default_pii=False,
        before_send=_scrubbed,  # type: ignore[arg-type]
        traces_sample_rate=float(env("SKILLIBRIUM_SENTRY_TRACES", "0")),
    )
