"""Typed settings: declared once as a dataclass, parsed once at start-up.

An add-on declares its settings as a frozen dataclass whose fields use
:func:`setting`::

    @dataclass(frozen=True)
    class BlogSettings:
        per_page: int = setting(20, doc="Posts on one page.", min=1, max=200)
        api_key: str = setting(doc="Key for the spam checker.", secret=True)

The ini then holds ``blog.per_page = 50``. Values are coerced by colander
from the ini's strings into the field's type; the supported types are
``str``, ``int``, ``float``, ``bool``, ``datetime.timedelta`` (seconds, or
``30s``/``15m``/``2h``/``7d``), ``tuple[str, ...]`` (whitespace or comma
separated), ``Literal[...]`` and ``X | None`` of those.

Environment variables override the ini with one mapping: strip the
``PYRAMIDION_`` prefix, lower-case, and read ``__`` as ``.``; a name with no
``__`` belongs to the core's ``pyramidion.`` namespace. So
``PYRAMIDION_BLOG__PER_PAGE`` sets ``blog.per_page``,
``PYRAMIDION_SQLALCHEMY__URL`` sets ``sqlalchemy.url`` and
``PYRAMIDION_ADDONS`` sets ``pyramidion.addons``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import typing
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .errors import SettingsError, did_you_mean
from .state import app_state

__all__ = [
    "ENV_PREFIX",
    "MASK",
    "CoreSettings",
    "SettingSpec",
    "apply_environment",
    "describe_settings",
    "ensure_writable_directory",
    "env_name",
    "get_settings",
    "parse_settings",
    "placeholder_secrets",
    "setting",
    "settings_of_disabled_addons",
]

T = TypeVar("T")

ENV_PREFIX = "PYRAMIDION_"
MASK = "********"
_MISSING: Any = dataclasses.MISSING


@dataclass(frozen=True)
class SettingSpec:
    """What :func:`setting` records about a field."""

    doc: str
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None
    #: For secrets: the shortest value ``pyramidion check`` accepts silently.
    min_length: int = 0


def setting(
    default: Any = _MISSING,
    *,
    doc: str,
    secret: bool = False,
    min: float | None = None,
    max: float | None = None,
    min_length: int = 0,
) -> Any:
    """Declare a settings field. Without ``default``, the setting is required."""
    spec = SettingSpec(doc=doc, secret=secret, minimum=min, maximum=max, min_length=min_length)
    metadata = {"pyramidion": spec}
    if isinstance(default, list | dict | set):
        raise TypeError("setting defaults must be immutable; use a tuple")
    return dataclasses.field(default=default, metadata=metadata)


def _fields(cls: type[Any]) -> list[tuple[dataclasses.Field[Any], SettingSpec, Any]]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass; declare settings with @dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("pyramidion")
        if spec is None:
            spec = SettingSpec(doc="")
        out.append((f, spec, hints[f.name]))
    return out


def setting_names(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def parse_settings(
    cls: type[T],
    namespace: str,
    raw: Mapping[str, Any],
    *,
    reserved: frozenset[str] = frozenset(),
) -> T:
    """Parse the ``namespace.*`` keys of ``raw`` into an instance of ``cls``.

    Raises :class:`SettingsError` listing every problem at once: missing
    required keys, values that do not coerce, values out of range, and
    unknown keys (with the close spelling).
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = set(setting_names(cls)) | reserved
    prefix = namespace + "."
    for key in sorted(raw):
        if key.startswith(prefix):
            short = key[len(prefix) :]
            if short not in known:
                problems.append(
                    f"{key}: unknown setting.{did_you_mean(short, known)} "
                    f"Known settings of '{namespace}': {', '.join(sorted(known))}."
                )
    # colander is imported by the first settings parsed, not by
    # ``import pyramidion``: declaring an add-on's settings needs none of it.
    import colander

    from .coercion import Bool, Words, schema_type_of

    for f, spec, annotation in _fields(cls):
        key = prefix + f.name
        schema_type, validator, optional = schema_type_of(annotation, f"{cls.__name__}.{f.name}")
        validators = [v for v in (validator,) if v is not None]
        if spec.minimum is not None or spec.maximum is not None:
            validators.append(colander.Range(min=spec.minimum, max=spec.maximum))
        node = colander.SchemaNode(
            schema_type,
            name=key,
            validator=colander.All(*validators) if validators else None,
        )
        if key not in raw:
            if f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                values[f.name] = f.default_factory()
            elif optional:
                values[f.name] = None
            else:
                problems.append(f"{key}: required, and not set. {spec.doc}".rstrip())
            continue
        raw_value = raw[key]
        empty = isinstance(raw_value, str) and not raw_value.strip()
        if optional and empty:
            values[f.name] = None
            continue
        if empty and not isinstance(schema_type, Words | Bool):
            if f.default is not dataclasses.MISSING:
                default = format_value(f.default, secret=spec.secret)
                problems.append(
                    f"{key} is set but empty. Give it a value, or remove the line "
                    f"to use the default ({default!r})."
                )
            else:
                problems.append(f"{key} is set but empty, and it is required. {spec.doc}")
            continue
        try:
            values[f.name] = node.deserialize(raw_value)
        except colander.Invalid as exc:
            shown = MASK if spec.secret else repr(raw_value)
            messages = "; ".join(_interpolate(m, secret=spec.secret) for m in exc.messages())
            problems.append(f"{key} = {shown}: {messages}")
    if problems:
        raise SettingsError(f"invalid settings for '{namespace}':\n  - " + "\n  - ".join(problems))
    return cls(**values)


