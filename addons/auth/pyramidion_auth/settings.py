"""The auth add-on's settings, read from ``auth.*`` keys."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from pyramidion import setting

# OWASP's Password Storage Cheat Sheet asks for at least m=19 MiB, t=2,
# p=1 with Argon2id. The defaults are RFC 9106's second recommendation
# (argon2-cffi's own defaults): m=64 MiB, t=3, p=4, about 150 ms on two
# cores, which is cheap for a login and expensive for a guesser.
OWASP_MIN_MEMORY_KIB = 19456
OWASP_MIN_TIME_COST = 2


# ruff's RUF009 takes setting() for a mutable default when the field is a
# timedelta; setting() is dataclasses.field() with metadata, and timedelta
# is immutable, hence the noqa on those fields.


@dataclass(frozen=True)
class AuthSettings:
    """Settings of the auth add-on."""

    session_cookie_name: str = setting("session", doc="Name of the session cookie.")
    session_idle_timeout: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1),
        doc="A session not used for this long ends (30m, 2h, ...).",
    )
    session_absolute_timeout: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=24),
        doc="A session ends this long after it began, however active; the user logs in again.",
    )
    purge_interval: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(days=1),
        doc="With the jobs add-on enabled: how often the periodic job auth.purge "
        "deletes expired sessions and tokens (what `pyramidion auth purge` does): "
        "24h, 6h, ...",
    )
    allow_registration: bool = setting(
        False, doc="Whether visitors may create their own account at /auth/register."
    )
    require_email_verification: bool = setting(
        False,
        doc="Whether a new account must confirm its email address (by a link "
        "sent to it) before it can log in.",
    )
    password_min_length: int = setting(
        12, doc="Shortest password accepted, in characters.", min=8, max=128
    )
    password_max_bytes: int = setting(
        1024,
        doc="Longest password accepted, in UTF-8 bytes; longer input is refused before hashing.",
        min=64,
        max=4096,
    )
    argon2_memory_cost: int = setting(
        65536,
        doc="Argon2id memory cost in KiB (OWASP's minimum is 19456). Stored "
        "hashes made with other parameters are rehashed at the next login.",
        min=OWASP_MIN_MEMORY_KIB,
    )
    argon2_time_cost: int = setting(
        3, doc="Argon2id iterations (OWASP's minimum is 2).", min=OWASP_MIN_TIME_COST
    )
    argon2_parallelism: int = setting(4, doc="Argon2id lanes.", min=1, max=64)
    throttle_window: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(minutes=15),
        doc="Failed logins are counted over this window; a refused account or "
        "address is accepted again when it has passed.",
    )
    throttle_free_attempts: int = setting(
        3,
        doc="Failed logins per account and client address within the window "
        "before each further attempt must wait (1s, 2s, 4s, ... doubling, at "
        "most the window).",
        min=1,
    )
    throttle_account_limit: int = setting(
        10,
        doc="Failed logins per account and client address within the window "
        "after which logins to it from that address are refused (429) until "
        "the window has passed.",
        min=1,
    )
    throttle_account_ceiling: int = setting(
        50,
        doc="Failed logins per account from addresses it has never logged in "
        "from, within throttle_ceiling_window, after which such logins are "
        "refused (429). The owner at an address they logged in from before "
        "is not counted, so nobody elsewhere can lock them out.",
        min=1,
    )
    throttle_ceiling_window: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1),
        doc="The window of throttle_account_ceiling.",
    )
    throttle_known_address_lifetime: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(days=90),
        doc="How long an address an account logged in from stays known "
        "(exempt from throttle_account_ceiling).",
    )
    throttle_signup_limit: int = setting(
        10,
        doc="Registrations and password-reset requests per client address "
        "within throttle_window, after which they are refused (429).",
        min=1,
    )
    max_concurrent_hashes: int = setting(
        2,
        doc="Password hashes computed at once per process (each takes "
        "argon2_memory_cost of memory); further logins and registrations wait.",
        min=1,
        max=64,
    )
    throttle_address_limit: int = setting(
        100,
        doc="Failed logins from one client address within the window after "
        "which its logins are refused (429). The address is REMOTE_ADDR: "
        "behind a proxy, configure the server's trusted proxy.",
        min=1,
    )
    throttle_url: str = setting(
        "",
        doc="Where the throttle keeps its counters (login throttling and the API's "
        "rate limits): empty, the database (a committed write per counted "
        "request); redis://host:6379/0, rediss://... or unix:///path.sock, a "
        "Redis server (needs pyramidion-auth[redis]); use Redis when several "
        "processes serve the site.",
    )
    throttle_timeout: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(seconds=1),
        doc="How long the Redis throttle waits to connect and for each answer "
        "before giving up: logins are then refused (503), API requests go "
        "through unlimited (0.5, 2s, ...).",
    )
    throttle_key_prefix: str = setting(
        "pyramidion:throttle:",
        doc="Prefix of the Redis throttle's keys, to share a Redis database with other uses.",
    )
    reset_token_lifetime: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1), doc="How long a password-reset link works."
    )
    verification_token_lifetime: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(days=2), doc="How long an email-verification link works."
    )
    reset_emails_per_window: int = setting(
        3,
        doc="Password-reset emails sent to one address per throttle window; "
        "further requests get the same answer but send nothing.",
        min=1,
    )
    api_token_lifetime: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(days=90), doc="Default and longest lifetime of an API token."
    )
    login_redirect: str = setting("/", doc="Where to go after logging in without came_from.")
    initial_admin_email: str = setting(
        "admin@example.com",
        doc="Email address of the admin account `pyramidion auth ensure-admin` "
        "creates when there is no admin yet.",
    )
    initial_admin_password: str | None = setting(
        None,
        doc="Password of that account. Unset, ensure-admin generates a strong "
        "one and prints it once.",
        secret=True,
    )
    mail_sender: str = setting(
        "Pyramidion <no-reply@localhost>", doc="From address of the emails auth sends."
    )
    mail_delivery: Literal["auto", "files", "smtp"] = setting(
        "auto",
        doc="'files' writes each email to a file in mail_directory instead of "
        "sending it; 'smtp' sends it; 'auto' is 'files' in development and "
        "'smtp' otherwise.",
    )
    mail_directory: str = setting(
        "var/mail", doc="Where 'files' delivery writes emails (relative to the working directory)."
    )
    smtp_host: str = setting("localhost", doc="SMTP server for 'smtp' delivery.")
    smtp_port: int = setting(25, doc="SMTP port.", min=1, max=65535)
    smtp_username: str | None = setting(None, doc="SMTP user name, if the server needs one.")
    smtp_password: str | None = setting(None, doc="SMTP password.", secret=True)
    smtp_tls: bool = setting(True, doc="Whether to use STARTTLS.")
    clock: str = setting(
        "pyramidion_auth.clock:SystemClock",
        doc="Dotted name of the clock class every time-based decision reads "
        "(sessions, tokens, throttling); pyramidion_auth.clock:ManualClock "
        "lets tests freeze and move time.",
    )
