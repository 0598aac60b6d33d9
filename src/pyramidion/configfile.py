"""Reading an application's ini file the way PasteDeploy and pserve will.

``pserve`` parses the ini, sets up logging from it and loads the server
before Pyramidion's app factory runs, so a mistake at that level ends in a
traceback that names neither the file's line nor the fix. These checks read
the file first, with the same parser settings PasteDeploy uses, and turn
each such mistake into one sentence naming the file, the line or section,
the key and what to write instead. Values are never part of a message:
an ini holds passwords (``sqlalchemy.url``), and a message is printed.

:func:`check_config_file` runs before every ``pyramidion`` command;
``pyramidion check`` and the serving path add ``require_server=True``.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.metadata as md
import logging
import logging.config
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigurationError, close_matches

__all__ = [
    "ConfigFile",
    "check_config_file",
    "check_logging",
    "config_path",
    "setup_logging",
]

#: Section prefixes PasteDeploy accepts for an application.
APP_PREFIXES = ("app", "application", "composite", "pipeline", "filter-app")
SERVER_PREFIXES = ("server",)

_LEVELS = frozenset({"CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET"})


@dataclass(frozen=True)
class ConfigFile:
    """An ini file that parses: its path, parser and the app's section."""

    path: Path
    parser: configparser.ConfigParser
    app_section: str
    server_section: str | None


def config_path(config_uri: str) -> tuple[str, str]:
    """Split ``file.ini#name`` into the path and the app name (``main``)."""
    path, _, name = config_uri.partition("#")
    return path, name or "main"


def check_config_file(
    config_uri: str,
    *,
    require_server: bool = False,
    variables: Mapping[str, str] | None = None,
) -> ConfigFile:
    """Read ``config_uri`` and raise :class:`ConfigurationError` with one
    sentence for the first problem PasteDeploy or pserve would meet.

    Checked: the file exists, is a file, is readable UTF-8 without a
    byte-order mark; it parses (no key or section twice, continuation lines
    indented); every ``%(name)s`` refers to something and every lone ``%``
    is doubled; the app section exists and its ``use`` names something
    installed; the server section (required with ``require_server``) names
    an installed server and valid ports; the logging sections name
    handlers, formatters and classes that exist.

    ``variables`` are pserve's ``NAME=VALUE`` arguments, which ``%(NAME)s``
    may refer to. Without ``require_server``, a reference to such a
    variable in the server section is left to pserve: commands do not read
    that section.
    """
    path_text, name = config_path(config_uri)
    path = Path(path_text)
    text = _read(path)
    parser = _parse(path, text, variables or {})
    unresolved = _check_interpolation(path, parser, tolerate=() if require_server else ("server",))
    app_section = _find_section(parser, APP_PREFIXES, name)
    if app_section is None:
        raise ConfigurationError(
            f"{path} has no [app:{name}] section, so there is no application to "
            f"load: add one that starts with 'use = egg:pyramidion-core'"
            f"{_other_sections(parser)}."
        )
    _check_use(path, parser, app_section, "paste.app_factory")
    server_section = _find_section(parser, SERVER_PREFIXES, name)
    if server_section is None and require_server:
        raise ConfigurationError(
            f"{path} has no [server:{name}] section, so pserve cannot serve it: "
            "add one, for example '[server:main]' with 'use = egg:waitress#main' "
            "and 'listen = localhost:6543'."
        )
    if server_section is not None and server_section not in unresolved:
        _check_use(path, parser, server_section, "paste.server_runner")
        _check_server(path, parser, server_section, app_section)
    check_logging(path, parser)
    return ConfigFile(
        path=path, parser=parser, app_section=app_section, server_section=server_section
    )


# -- the file itself -------------------------------------------------------------


