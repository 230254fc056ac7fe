"""django-helpdesk as its documentation sets it up, tuned only as the benchmark requires:
no teams, console email, no webhooks, PostgreSQL, no debug."""

import os

SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "helpdesk_site.urls"
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
            ]
        },
    }
]
WSGI_APPLICATION = "helpdesk_site.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PEER_DB_NAME"],
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
MEDIA_ROOT = os.environ["PEER_MEDIA_ROOT"]  # set by bench/suite/peer.py

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"],
}

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS = lambda: []  # noqa: E731
HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS = lambda: []  # noqa: E731
LOGGING = {"version": 1, "disable_existing_loggers": False}
# HTTP Basic checks the password on every request; with Django's default PBKDF2 (1,000,000
# rounds) that alone would cost ~0.3 s of CPU per call. A fast hasher keeps the comparison about
# the helpdesk's own work (Frontdesk's API tokens are a digest lookup, too).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
