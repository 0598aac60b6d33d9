"""One page of an admin list: search, filters, sort, keyset pagination and
the row count, read from the query string.

The list never pages with OFFSET: a page link carries an opaque cursor (the
last or first row's sort key), and the next page is the rows after it in
the list's order, which an index on the sort columns answers as fast on
the millionth row as on the first. The key always ends with the primary
key, so it is unique and no row is skipped or shown twice. NULLs sort
after every value in ascending order (and before them in descending), on
SQLite and PostgreSQL alike. Nullable sort columns and mixed directions
page by an index range too (:func:`after_segments`).

Query string: ``q`` (search), ``sort`` (``name`` or ``-name``), ``after``
or ``before`` (a cursor), ``count=exact``, and one ``f.<field>`` per filter
(``f.<field>.from`` and ``f.<field>.to`` for dates). A value the list cannot
use is answered 400 with a sentence saying what to send.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPBadRequest
from sqlalchemy.orm import joinedload, selectinload

from pyramidion import column_value, get_settings

from .options import ModelAdmin, admin_site, search_lookup
from .settings import AdminSettings

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = [
    "EXACT_COUNT_BELOW",
    "MAX_SEARCH_LENGTH",
    "Filter",
    "ListPage",
    "SortKey",
    "eager_options",
    "filters_of",
    "fulltext_document",
    "list_page",
    "search_document",
    "search_index_ddl",
    "search_index_name",
]

#: Longest search text accepted, in characters.
MAX_SEARCH_LENGTH = 200

#: On PostgreSQL, a table the planner estimates at fewer rows than this is
#: counted exactly: cheap, and an estimate of a small table is often wrong
#: (a table not analysed since it was filled). Bigger ones show the
#: planner's estimate of the list's rows, unless asked for ``count=exact``.
EXACT_COUNT_BELOW = 1000

_BROKEN_CURSOR = (
    "This page link is broken or was made for another order of the list; "
    "open the list again from its first page."
)


@dataclass(frozen=True)
class SortKey:
    """One column of the list's order."""

    name: str
    descending: bool

    @property
    def spec(self) -> str:
        return f"-{self.name}" if self.descending else self.name


@dataclass(frozen=True)
class Filter:
    """A filter the list offers: how it is shown and what it accepts.

    ``kind`` is ``boolean``, ``choices`` (an enum), ``date`` (a range of
    two dates), ``relation`` (a relationship, matched by the related row's
    id or by text in its search fields; for a collection, any of its rows) or ``text`` (equal
    to a value).
    """

    name: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> tuple[str, ...]:
        """The query-string names this filter reads."""
        if self.kind == "date":
            return (f"f.{self.name}.from", f"f.{self.name}.to")
        return (f"f.{self.name}",)


@dataclass
class ListPage:
    """What the list view shows."""

    rows: list[Any]
    sort: tuple[SortKey, ...]
    q: str
    #: The filters' query-string values in use, by parameter name.
    filter_values: dict[str, str]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    count: int | None = None
    count_exact: bool = True
    #: The query-string values that define the list (search, filters, sort),
    #: for links to other pages of the same list.
    state: dict[str, str] = field(default_factory=dict)


def _label(name: str) -> str:
    return name.replace("_", " ").replace(".", " ").capitalize()


def filters_of(model_admin: ModelAdmin) -> list[Filter]:
    """The filters of ``model_admin``'s list, in ``list_filter`` order."""
    mapper = sa.inspect(model_admin.model)
    found = []
    for name in model_admin.list_filter:
        if name in mapper.relationships:
            found.append(Filter(name, _label(name), "relation"))
            continue
        coltype = mapper.columns[name].type
        if isinstance(coltype, sa.Boolean):
            found.append(Filter(name, _label(name), "boolean", (("1", "Yes"), ("0", "No"))))
        elif isinstance(coltype, sa.Enum):
            if coltype.enum_class is not None:
                choices = tuple((m.name, str(m.value).capitalize()) for m in coltype.enum_class)
            else:
                choices = tuple((v, v) for v in coltype.enums)
            found.append(Filter(name, _label(name), "choices", choices))
        elif isinstance(coltype, sa.Date | sa.DateTime):
            found.append(Filter(name, _label(name), "date"))
        else:
            found.append(Filter(name, _label(name), "text"))
    return found


