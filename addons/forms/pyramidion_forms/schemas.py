"""Schemas bound to a request, and JSON validated by the same schemas.

Schemas are bound per request with ``request`` and ``dbsession``, so
``colander.deferred`` choices and validators can read the database::

    @colander.deferred
    def category_choices(node, kw):
        rows = kw["dbsession"].scalars(select(Category).order_by(Category.name))
        return [(str(c.id), c.name) for c in rows]
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import colander
import sqlalchemy as sa
from pyramid.httpexceptions import HTTPBadRequest

from .limits import check_body_size, forms_settings

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = [
    "EnumType",
    "FieldOverride",
    "SchemaSource",
    "ValidationFailed",
    "bind_schema",
    "model_schema",
    "validate_json",
]

#: What a form or JSON view may name as its schema: a schema node, a
#: ``colander.Schema`` subclass, or a function of the request returning a
#: node. (colander has no type hints, so to mypy this is ``Any``.)
SchemaSource: TypeAlias = Any


def bind_schema(schema: SchemaSource, request: Request, **kw: Any) -> colander.SchemaNode:
    """A copy of ``schema`` bound with ``request``, ``dbsession`` and ``kw``.

    The original is never changed, so one schema may serve every request.
    """
    if isinstance(schema, type):
        node = schema()
    elif isinstance(schema, colander.SchemaNode):
        node = schema
    else:
        node = schema(request)
    return node.bind(request=request, dbsession=request.dbsession, **kw)


class ValidationFailed(Exception):
    """Data did not validate; answered as 422 ``application/problem+json``.

    ``errors`` maps each field's dotted path to its message (the schema's
    own errors use the key ``""``).
    """

    def __init__(self, errors: Mapping[str, str], detail: str = "") -> None:
        super().__init__(detail or "The data did not validate.")
        self.errors = dict(errors)
        self.detail = detail or "The data did not validate: see errors for each field."

    @classmethod
    def from_invalid(cls, exc: colander.Invalid, request: Request) -> ValidationFailed:
        """The failure for colander's ``exc``, its messages translated for ``request``."""
        return cls(exc.asdict(translate=request.localizer.translate))


def validation_failed_view(exc: ValidationFailed, request: Request) -> Response:
    """Exception view: the errors per field as RFC 9457 problem details."""
    from pyramidion import problem_response

    return problem_response(request, 422, "Unprocessable Content", exc.detail, errors=exc.errors)


def validate_json(request: Request, schema: SchemaSource, **bind: Any) -> Any:
    """The request's JSON body, validated and converted by ``schema``.

    The body must be a JSON object within the add-on's limits. Raises
    400 for a body that is not JSON, 413 for one over
    ``forms.max_body_size``, and :class:`ValidationFailed` (422, errors
    per field) for too many fields, a string longer than
    ``forms.max_field_length`` or anything the schema refuses. ``null``
    counts as missing, so optional fields may be sent as ``null``. The
    schema is bound as by :func:`bind_schema` (``bind`` adds names).
    """
    check_body_size(request)
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise HTTPBadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationFailed({"": "Send a JSON object."})
    settings = forms_settings(request)
    count = 0
    too_long: dict[str, str] = {}
    for path, value in _leaves(data, ""):
        count += 1
        if isinstance(value, str) and len(value) > settings.max_field_length:
            too_long[path] = (
                f"Longer than this site accepts ({settings.max_field_length} characters)."
            )
    if count > settings.max_fields:
        raise ValidationFailed(
            {"": f"Too many fields ({count}); this site accepts at most {settings.max_fields}."}
        )
    if too_long:
        raise ValidationFailed(too_long)
    node = bind_schema(schema, request, **bind)
    try:
        return node.deserialize(_nulls(data))
    except colander.Invalid as exc:
        raise ValidationFailed.from_invalid(exc, request) from None