def _interpolate(message: Any, *, secret: bool) -> str:
    """Fill in a colander message's ``${val}``-style placeholders.

    The value of a secret is shown as the mask, never as itself.
    """
    mapping = getattr(message, "mapping", None)
    if not mapping or not hasattr(message, "interpolate"):
        return str(message)
    if secret:
        # A TranslationString made from another keeps its msgid and default.
        message = type(message)(message, mapping={**mapping, "val": MASK})
    return str(message.interpolate())


def describe_settings(cls: type[Any], namespace: str) -> list[dict[str, Any]]:
    """Describe each setting of ``cls``: key, type, default, doc, secret."""
    rows = []
    for f, spec, annotation in _fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
            required = False
        elif f.default_factory is not dataclasses.MISSING:
            default, required = f.default_factory(), False
        else:
            default, required = None, True
        rows.append(
            {
                "key": f"{namespace}.{f.name}",
                "type": _type_name(annotation),
                "default": default,
                "required": required,
                "secret": spec.secret,
                "doc": spec.doc,
                "env": env_name(f"{namespace}.{f.name}"),
            }
        )
    return rows


def _type_name(annotation: Any) -> str:
    # Parametrised types (tuple[str, ...], Literal[...], X | None) have a
    # __name__ without their parameters, which would hide the choices.
    if typing.get_origin(annotation) is not None:
        text = str(annotation)
    else:
        text = getattr(annotation, "__name__", None) or str(annotation)
    return str(text).replace("typing.", "").replace("datetime.", "")


def format_value(value: Any, *, secret: bool) -> str:
    """Render a parsed value for people, masking secrets."""
    if secret and value:
        return MASK
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, datetime.timedelta):
        return f"{int(value.total_seconds())}s"
    if value is None:
        return ""
    return str(value)


def env_name(key: str) -> str:
    """The environment variable that overrides the setting ``key``."""
    if key.startswith("pyramidion."):
        key = key[len("pyramidion.") :]
    return ENV_PREFIX + key.upper().replace(".", "__")


def key_for_env(name: str) -> str | None:
    """The setting an environment variable overrides, or None."""
    if not name.startswith(ENV_PREFIX) or name.startswith(ENV_PREFIX + "TEST_"):
        return None
    rest = name[len(ENV_PREFIX) :].lower()
    if not rest:
        return None
    if "__" in rest:
        return rest.replace("__", ".")
    return "pyramidion." + rest