def eager_options(model_admin: ModelAdmin) -> list[Any]:
    """Loader options for the relationships the list shows, so that rows
    cost no query each: many-to-one joined, collections in one more query."""
    relationships = sa.inspect(model_admin.model).relationships
    options: list[Any] = []
    for name in model_admin.list_display:
        if name in relationships:
            attr = getattr(model_admin.model, name)
            options.append(selectinload(attr) if relationships[name].uselist else joinedload(attr))
    return options


def sortable(model_admin: ModelAdmin) -> frozenset[str]:
    """The list's columns a user may sort by: the plain columns it shows
    and those of its default order."""
    columns = sa.inspect(model_admin.model).columns
    names = {n for n in model_admin.list_display if n in columns}
    names.update(n.lstrip("-") for n in model_admin.ordering)
    return frozenset(n for n in names if n not in model_admin.secret_fields)


def _sort_keys(model_admin: ModelAdmin, requested: str | None) -> tuple[SortKey, ...]:
    pk = model_admin.pk.key
    if requested:
        name = requested.lstrip("-")
        if name not in sortable(model_admin):
            choices = ", ".join(sorted(sortable(model_admin)))
            raise HTTPBadRequest(f"This list cannot be sorted by {name!r}; it can by {choices}.")
        specs = [requested]
    else:
        specs = list(model_admin.ordering)
    keys = [SortKey(s.lstrip("-"), s.startswith("-")) for s in specs]
    if pk not in {k.name for k in keys}:
        # The key must name one row: the primary key breaks ties, in the
        # direction of the first key so that one row comparison can serve.
        keys.append(SortKey(pk, keys[0].descending if keys else False))
    return tuple(keys)


# -- cursors ------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _decode_value(column: Any, raw: Any) -> Any:
    if raw is None:
        return None
    coltype = column.type
    if isinstance(coltype, sa.Enum) and coltype.enum_class is not None:
        return coltype.enum_class[raw]
    if isinstance(coltype, sa.DateTime):
        return datetime.datetime.fromisoformat(raw)
    if isinstance(coltype, sa.Date):
        return datetime.date.fromisoformat(raw)
    if isinstance(coltype, sa.Boolean):
        if not isinstance(raw, bool):
            raise ValueError(raw)
        return raw
    if isinstance(coltype, sa.Numeric) and not isinstance(coltype, sa.Float):
        return decimal.Decimal(str(raw))
    if isinstance(coltype, sa.String | sa.Integer) or isinstance(raw, str):
        value = column_value(column, raw)
        if value is None:
            raise ValueError(raw)
        return value
    return raw


def encode_cursor(keys: Sequence[SortKey], row: Any) -> str:
    """The cursor of ``row`` in a list ordered by ``keys``."""
    payload = {
        "s": ",".join(k.spec for k in keys),
        "k": [_encode_value(getattr(row, k.name)) for k in keys],
    }
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(model_admin: ModelAdmin, keys: Sequence[SortKey], cursor: str) -> list[Any]:
    """The key values a cursor carries; 400 for one that is broken or was
    made for another order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if payload["s"] != ",".join(k.spec for k in keys) or len(payload["k"]) != len(keys):
            raise ValueError("another order")
        columns = sa.inspect(model_admin.model).columns
        return [_decode_value(columns[k.name], v) for k, v in zip(keys, payload["k"], strict=True)]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise HTTPBadRequest(_BROKEN_CURSOR) from None


def _order(column: Any, descending: bool) -> Any:
    if descending:
        clause = column.desc()
        return clause.nulls_first() if column.nullable else clause
    clause = column.asc()
    return clause.nulls_last() if column.nullable else clause


def _after(columns: Sequence[Any], keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order ``keys`` (NULLs greatest)."""
    directions = {k.descending for k in keys}
    if len(directions) == 1 and not any(c.nullable for c in columns):
        # One row comparison: what an index on the sort columns serves best.
        left, right = sa.tuple_(*columns), sa.tuple_(*[sa.literal(v) for v in values])
        return left < right if keys[0].descending else left > right
    alternatives = []
    equal_before: list[Any] = []
    for column, key, raw in zip(columns, keys, values, strict=True):
        # A bound value of the column's type: SQLAlchemy compares a column
        # with a bare True or False only by "=" and "IS".
        value = None if raw is None else sa.literal(raw, column.type)
        if key.descending:
            beyond = column.is_not(None) if value is None else column < value
        elif value is None:
            beyond = None
        else:
            beyond = (
                sa.or_(column > value, column.is_(None)) if column.nullable else column > value
            )
        if beyond is not None:
            alternatives.append(sa.and_(*equal_before, beyond))
        equal_before.append(column.is_(None) if value is None else column == value)
    return sa.or_(*alternatives) if alternatives else sa.false()