def _leaves(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value


def _nulls(value: Any) -> Any:
    """JSON ``null`` as colander's missing value, at any depth."""
    if value is None:
        return colander.null
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    return value


# -- schemas generated from SQLAlchemy models -----------------------------------

#: How to change one generated field: a node that replaces it, a mapping of
#: node attributes to set (``title``, ``widget``, ``validator``, ``missing``,
#: ...), or None to leave the field out.
FieldOverride: TypeAlias = "colander.SchemaNode | Mapping[str, Any] | None"


class EnumType(colander.SchemaType):  # type: ignore[misc]
    """A Python :class:`enum.Enum` member, written as its name."""

    def __init__(self, enum_class: type[enum.Enum]) -> None:
        self.enum_class = enum_class

    def serialize(self, node: Any, appstruct: Any) -> Any:
        if appstruct is colander.null or appstruct is None:
            return colander.null
        if isinstance(appstruct, self.enum_class):
            return appstruct.name
        return str(appstruct)

    def deserialize(self, node: Any, cstruct: Any) -> Any:
        if cstruct is colander.null or cstruct == "":
            return colander.null
        try:
            return self.enum_class[str(cstruct)]
        except KeyError:
            choices = ", ".join(m.name for m in self.enum_class)
            raise colander.Invalid(node, f'"{cstruct}" is not one of {choices}') from None


def model_schema(
    model: type[Any],
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    overrides: Mapping[str, FieldOverride] | None = None,
) -> colander.SchemaNode:
    """A colander schema for adding or editing rows of a SQLAlchemy 2 model.

    One field per mapped column, in column order, except primary keys
    (unless named in ``include``) and ``exclude``; ``include`` picks and
    orders the fields. Types follow the columns: strings with their length
    as maximum, text as a text area, integers, decimals, floats, booleans
    as check boxes, dates, date-times, enums as selects; a nullable column
    (or one with a default) is optional. A foreign key is a select whose
    choices are read from the database when the schema is bound, labelled
    by ``str(row)``, and checked to exist. Unique columns and unique
    constraints are checked against the database, leaving out the row
    bound as ``obj`` (the one being edited).

    ``overrides`` changes fields by name (see :data:`FieldOverride`); a
    name that is not a column adds that node. The schema must be bound
    (:func:`bind_schema` does) before use.
    """
    mapper = sa.inspect(model)
    overrides = dict(overrides or {})
    columns = {
        attr.key: attr.columns[0]
        for attr in mapper.column_attrs
        if len(attr.columns) == 1 and isinstance(attr.columns[0], sa.Column)
    }
    if include is not None:
        unknown = [n for n in include if n not in columns and n not in overrides]
        if unknown:
            raise ValueError(
                f"model_schema({model.__name__}): include names {', '.join(unknown)}, "
                f"which are not columns; the columns are {', '.join(columns)}"
            )
        names = list(include)
    else:
        names = [key for key, column in columns.items() if not column.primary_key]
    schema = colander.SchemaNode(colander.Mapping())
    for name in names:
        if name in exclude:
            continue
        if name in overrides and not isinstance(overrides[name], Mapping):
            replacement: Any = overrides[name]
            if replacement is not None:
                schema.add(replacement.clone())
            continue
        node = _column_node(model, name, columns[name])
        for key, value in dict(overrides.get(name) or {}).items():
            setattr(node, key, value)
        schema.add(node)
    for name, extra in overrides.items():
        if name not in columns and isinstance(extra, colander.SchemaNode):
            schema.add(extra.clone())
    titles = {child.name: str(child.title) for child in schema.children}
    checks = [
        _UniqueCheck(model, group, titles)
        for group in _unique_groups(model, columns)
        if any(name in titles for name in group)
    ]
    if checks:
        schema.validator = _deferred_unique(checks)
    return schema


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _column_node(model: type[Any], name: str, column: sa.Column[Any]) -> colander.SchemaNode:
    from ._deform import deform

    widget_module = deform.widget
    kw: dict[str, Any] = {
        "name": name,
        "title": column.info.get("title") or _title(name),
    }
    description = column.info.get("description") or column.doc or column.comment
    if description:
        kw["description"] = description
    validators: list[Any] = []
    coltype = column.type
    optional = column.nullable or column.default is not None or column.server_default is not None
    foreign_keys = list(column.foreign_keys)
    if foreign_keys:
        target = _target_class(model, column, foreign_keys[0])
        relationship = _relationship_for(model, column)
        if relationship is not None and not column.info.get("title"):
            kw["title"] = _title(relationship)
        typ: Any = _scalar_type(foreign_keys[0].column.type) or colander.String()
        kw["widget"] = _deferred_choices(target, optional)
        validators.append(_deferred_exists(target))
    elif isinstance(coltype, sa.Enum):
        if coltype.enum_class is not None:
            typ = EnumType(coltype.enum_class)
            values = [(m.name, str(m.value).capitalize()) for m in coltype.enum_class]
        else:
            typ = colander.String()
            values = [(v, v) for v in coltype.enums]
            validators.append(colander.OneOf(list(coltype.enums)))
        kw["widget"] = widget_module.SelectWidget(values=[("", "—"), *values])
    elif isinstance(coltype, sa.Boolean):
        typ = colander.Boolean()
        kw["widget"] = widget_module.CheckboxWidget()
        # An unticked box sends nothing at all.
        optional = True
        kw["missing"] = False
    elif isinstance(coltype, sa.String):
        typ = colander.String()
        if coltype.length:
            validators.append(colander.Length(max=coltype.length))
        if isinstance(coltype, sa.Text) or (coltype.length or 0) > 255:
            kw["widget"] = widget_module.TextAreaWidget(rows=5)
    else:
        typ = _scalar_type(coltype)
        if typ is None:
            raise TypeError(
                f"model_schema({model.__name__}): column '{name}' has type "
                f"{coltype!r}, which forms cannot generate a field for. Leave it "
                "out with exclude=, or give its node in overrides=."
            )
        input_type = {
            colander.Integer: "number",
            colander.Date: "date",
        }.get(type(typ))
        if input_type is not None:
            kw["widget"] = widget_module.TextInputWidget(attributes={"type": input_type})
    if optional and "missing" not in kw:
        default: Any = column.default
        kw["missing"] = default.arg if getattr(default, "is_scalar", False) else None
    if validators:
        kw["validator"] = colander.All(*validators) if len(validators) > 1 else validators[0]
    return colander.SchemaNode(typ, **kw)


def _scalar_type(coltype: Any) -> Any:
    if isinstance(coltype, sa.Integer):
        return colander.Integer(strict=True)
    if isinstance(coltype, sa.Float):
        return colander.Float()
    if isinstance(coltype, sa.Numeric):
        return colander.Decimal()
    if isinstance(coltype, sa.DateTime):
        return colander.DateTime()
    if isinstance(coltype, sa.Date):
        return colander.Date()
    if isinstance(coltype, sa.Time):
        return colander.Time()
    if isinstance(coltype, sa.String):
        return colander.String()
    return None


def _relationship_for(model: type[Any], column: sa.Column[Any]) -> str | None:
    for relationship in sa.inspect(model).relationships:
        if not relationship.uselist and set(relationship.local_columns) == {column}:
            return str(relationship.key)
    return None


def _target_class(model: type[Any], column: sa.Column[Any], fk: sa.ForeignKey) -> type[Any]:
    name = _relationship_for(model, column)
    if name is not None:
        return sa.inspect(model).relationships[name].mapper.class_  # type: ignore[no-any-return]
    table = fk.column.table
    for mapper in sa.inspect(model).registry.mappers:
        if mapper.local_table is table:
            return mapper.class_  # type: ignore[no-any-return]
    raise TypeError(
        f"model_schema({model.__name__}): column '{column.key}' refers to table "
        f"'{table.name}', which no mapped class maps; override the field."
    )


def _deferred_choices(target: type[Any], optional: bool) -> Any:
    def widget(node: Any, kw: Mapping[str, Any]) -> Any:
        from ._deform import deform

        rows = kw["dbsession"].scalars(sa.select(target)).all()
        choices = sorted(
            ((str(sa.inspect(row).identity[0]), str(row)) for row in rows),
            key=lambda choice: choice[1].casefold(),
        )
        return deform.widget.SelectWidget(values=[("", "—"), *choices])

    return colander.deferred(widget)


def _deferred_exists(target: type[Any]) -> Any:
    def validator(node: Any, kw: Mapping[str, Any]) -> Any:
        dbsession = kw["dbsession"]

        def exists(node: Any, value: Any) -> None:
            if dbsession.get(target, value) is None:
                raise colander.Invalid(node, "Choose one of the listed options.")

        return exists

    return colander.deferred(validator)


def _unique_groups(model: type[Any], columns: Mapping[str, sa.Column[Any]]) -> list[list[str]]:
    """Attribute names of each unique column and unique constraint."""
    by_column = {column: key for key, column in columns.items()}
    groups: list[list[str]] = []
    for key, column in columns.items():
        if column.unique and not column.primary_key:
            groups.append([key])
    for constraint in sa.inspect(model).local_table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            names = [by_column.get(c) for c in constraint.columns]
            if all(names) and [n for n in names if n] not in groups:
                groups.append([n for n in names if n])
    return groups


class _UniqueCheck:
    """One unique column or constraint, checked against the database."""

    def __init__(self, model: type[Any], names: list[str], titles: Mapping[str, str]) -> None:
        self.model = model
        self.names = names
        # The message goes next to the last of the constraint's fields the
        # form shows: for (author, title) that reads "already has this title".
        self.field = [n for n in names if n in titles][-1]
        thing = _title(model.__name__).lower()
        if len(names) == 1:
            self.message = f"Another {thing} already has this {titles[self.field].lower()}."
        else:
            others = " and ".join(
                titles.get(n, _title(n)).lower() for n in names if n != self.field
            )
            self.message = (
                f"Another {thing} with the same {others} already has this "
                f"{titles[self.field].lower()}."
            )

    def conflicts(self, dbsession: Any, values: Mapping[str, Any], obj: Any) -> bool:
        wanted = {}
        for name in self.names:
            if name in values:
                wanted[name] = values[name]
            elif obj is not None:
                wanted[name] = getattr(obj, name)
            else:
                return False
        if any(value is None for value in wanted.values()):
            return False  # NULLs never collide in a unique constraint.
        query = sa.select(self.model)
        for name, value in wanted.items():
            query = query.where(getattr(self.model, name) == value)
        if obj is not None:
            for column in sa.inspect(self.model).primary_key:
                query = query.where(column != getattr(obj, column.key))
        found = dbsession.scalars(query.limit(1)).first()
        return found is not None


def _deferred_unique(checks: list[_UniqueCheck]) -> Any:
    def validator(node: Any, kw: Mapping[str, Any]) -> Any:
        dbsession = kw["dbsession"]
        obj = kw.get("obj")

        def unique(node: Any, values: Mapping[str, Any]) -> None:
            error = colander.Invalid(node)
            for check in checks:
                if check.conflicts(dbsession, values, obj):
                    error[check.field] = check.message
            if error.children:
                raise error

        return unique

    return colander.deferred(validator)
