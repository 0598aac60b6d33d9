"""The Django 5.2 reference for the logged-in page, written as Django's docs write an app.

``django.contrib.auth`` with database sessions (Django's default session
engine), the CSRF middleware, the default middleware of ``startproject``,
and a template that extends a base layout. The list view reads 20 items
with their owners in one query (``select_related``), from the tables the
``bench`` add-on maps. Settings are made from a database URL by
:func:`configure`; the WSGI application is Django's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent


def database_settings(url: str) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for an SQLAlchemy URL of the benchmark."""
    parts = urlsplit(url)
    # Persistent connections, as Django's deployment docs advise.
    if parts.scheme.startswith("sqlite"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(parts.path[1:]),
            "CONN_MAX_AGE": 600,
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 600,
    }


def configure(database_url: str) -> None:
    """Configure Django for this process (once) and set its apps up."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark secret key, not a secret: " + "x" * 40,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="django_bench.urls",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django_bench",
        ],
        # What `django-admin startproject` writes.
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        TEMPLATES=[
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
        ],
        DATABASES={"default": database_settings(database_url)},
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        STATIC_URL="static/",
        LOGIN_URL="/auth/login",
        LOGIN_REDIRECT_URL="/bench/list",
        LOGOUT_REDIRECT_URL="/auth/login",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def prepare(database_url: str, email: str, password: str) -> None:
    """Create Django's own tables (auth, sessions) and the benchmark's user."""
    configure(database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user(username=email, email=email, password=password)


def application(database_url: str) -> Any:
    configure(database_url)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