def after_segments(
    columns: Sequence[Any], keys: Sequence[SortKey], values: Sequence[Any]
) -> list[tuple[Any, bool]]:
    """The rows strictly after ``values`` in the order ``keys`` (NULLs
    greatest), as conditions whose rows follow each other in that order,
    each with whether its rows' first sort column is NULL.

    Each condition bounds the first sort column by a range an index on it
    serves, whatever the other columns' directions and NULLs: the ``OR``
    of comparisons that says which rows follow is only checked on the rows
    of that range, never on the table from its start. NULLs of the first
    column are a segment of their own (ascending, after the values;
    descending, before them), because no range of values holds them; in
    it the first column orders nothing, so that the rest of the key can
    follow an index on the first column and the key.
    """
    if len({k.descending for k in keys}) == 1 and not any(c.nullable for c in columns):
        return [(_after(columns, keys, values), False)]
    first, key, value = columns[0], keys[0], values[0]
    following = _after(columns, keys, values)
    if value is None:
        # Only NULLs tie with the cursor's NULL; the rest of the key decides
        # among them.
        tied = (sa.and_(first.is_(None), _after(columns[1:], keys[1:], values[1:])), True)
        return [tied, (first.is_not(None), False)] if key.descending else [tied]
    literal = sa.literal(value, first.type)
    bound = first <= literal if key.descending else first >= literal
    if not first.nullable:
        return [(sa.and_(bound, following), False)]
    values_after = (sa.and_(first.is_not(None), bound, following), False)
    return [values_after] if key.descending else [values_after, (first.is_(None), True)]


# -- search and filters -------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _lookup_match(column: Any, lookup: str, word: str) -> Any:
    if lookup == "contains":
        return column.ilike(_like_pattern(word), escape="\\")
    folded = sa.func.lower(sa.cast(column, sa.Text))
    if lookup == "prefix":
        return folded.like(sa.func.lower(_like_pattern(word)[1:]), escape="\\")
    return folded == sa.func.lower(word)


def _field_match(model_admin: ModelAdmin, entry: str, word: str) -> Any:
    lookup, name = search_lookup(entry)
    model = model_admin.model
    if "." in name:
        relation, column = name.split(".", 1)
        target = sa.inspect(model).relationships[relation].mapper.class_
        return getattr(model, relation).has(_lookup_match(getattr(target, column), lookup, word))
    return _lookup_match(getattr(model, name), lookup, word)


def search_document(model_admin: ModelAdmin) -> Any | None:
    """The model's search document: the values of its own search fields
    (not ``relation.column`` ones), each ``coalesce``-d to ``''``, joined by
    a space and lowercased, or ``None`` when it has no such field.

    It is built from IMMUTABLE operators only (``||``, ``coalesce``,
    ``lower``) and inline constants, so that ONE expression index serves a
    search of every field: :func:`search_index_ddl` prints it. A search
    word holds no space, so it matches the document exactly where it
    matches one of the fields.
    """
    names = [n for n in model_admin.search_fields if n == search_lookup(n)[1] and "." not in n]
    if not names:
        return None
    document: Any = None
    for name in names:
        value = sa.func.coalesce(sa.cast(getattr(model_admin.model, name), sa.Text), _EMPTY)
        document = value if document is None else document.op("||")(_SPACE).op("||")(value)
    return sa.func.lower(document, type_=sa.Text)


