"""The Django REST Framework reference for the API cases, written as DRF's docs write it.

DRF 3 on Django 5.2 with the middleware ``startproject`` writes:
``TokenAuthentication`` (``rest_framework.authtoken``: one table lookup
per request, as the api add-on's bearer tokens), ``IsAuthenticated``,
``ModelSerializer`` classes for the blog's posts with their attachments
(``prefetch_related``), and ``CursorPagination`` (20 a page, newest first),
served by a ``ReadOnlyModelViewSet`` through a router. The posts are the
rows of the blog add-on's own tables, which Django maps without managing
them; its users and tokens are Django's own tables, made by
:func:`prepare`.
"""

from __future__ import annotations

from typing import Any

from django_bench import database_settings

#: The token the benchmark's Django user is given (DRF's keys are 40 characters).
TOKEN = "drf-bench-token-" + "0" * 24


def configure(database_url: str) -> None:
    """Configure Django and DRF for this process (once) and set its apps up."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark secret key, not a secret: " + "x" * 40,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="drf_bench.urls",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "rest_framework",
            "rest_framework.authtoken",
            "drf_bench",
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
                "APP_DIRS": True,
            }
        ],
        DATABASES={"default": database_settings(database_url)},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "rest_framework.authentication.TokenAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            # JSON only: the browsable API is a development aid.
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
        STATIC_URL="static/",
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def prepare(database_url: str, email: str, password: str) -> None:
    """Create Django's own tables (auth, tokens) and the benchmark's user and
    token; the user may be there already (the page case's Django shares the
    tables)."""
    configure(database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0, interactive=False)
    user = User.objects.filter(username=email).first()
    if user is None:
        user = User.objects.create_user(username=email, email=email, password=password)
    Token.objects.get_or_create(user=user, key=TOKEN)


def application(database_url: str) -> Any:
    configure(database_url)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