def apply_environment(
    settings: MutableMapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    """Override ``settings`` from ``PYRAMIDION_*`` variables in place.

    Returns the keys that were overridden, mapped to the variable's name,
    so that diagnostics can say where a value came from.
    ``PYRAMIDION_TEST_*`` variables belong to the test kit and are skipped.
    """
    applied: dict[str, str] = {}
    for name in sorted(environ):
        key = key_for_env(name)
        if key is not None:
            settings[key] = environ[name]
            applied[key] = name
    return applied


# -- the core's own settings ----------------------------------------------

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class CoreSettings:
    """Settings of the core, read from ``pyramidion.*`` keys."""

    addons: tuple[str, ...] = setting(
        (),
        doc="Add-ons to enable, by name (or dotted names of plain Pyramid "
        "packages), separated by spaces or newlines. Order does not matter.",
    )
    environment: Literal["development", "production"] = setting(
        "production",
        doc="'development' relaxes what only matters on the internet "
        "(Secure cookies, HSTS) and enables development-only conveniences.",
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        doc="Host header values the app answers to ('example.com', "
        "'.example.com' for subdomains too, 'localhost:6543'). Empty accepts "
        "any well-formed host, and `pyramidion check` warns; a Host that is not a "
        "host name with at most a numeric port is always refused.",
    )
    overrides: str | None = setting(
        None,
        doc="Asset spec of the integrator's override directory (for example "
        "'myproject:overrides'); it mirrors add-on packages and wins over "
        "every add-on's templates and static files.",
    )
    csrf_cookie_name: str = setting(
        "csrf_token",
        doc="Cookie that carries the CSRF token when no session is configured.",
    )
    hsts_max_age: int = setting(
        31536000,
        doc="Strict-Transport-Security max-age for HTTPS responses in "
        "production; 0 disables the header.",
        min=0,
    )
    content_security_policy: str = setting(
        DEFAULT_CSP, doc="Content-Security-Policy sent unless a view sets its own."
    )
    request_id_header: str = setting(
        "X-Request-ID",
        doc="Header that carries the request id; an incoming value of up to "
        "128 safe characters is kept, otherwise a new id is made.",
    )
    db_connect_timeout: int = setting(
        5,
        doc="Seconds to wait for a database connection before answering 503.",
        min=1,
    )
    db_pool_timeout: int = setting(
        10, doc="Seconds a request waits for a free pooled connection.", min=1
    )
    db_statement_timeout: int = setting(
        30,
        doc="Seconds one SQL statement of a request may run on PostgreSQL "
        "(statement_timeout) before it is cancelled and the request answered "
        "with 503; 0 lets statements run unbounded. Commands such as "
        "`pyramidion db upgrade` are not bounded by it.",
        min=0,
    )
    db_lock_timeout: int = setting(
        5,
        doc="Seconds a statement waits for a lock another transaction holds "
        "(PostgreSQL's lock_timeout, SQLite's busy timeout) before the "
        "request is answered with 503.",
        min=1,
    )
    db_idle_in_transaction_timeout: int = setting(
        60,
        doc="Seconds PostgreSQL keeps a connection that sits idle inside a "
        "transaction (its process hung or was stopped) before closing it "
        "and releasing its locks; 0 keeps it.",
        min=0,
    )
    readiness_timeout: int = setting(
        2,
        doc="Seconds /readyz may spend on the database (connecting and each "
        "statement) before it reports the database unreachable.",
        min=1,
    )
    readiness_requires_database: bool = setting(
        False,
        doc="Whether /readyz answers 503 while the database is unreachable. "
        "Off, it answers 200 and reports the database in its body: the "
        "database is shared by every process, so failing readiness would take "
        "them all out of the load balancer, whose own 503 (or reset) would "
        "reach clients instead of the app's quick 503 with Retry-After. "
        "/readyz?database=required asks for the strict answer on one probe.",
    )
    health_listen: str | None = setting(
        None,
        doc="host:port on which `pyramidion serve` also answers /healthz and "
        "/readyz, on threads of their own: a liveness probe pointed there "
        "answers even while every worker thread of the app waits on the "
        "database. Unset, they are served on the app's own address only.",
    )
    shutdown_timeout: int = setting(
        30,
        doc="Seconds after SIGTERM within which `pyramidion serve` waits for the "
        "requests in flight to finish before it exits.",
        min=0,
    )
    shutdown_delay: int = setting(
        2,
        doc="Seconds `pyramidion serve` keeps accepting requests after SIGTERM "
        "while /readyz answers 503, so that a load balancer takes the process "
        "out of rotation before it waits for the requests in flight and exits; "
        "SIGINT (Ctrl-C) skips it.",
        min=0,
    )
    retry_max_body_size: int = setting(
        1048576,
        doc="Requests whose body is larger (or of unknown length) are not "
        "retried after a database conflict, so their body is never copied "
        "aside for a retry: an upload is read once, and a size limit stops "
        "reading at the limit.",
        min=0,
    )
    max_request_body_size: int = setting(
        10 * 1024 * 1024 + 65536,
        doc="Largest request body, in bytes, any request may carry; larger ones "
        "get the site's own 413 page (or problem+json) before any view reads "
        "them, and a body of unknown length (chunked) is read up to the limit "
        "and no further. Keep the server's own limit (waitress's "
        "max_request_body_size in [server:main]) above it: 'pyramidion check' "
        "says when it is not.",
        min=1,
    )
    max_form_fields: int = setting(
        1000,
        doc="Most fields (or multipart parts) one submitted form may have, for "
        "every view whatever body size it accepts; more are refused with 400 "
        "before the form is parsed.",
        min=1,
    )
    max_form_part_header_size: int = setting(
        8192,
        doc="Longest header block, in bytes, of one part of a multipart form; "
        "longer ones are refused with 400.",
        min=256,
    )
    max_json_depth: int = setting(
        64,
        doc="Deepest nesting of lists and objects in a JSON body that "
        "pyramidion.json_body (and so the forms add-on) accepts; deeper "
        "bodies are refused with 400.",
        min=2,
        max=500,
    )
    gc_freeze: bool = setting(
        False,
        doc="Once the app is built, move every object made so far out of the "
        "garbage collector's reach (gc.freeze(), once per process), so that "
        "its full collections no longer walk the modules, configuration and "
        "templates, which shortens their pauses; in a server that forks "
        "after loading the app, it also keeps those objects' pages shared. "
        "It changes the whole process, so it is the application's choice: "
        "off unless set (production.ini sets it).",
    )

    idempotency: bool = setting(
        True,
        doc="Honour the Idempotency-Key header on POST, PUT, PATCH and DELETE: "
        "a retried request with the same key and body gets the first "
        "response instead of doing the work twice (see "
        "docs/integrators/deploying.md).",
    )
    idempotency_ttl: int = setting(
        86400, doc="Seconds a stored Idempotency-Key and its response are kept.", min=1
    )
    idempotency_max_body_size: int = setting(
        1048576,
        doc="Largest response body, in bytes, stored for an Idempotency-Key; "
        "a larger one is replayed with its status and headers only.",
        min=0,
    )
    idempotency_lock_timeout: int = setting(
        300,
        doc="Seconds after which a key still marked in progress (its process "
        "died mid-request) may be claimed by a retry.",
        min=1,
    )

    metrics: bool = setting(
        False,
        doc="Serve Prometheus metrics at /metrics (needs prometheus_client: "
        "pip install 'pyramidion-core[metrics]'); see docs/integrators/deploying.md.",
    )
    metrics_token: str | None = setting(
        None,
        doc="Bearer token that /metrics requires; unset, /metrics answers "
        "only requests from the loopback address.",
        secret=True,
    )

    sentry_dsn: str | None = setting(
        None,
        doc="Send unhandled errors (requests answered with 500) to Sentry at "
        "this DSN (needs sentry-sdk: pip install 'pyramidion-core[sentry]'); "
        "events carry the request id and the user id, never emails, cookies "
        "or secrets. Unset, nothing is sent.",
        secret=True,
    )
    sentry_environment: str | None = setting(
        None,
        doc="The environment Sentry files events under; unset, pyramidion.environment.",
    )

    @property
    def development(self) -> bool:
        return self.environment == "development"


#: Keys under an add-on's namespace that every add-on accepts.
ADDON_RESERVED_KEYS = frozenset({"route_prefix"})


def get_settings(registry: Any, cls: type[T]) -> T:
    """Return the parsed settings object of type ``cls`` for this app.

    ``registry`` is a Pyramid registry (``request.registry`` or
    ``config.registry``). Raises ``LookupError`` when no enabled add-on
    declares ``cls``.
    """

    parsed = app_state(registry).settings_by_type.get(cls)
    if parsed is None:
        raise LookupError(
            f"no enabled add-on declares settings {cls.__qualname__}; is the "
            "add-on in pyramidion.addons?"
        )
    return typing.cast(T, parsed)


# -- settings that are valid one by one but fail at first use ------------------

#: Values people leave in a secret until they replace it, compared after
#: lower-casing and dropping everything but letters and digits.
PLACEHOLDER_WORDS = frozenset(
    {
        "changeme",
        "changethis",
        "changeit",
        "replaceme",
        "replacethis",
        "setme",
        "fillme",
        "fixme",
        "todo",
        "tbd",
        "placeholder",
        "secret",
        "mysecret",
        "yoursecret",
        "secretkey",
        "supersecret",
        "password",
        "passwd",
        "default",
        "example",
        "dummy",
        "test",
        "insecure",
        "notsecret",
        "none",
        "null",
    }
)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a stand-in someone meant to replace."""
    word = re.sub(r"[^a-z0-9]", "", value.lower())
    if word in PLACEHOLDER_WORDS or word.startswith(("changeme", "replaceme", "insecure")):
        return True
    # xxxx, 0000, 1234, 123456...: a single repeated character or a run.
    return bool(word) and (len(set(word)) == 1 or "1234567890".startswith(word))


def placeholder_secrets(cls: type[Any] | None, namespace: str, parsed: Any) -> list[str]:
    """Keys of the secret settings of ``parsed`` that hold a placeholder."""
    if cls is None or parsed is None or not dataclasses.is_dataclass(cls):
        return []
    keys = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("pyramidion")
        value = getattr(parsed, f.name, None)
        secret = spec is not None and spec.secret
        if secret and isinstance(value, str) and value and is_placeholder(value):
            keys.append(f"{namespace}.{f.name}")
    return keys


#: Namespaces of settings that are not add-ons': Pyramid's, the core's and
#: the libraries it configures.
FOREIGN_NAMESPACES = frozenset(
    {"pyramid", "pyramidion", "sqlalchemy", "tm", "retry", "alembic", "mako", "jinja2"}
)


def settings_of_disabled_addons(
    settings: Mapping[str, Any], installed: Mapping[str, Any], enabled: frozenset[str]
) -> list[str]:
    """One sentence per setting that names an installed add-on the app does
    not enable, or that looks like a misspelt enabled add-on's name."""
    messages = []
    for key in sorted(settings):
        if not isinstance(key, str) or "." not in key:
            continue
        namespace = key.split(".", 1)[0]
        if namespace in enabled or namespace in FOREIGN_NAMESPACES:
            continue
        if namespace in installed:
            messages.append(
                f"{key} is set, but add-on '{namespace}' is not enabled, so the "
                f"setting has no effect: add '{namespace}' to pyramidion.addons, or "
                "remove the line."
            )
        else:
            hint = did_you_mean(namespace, enabled)
            if hint:
                messages.append(
                    f"{key} belongs to no enabled add-on, so it has no effect.{hint} "
                    "Correct the name, or remove the line."
                )
    return messages


def ensure_writable_directory(path: Any, key: str) -> None:
    """Create directory ``path`` when missing and check that files can be
    written in it; raise :class:`SettingsError` naming ``key`` otherwise.

    For add-ons whose settings name a directory they write to at run time:
    called from ``includeme``, it turns a first upload that would fail
    into a start-up error that says what to fix.
    """
    import os
    import tempfile
    from pathlib import Path

    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SettingsError(
            f"{key} = {directory}: that is a file, not a directory; point {key} at a "
            "directory (it is created when missing)."
        ) from None
    except OSError as exc:
        raise SettingsError(
            f"{key} = {directory}: the directory cannot be created "
            f"({exc.strerror or type(exc).__name__}); create it and give the server's "
            f"user write access, or point {key} elsewhere."
        ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        user = os.environ.get("USER") or "the server's user"
        raise SettingsError(
            f"{key} = {directory}: files cannot be written there "
            f"({exc.strerror or type(exc).__name__}); give {user} write access to it, "
            f"or point {key} elsewhere."
        ) from None