def _read(path: Path) -> str:
    if path.is_dir():
        raise ConfigurationError(
            f"{path} is a directory, not an ini file: give the path of the ini "
            f"file itself, for example {path / 'development.ini'}."
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"config file {path} does not exist: check the path (relative paths "
            f"start at {Path.cwd()}), or create it with 'pyramidion new app'."
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"config file {path} cannot be read ({exc.strerror or type(exc).__name__}): "
            "give the user running this command read access to it."
        ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfigurationError(
            f"{path} starts with a UTF-8 byte-order mark, which PasteDeploy reads as "
            "text before the first section: save the file as UTF-8 without BOM."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigurationError(
            f"{path}, line {line}: the file is not UTF-8 text (byte "
            f"0x{data[exc.start]:02x}): save it as UTF-8."
        ) from None


def _new_parser(path: Path, variables: Mapping[str, str]) -> configparser.ConfigParser:
    absolute = path.absolute()
    parser = configparser.ConfigParser(
        defaults={"here": str(absolute.parent), "__file__": str(absolute)}, strict=True
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def _parse(path: Path, text: str, variables: Mapping[str, str]) -> configparser.ConfigParser:
    parser = _new_parser(path, variables)
    try:
        parser.read_string(text, source=str(path))
    except configparser.DuplicateOptionError as exc:
        first = _first_line_of(text, exc.section, exc.option)
        also = f" (first on line {first})" if first else ""
        raise ConfigurationError(
            f"{path}, line {exc.lineno}: [{exc.section}] sets '{exc.option}' a second "
            f"time{also}: keep one of the two lines."
        ) from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigurationError(
            f"{path}, line {exc.lineno}: the section [{exc.section}] appears a second "
            "time: merge the two into one."
        ) from None
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigurationError(
            f"{path}, line {exc.lineno}: there is text before the first section "
            "header: start the file with a header such as [app:main]."
        ) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0] if exc.errors else 0
        key = _key_before(text, lineno)
        if key is not None:
            fix = (
                f"if it continues the value of '{key}' above, indent it; "
                "otherwise write it as 'key = value'"
            )
        else:
            fix = "write it as 'key = value'"
        raise ConfigurationError(
            f"{path}, line {lineno}: the line is neither 'key = value' nor an "
            f"indented continuation of a value: {fix}."
        ) from None
    except configparser.Error as exc:
        raise ConfigurationError(
            f"{path} cannot be parsed as an ini file ({type(exc).__name__}): "
            "check its sections and 'key = value' lines."
        ) from None
    # pserve's NAME=VALUE arguments win over [DEFAULT], as in PasteDeploy.
    for key, value in variables.items():
        parser.set(configparser.DEFAULTSECT, key, value.replace("%", "%%"))
    return parser


_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")
_KEY = re.compile(r"^(?P<key>[^\s=:#;][^=:]*?)\s*[=:]")


def _first_line_of(text: str, section: str, option: str) -> int | None:
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _SECTION.match(line)
        if header:
            current = header.group("name").strip()
            continue
        key = _KEY.match(line)
        if current == section and key and key.group("key").strip() == option:
            return number
    return None


def _key_before(text: str, lineno: int) -> str | None:
    """The key of the last ``key = value`` line before line ``lineno``."""
    lines = text.splitlines()[: max(lineno - 1, 0)]
    for line in reversed(lines):
        if _SECTION.match(line):
            return None
        key = _KEY.match(line)
        if key:
            return key.group("key").strip()
    return None


def _check_interpolation(
    path: Path, parser: configparser.ConfigParser, *, tolerate: tuple[str, ...]
) -> set[str]:
    """Raise for the first broken ``%`` in the file; return the sections of
    kinds in ``tolerate`` whose references to undefined names were left to
    the program that reads them (pserve, with its NAME=VALUE arguments)."""
    names = sorted(parser.defaults())
    tolerated: set[str] = set()
    for section in parser.sections():
        for option in parser.options(section):
            if section.startswith("formatter_") and option in ("format", "datefmt"):
                # logging.config.fileConfig reads these raw: %(asctime)s is
                # the formatter's, not the ini's.
                continue
            try:
                parser.get(section, option)
            except configparser.InterpolationMissingOptionError as exc:
                if section.partition(":")[0].strip() in tolerate:
                    tolerated.add(section)
                    continue
                hint = close_matches(exc.reference, [*names, *parser.options(section)])
                fix = (
                    f"did you mean %({hint[0]})s?"
                    if hint
                    else "give it a value in a [DEFAULT] section (pserve's "
                    f"{exc.reference}=VALUE argument overrides it), or write %% for a "
                    "literal %."
                )
                raise ConfigurationError(
                    f"{path}, [{section}] {option}: %({exc.reference})s refers to "
                    f"nothing (known: {', '.join(names)}); {fix}"
                ) from None
            except configparser.InterpolationSyntaxError:
                raise ConfigurationError(
                    f"{path}, [{section}] {option}: the value has a '%' that is not "
                    "part of %(name)s; write it as '%%' (a URL-encoded password's "
                    "'%40' becomes '%%40')."
                ) from None
            except configparser.InterpolationDepthError:
                raise ConfigurationError(
                    f"{path}, [{section}] {option}: its %(name)s references go round "
                    "in a circle; make one of them a plain value."
                ) from None
    return tolerated


def _find_section(
    parser: configparser.ConfigParser, prefixes: tuple[str, ...], name: str
) -> str | None:
    for section in parser.sections():
        prefix, _, section_name = section.partition(":")
        if prefix.strip() in prefixes and (section_name.strip() or "main") == name:
            return section
    return None


def _other_sections(parser: configparser.ConfigParser) -> str:
    sections = parser.sections()
    if not sections:
        return " (the file has no sections at all)"
    hint = close_matches("app:main", sections)
    if hint:
        return f" (is [{hint[0]}] meant to be it?)"
    return f" (its sections: {', '.join(f'[{s}]' for s in sections)})"


# -- what `use =` names ----------------------------------------------------------


def _check_use(path: Path, parser: configparser.ConfigParser, section: str, group: str) -> None:
    if section.partition(":")[0].strip() in ("pipeline", "composite", "filter-app"):
        return
    options = parser.options(section)
    if "use" not in options:
        if group in options or any(o.startswith("paste.") for o in options):
            return
        example = "egg:pyramidion-core" if group == "paste.app_factory" else "egg:waitress#main"
        raise ConfigurationError(
            f"{path}, [{section}]: there is no 'use =' line, so nothing says what to "
            f"run: add 'use = {example}'."
        )
    use = parser.get(section, "use").strip()
    scheme, _, rest = use.partition(":")
    where = f"{path}, [{section}] use = {use}"
    if scheme == "egg":
        _check_egg(where, rest, group)
    elif scheme == "call":
        _check_call(where, rest)
    elif scheme == "config":
        target = (path.parent / rest.partition("#")[0]).resolve()
        if not target.is_file():
            raise ConfigurationError(
                f"{where}: the file {target} does not exist; correct the path."
            )
    else:
        raise ConfigurationError(
            f"{where}: PasteDeploy understands 'egg:DISTRIBUTION#NAME', "
            "'call:module:function' and 'config:FILE'; write one of those, for "
            "example 'use = egg:pyramidion-core'."
        )


def _check_egg(where: str, spec: str, group: str) -> None:
    dist_name, _, entry = spec.partition("#")
    dist_name, entry = dist_name.strip(), entry.strip() or "main"
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError:
        installed = {d.metadata["Name"] for d in md.distributions() if d.metadata["Name"]}
        hint = close_matches(dist_name, installed)
        fix = f"did you mean '{hint[0]}'?" if hint else f"install it (pip install {dist_name})."
        raise ConfigurationError(
            f"{where}: no distribution called '{dist_name}' is installed; {fix}"
        ) from None
    groups = [group, group.replace("_runner", "_factory")]
    if group == "paste.app_factory":
        groups.append("paste.composite_factory")
    names = {ep.name for ep in dist.entry_points if ep.group in groups}
    if entry not in names:
        offers = ", ".join(sorted(names)) or "nothing of that kind"
        kind = "application" if group == "paste.app_factory" else "server"
        raise ConfigurationError(
            f"{where}: the distribution {dist_name} offers no {kind} called "
            f"'{entry}' (it offers: {offers}); name one of those after '#'."
        )


def _check_call(where: str, spec: str) -> None:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigurationError(
            f"{where}: the module '{module_name}' cannot be imported "
            f"({type(exc).__name__}); install it or correct the name."
        ) from None
    if not attr or not callable(getattr(module, attr, None)):
        raise ConfigurationError(
            f"{where}: '{module_name}' has no function '{attr}'; write "
            "'call:module:function' with a function that exists."
        )


# -- the server section ----------------------------------------------------------


def _check_server(
    path: Path, parser: configparser.ConfigParser, section: str, app_section: str
) -> None:
    options = parser.options(section)
    if "port" in options:
        _check_port(path, section, "port", parser.get(section, "port"))
    if "listen" in options:
        for address in parser.get(section, "listen").split():
            _host, sep, port = address.rpartition(":")
            if not sep or port.startswith("["):
                raise ConfigurationError(
                    f"{path}, [{section}] listen: '{address}' has no port; write "
                    "HOST:PORT, for example 'localhost:6543' ('*:6543' for every "
                    "interface)."
                )
            _check_port(path, section, "listen", port, address)
    use = parser.get(section, "use", fallback="").strip()
    if use.partition("#")[0] in ("egg:waitress", "egg:Waitress"):
        _check_waitress(path, parser, section, app_section)


def _check_port(path: Path, section: str, key: str, port: str, address: str = "") -> None:
    port = port.strip()
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        shown = f"'{address}'" if address else f"'{port}'"
        raise ConfigurationError(
            f"{path}, [{section}] {key}: {shown} does not end in a port number; a "
            "port is a whole number from 1 to 65535, for example 6543."
        )


def _check_waitress(
    path: Path, parser: configparser.ConfigParser, section: str, app_section: str
) -> None:
    """Waitress's own parsing of its settings (unknown names, numbers,
    hosts), and its body size limit above the app's.

    Waitress answers a body at or over its ``max_request_body_size`` with
    a plain-text 413 of its own; the app's limit
    (``pyramidion.max_request_body_size``) must be lower, so that the
    app's own page answers instead.
    """
    from waitress.adjustments import Adjustments

    defaults = set(parser.defaults())
    options = {
        option: parser.get(section, option)
        for option in parser.options(section)
        if option not in defaults and option != "use"
    }
    try:
        adjustments = Adjustments(**options)
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigurationError(
            f"{path}, [{section}]: waitress refuses these settings ({_first_line(exc)}); "
            "correct the setting it names (see waitress's documentation of its "
            "arguments)."
        ) from None
    app_limit = _app_body_limit(parser, app_section)
    if app_limit is not None and adjustments.max_request_body_size <= app_limit:
        raise ConfigurationError(
            f"{path}, [{section}] max_request_body_size: "
            f"{adjustments.max_request_body_size} is not above the app's "
            f"pyramidion.max_request_body_size ({app_limit}), so waitress would "
            "answer large bodies with its own plain-text page; set it higher, for "
            f"example {2 * app_limit}, or lower the app's limit."
        )


def _app_body_limit(parser: configparser.ConfigParser, app_section: str) -> int | None:
    """The app's ``pyramidion.max_request_body_size``: the file's value or
    the default; None when the value is not a number (the settings check
    says so)."""
    from .settings import CoreSettings

    raw = parser.get(app_section, "pyramidion.max_request_body_size", fallback=None)
    if raw is None:
        default = CoreSettings.__dataclass_fields__["max_request_body_size"].default
        return default if isinstance(default, int) else None
    try:
        return int(raw.strip())
    except ValueError:
        return None


# -- the logging sections --------------------------------------------------------


def check_logging(path: Path, parser: configparser.ConfigParser) -> None:
    """The logging sections name what exists: loggers, handlers, formatters,
    classes and levels. Files without a ``[loggers]`` section are not
    checked (pserve then leaves logging as it is)."""
    if not parser.has_section("loggers"):
        return
    formatters = _keys(path, parser, "formatters", required=False)
    handlers = _keys(path, parser, "handlers", required=True)
    loggers = _keys(path, parser, "loggers", required=True)
    if "root" not in loggers:
        raise ConfigurationError(
            f"{path}, [loggers] keys: 'root' is missing, and logging requires it; "
            "add it, with a [logger_root] section."
        )
    for name in formatters:
        section = _section(path, parser, "formatter", name, "formatters")
        if parser.has_option(section, "class"):
            _check_class(path, section, parser.get(section, "class"), "formatter")
    for name in handlers:
        section = _section(path, parser, "handler", name, "handlers")
        if not parser.has_option(section, "class"):
            raise ConfigurationError(
                f"{path}, [{section}]: a handler needs 'class = ...', for example "
                "'class = StreamHandler'."
            )
        _check_class(path, section, parser.get(section, "class"), "handler")
        _check_level(path, parser, section)
        formatter = parser.get(section, "formatter", fallback="").strip()
        if formatter and formatter not in formatters:
            raise ConfigurationError(
                f"{path}, [{section}] formatter: '{formatter}' is not listed in "
                f"[formatters] keys ({', '.join(formatters) or 'empty'}); add it there "
                "with a [formatter_" + formatter + "] section, or name a listed one."
            )
    for name in loggers:
        section = _section(path, parser, "logger", name, "loggers")
        _check_level(path, parser, section)
        for handler in _words(parser.get(section, "handlers", fallback="")):
            if handler not in handlers:
                raise ConfigurationError(
                    f"{path}, [{section}] handlers: '{handler}' is not listed in "
                    f"[handlers] keys ({', '.join(handlers)}); add it there, or "
                    "remove it here."
                )


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.split(",") if w.strip()]


def _keys(
    path: Path, parser: configparser.ConfigParser, section: str, *, required: bool
) -> list[str]:
    if not parser.has_section(section):
        if not required:
            return []
        raise ConfigurationError(
            f"{path} has [loggers] but no [{section}] section, which logging requires: "
            f"add [{section}] with 'keys = ...'."
        )
    return _words(parser.get(section, "keys", fallback=""))


def _section(
    path: Path, parser: configparser.ConfigParser, kind: str, name: str, listing: str
) -> str:
    section = f"{kind}_{name}"
    if not parser.has_section(section):
        raise ConfigurationError(
            f"{path}, [{listing}] keys: '{name}' is listed but there is no "
            f"[{section}] section; add it, or remove '{name}' from the list."
        )
    return section


def _check_level(path: Path, parser: configparser.ConfigParser, section: str) -> None:
    level = parser.get(section, "level", fallback="NOTSET").strip()
    if level and level.upper() not in _LEVELS:
        raise ConfigurationError(
            f"{path}, [{section}] level: '{level}' is not a logging level; use "
            "DEBUG, INFO, WARNING, ERROR or CRITICAL."
        )


def _check_class(path: Path, section: str, name: str, kind: str) -> None:
    name = name.strip()
    # logging.config.fileConfig looks handler classes up in the logging
    # module first (StreamHandler, handlers.RotatingFileHandler).
    if kind == "handler" and _logging_attribute(name) is not None:
        return
    if _import_dotted(name) is not None:
        return
    example = "StreamHandler" if kind == "handler" else "logging.Formatter"
    raise ConfigurationError(
        f"{path}, [{section}] class: there is no {kind} class '{name}' (it cannot be "
        f"imported); correct the name, for example 'class = {example}'."
    )


def _logging_attribute(name: str) -> object | None:
    target: object = logging
    if name == "handlers" or name.startswith("handlers."):
        # fileConfig's namespace has logging.handlers once it is imported.
        importlib.import_module("logging.handlers")
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def _import_dotted(name: str) -> object | None:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: S112  (a shorter prefix may import)
            continue
        for part in parts[cut:]:
            target = getattr(target, part, None)
            if target is None:
                return None
        return target
    return None


def setup_logging(config_uri: str) -> None:
    """Configure logging from the ini's logging sections, as pserve does.

    Run after :func:`check_config_file`; what it could not foresee (a
    handler's ``args`` that fail, a log file that cannot be opened) is
    still one sentence naming the logging sections.
    """
    path_text, _name = config_path(config_uri)
    path = Path(path_text)
    parser = _new_parser(path, {})
    parser.read(path, encoding="utf-8")
    if not parser.has_section("loggers"):
        return
    absolute = path.absolute()
    try:
        logging.config.fileConfig(
            str(path),
            {"here": str(absolute.parent), "__file__": str(absolute)},
            disable_existing_loggers=False,
            encoding="utf-8",
        )
    except Exception as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        raise ConfigurationError(
            f"{path}: its logging sections ([loggers], [handlers], [formatters]) "
            f"cannot be applied ({type(cause).__name__}: {_first_line(cause)}); "
            "correct the handler's class and args, or the file it writes to."
        ) from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else "no details"