_EMPTY = sa.literal_column("''", sa.Text)
_SPACE = sa.literal_column("' '", sa.Text)
#: The text search configuration of ``admin.fulltext``, inline so that the
#: query's ``to_tsvector`` is the IMMUTABLE one an index can hold.
_SIMPLE: Any = sa.literal_column("'simple'::regconfig")


def fulltext_document(model_admin: ModelAdmin) -> Any | None:
    """``to_tsvector('simple'::regconfig, <search document>)``: what
    ``admin.fulltext`` matches on PostgreSQL, indexable as it stands."""
    document = search_document(model_admin)
    return None if document is None else sa.func.to_tsvector(_SIMPLE, document)


def search_index_name(model_admin: ModelAdmin, *, fulltext: bool = False) -> str:
    """The name :func:`search_index_ddl` gives the model's search index."""
    table = model_admin.model.__table__.name
    return f"{table}_admin_{'fulltext' if fulltext else 'search'}"


def search_index_ddl(model_admin: ModelAdmin, *, fulltext: bool = False) -> list[str]:
    """The PostgreSQL statements that index the model's admin search: a
    pg_trgm GIN index on :func:`search_document` (substring search, the
    default), or with ``fulltext`` a GIN index on :func:`fulltext_document`
    (``admin.fulltext = true``), then a btree index on ``lower(field)`` for
    each of the model's own prefix (``^field``) or exact (``=field``)
    search fields. The expressions are compiled from the ones the list's
    query uses, so the two cannot differ. Empty when nothing is to index."""
    from sqlalchemy.dialects import postgresql

    dialect: Any = postgresql.dialect

    def compiled(expression: Any) -> str:
        return str(
            expression.compile(
                dialect=dialect(), compile_kwargs={"literal_binds": True, "include_table": False}
            )
        )

    table = model_admin.model.__table__.name
    statements = []
    document = fulltext_document(model_admin) if fulltext else search_document(model_admin)
    if document is not None:
        name = search_index_name(model_admin, fulltext=fulltext)
        if fulltext:
            statements.append(f"CREATE INDEX {name} ON {table} USING gin (({compiled(document)}))")
        else:
            statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            statements.append(
                f"CREATE INDEX {name} ON {table} USING gin (({compiled(document)}) gin_trgm_ops)"
            )
    for entry in model_admin.search_fields:
        lookup, field_name = search_lookup(entry)
        if lookup == "contains" or "." in field_name:
            continue
        folded = sa.func.lower(sa.cast(getattr(model_admin.model, field_name), sa.Text))
        statements.append(
            f"CREATE INDEX {table}_admin_{field_name} ON {table} "
            f"(({compiled(folded)}) text_pattern_ops)"
        )
    return statements


def _search(request: Request, model_admin: ModelAdmin, q: str) -> Any:
    settings = get_settings(request.registry, AdminSettings)
    dialect = request.dbsession.get_bind().dialect.name
    document = search_document(model_admin)
    # The fields outside the document: related rows' and prefix or exact ones.
    others = [
        n for n in model_admin.search_fields if "." in n or search_lookup(n)[0] != "contains"
    ]
    words = q.split()

    def each_word(with_document: bool) -> Any:
        # Each word must appear in one of the fields, whatever the case: in
        # the model's own fields through one match of the search document.
        conditions = []
        for word in words:
            matches = [_field_match(model_admin, n, word) for n in others]
            if with_document and document is not None:
                pattern = sa.func.lower(_like_pattern(word))
                matches.insert(0, document.like(pattern, escape="\\"))
            conditions.append(sa.or_(*matches))
        return sa.and_(*conditions)

    if settings.fulltext and dialect == "postgresql" and document is not None:
        fulltext = sa.func.to_tsvector(_SIMPLE, document).op("@@")(
            sa.func.plainto_tsquery(_SIMPLE, q)
        )
        return sa.or_(fulltext, each_word(False)) if others else fulltext
    return each_word(True)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(label: str, raw: str) -> datetime.date:
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise HTTPBadRequest(f"{label}: {raw!r} is not a date; write it as YYYY-MM-DD.") from None


def _related_search_columns(request: Request, target: type[Any]) -> list[Any]:
    registered = admin_site(request.registry).for_model(target)
    columns = sa.inspect(target).columns
    if registered is not None:
        names = [search_lookup(n)[1] for n in registered.search_fields]
        names = [n for n in names if "." not in n]
        secrets = set(registered.secret_fields)
    else:
        names = [
            c.key
            for c in columns
            if isinstance(c.type, sa.String) and not isinstance(c.type, sa.Enum)
        ]
        secrets = set()
    return [getattr(target, n) for n in names if n not in secrets]


def _filter_condition(
    request: Request, model_admin: ModelAdmin, spec: Filter, values: Mapping[str, str]
) -> list[Any]:
    model = model_admin.model
    if spec.kind == "date":
        column = getattr(model, spec.name)
        coltype = sa.inspect(model).columns[spec.name].type
        is_datetime = isinstance(coltype, sa.DateTime)
        # Dates are days in UTC, the time every table stores.
        zone = datetime.UTC if is_datetime and coltype.timezone else None
        conditions = []
        start, end = values.get(f"f.{spec.name}.from"), values.get(f"f.{spec.name}.to")
        if start:
            first = _parse_date(spec.label, start)
            conditions.append(
                column
                >= (
                    datetime.datetime.combine(first, datetime.time(tzinfo=zone))
                    if is_datetime
                    else first
                )
            )
        if end:
            last = _parse_date(spec.label, end)
            if is_datetime:
                following = datetime.datetime.combine(
                    last + datetime.timedelta(days=1), datetime.time(tzinfo=zone)
                )
                conditions.append(column < following)
            else:
                conditions.append(column <= last)
        return conditions
    raw = values.get(f"f.{spec.name}", "")
    if not raw:
        return []
    if spec.kind == "boolean":
        if raw not in ("1", "0"):
            raise HTTPBadRequest(f"{spec.label}: choose 1 (yes) or 0 (no), not {raw!r}.")
        return [getattr(model, spec.name).is_(raw == "1")]
    if spec.kind == "choices":
        allowed = dict(spec.choices)
        if raw not in allowed:
            raise HTTPBadRequest(f"{spec.label}: choose one of {', '.join(allowed)}, not {raw!r}.")
        coltype = sa.inspect(model).columns[spec.name].type
        value: Any = coltype.enum_class[raw] if coltype.enum_class is not None else raw
        return [getattr(model, spec.name) == value]
    if spec.kind == "relation":
        relationship = sa.inspect(model).relationships[spec.name]
        target = relationship.mapper.class_
        target_pk = sa.inspect(target).primary_key[0]
        text = raw.strip()
        matches = [
            c.ilike(_like_pattern(text), escape="\\")
            for c in _related_search_columns(request, target)
        ]
        key = column_value(target_pk, text)
        if key is not None:
            matches.append(target_pk == key)
        if not matches:
            raise HTTPBadRequest(f"{spec.label}: give the id of the related row.")
        attr = getattr(model, spec.name)
        # A collection (a user's groups) matches when any of its rows does.
        found = attr.any if relationship.uselist else attr.has
        return [found(sa.or_(*matches))]
    column = sa.inspect(model).columns[spec.name]
    value = column_value(column, raw)
    if value is None:
        raise HTTPBadRequest(f"{spec.label}: {raw!r} is not a value this field can hold.")
    return [getattr(model, spec.name) == value]


# -- counting -----------------------------------------------------------------


def _estimate(request: Request, statement: Any) -> int | None:
    """PostgreSQL's planner estimate of the rows ``statement`` returns."""
    connection = request.dbsession.connection()
    compiled = statement.compile(dialect=connection.dialect)
    result = connection.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params
    ).scalar()
    plan = json.loads(result) if isinstance(result, str) else result
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _count(
    request: Request, model_admin: ModelAdmin, statement: Any, exact: bool
) -> tuple[int, bool]:
    dbsession = request.dbsession
    if not exact and dbsession.get_bind().dialect.name == "postgresql":
        # Whether to count is decided by the table's size, not the
        # filtered estimate: a filter the planner expects few rows of may
        # still need the whole table read to count them.
        table_rows = _estimate(request, sa.select(model_admin.pk))
        if table_rows is not None and table_rows >= EXACT_COUNT_BELOW:
            estimate = _estimate(request, statement)
            if estimate is not None:
                return estimate, False
    total = dbsession.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    return int(total or 0), True


# -- the page -----------------------------------------------------------------


def _single(params: Mapping[str, str], name: str) -> str:
    getall = getattr(params, "getall", None)
    values = getall(name) if getall is not None else ([params[name]] if name in params else [])
    if len(values) > 1:
        raise HTTPBadRequest(f"Give {name!r} once, not {len(values)} times.")
    return str(values[0]) if values else ""


def list_page(request: Request, model_admin: ModelAdmin, params: Mapping[str, str]) -> ListPage:
    """The page of ``model_admin``'s rows that ``params`` (a query string) asks for."""
    model = model_admin.model
    page_size = model_admin.page_size or get_settings(request.registry, AdminSettings).page_size
    q = _single(params, "q").strip()
    if len(q) > MAX_SEARCH_LENGTH:
        raise HTTPBadRequest(f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    requested_sort = _single(params, "sort")
    keys = _sort_keys(model_admin, requested_sort or None)
    columns = [getattr(model, k.name) for k in keys]
    conditions: list[Any] = []
    if q and model_admin.search_fields:
        conditions.append(_search(request, model_admin, q))
    filter_values: dict[str, str] = {}
    for spec in filters_of(model_admin):
        for param in spec.params:
            value = _single(params, param).strip()
            if value:
                filter_values[param] = value
        conditions.extend(_filter_condition(request, model_admin, spec, filter_values))

    after, before = _single(params, "after"), _single(params, "before")
    if after and before:
        raise HTTPBadRequest("Give one of 'after' and 'before', not both.")
    backwards = bool(before)
    cursor = after or before
    # The page's rows in the order read: backwards, the other way round.
    read = [SortKey(k.name, k.descending != backwards) for k in keys]
    segments: list[tuple[Any, bool]] = [(None, False)]
    if cursor:
        values = decode_cursor(model_admin, keys, cursor)
        segments = after_segments(columns, read, values)
    order = [_order(c, k.descending) for c, k in zip(columns, read, strict=True)]
    rows: list[Any] = []
    for segment, first_is_null in segments:
        # At most two queries (when the first sort column's NULLs start
        # within the page), each one index range.
        statement = (
            sa.select(model)
            .options(*eager_options(model_admin))
            .where(*conditions, *([] if segment is None else [segment]))
            .order_by(*order[1:] if first_is_null else order)
            .limit(page_size + 1 - len(rows))
        )
        rows += request.dbsession.scalars(statement).unique().all()
        if len(rows) > page_size:
            break
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    page = ListPage(rows=rows, sort=keys, q=q, filter_values=filter_values)
    if rows:
        # Forwards: a next page when a row beyond this one was found, a
        # previous one whenever this page was reached by a cursor. Backwards
        # the other way round.
        has_next = (more and not backwards) or backwards
        has_previous = (more and backwards) or (bool(cursor) and not backwards)
        if has_next:
            page.next_cursor = encode_cursor(keys, rows[-1])
        if has_previous:
            page.previous_cursor = encode_cursor(keys, rows[0])
    exact = _single(params, "count") == "exact"
    counted = sa.select(model_admin.pk).where(*conditions)
    page.count, page.count_exact = _count(request, model_admin, counted, exact)
    page.state = {
        **({"q": q} if q else {}),
        **({"sort": requested_sort} if requested_sort else {}),
        **filter_values,
    }
    return page
