"""Size limits on submitted forms and JSON bodies, checked before parsing.

The limits are the add-on's settings (``forms.max_body_size``,
``forms.max_fields``, ``forms.max_field_length``). Form views get them from
a view deriver that runs before the core's CSRF check, because that check
reads the form body; JSON views get them from
:func:`pyramidion_forms.validate_json`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge

from pyramidion import get_settings

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

    from . import FormsSettings

__all__ = ["check_body_size", "check_form_limits", "form_limits_deriver"]

_CHECKED = "pyramidion_forms.limits_checked"
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def forms_settings(request: Request) -> FormsSettings:
    from . import FormsSettings

    return get_settings(request.registry, FormsSettings)


def check_body_size(request: Request) -> None:
    """Refuse a body larger than ``forms.max_body_size`` with 413.

    A body sent without a length (chunked) is read up to one byte past the
    limit and no further.
    """
    limit = forms_settings(request).max_body_size
    length = request.content_length
    if length is None and request.is_body_readable:
        data = request.body_file_raw.read(limit + 1)
        if len(data) <= limit:
            request.body = data
        length = len(data)
    if length is not None and length > limit:
        raise HTTPRequestEntityTooLarge(
            f"The submitted data is larger than this site accepts "
            f"(at most {limit} bytes). Send less, or in several parts."
        )


def check_form_limits(request: Request) -> None:
    """Apply every limit to a submitted form; once per request.

    Raises 413 for a body over ``forms.max_body_size``, and 400 naming
    the problem for more than ``forms.max_fields`` fields or a value longer
    than ``forms.max_field_length`` characters. Requests without a form
    body pass untouched.
    """
    if request.environ.get(_CHECKED) or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    request.environ[_CHECKED] = True
    check_body_size(request)
    if request.content_type not in _FORM_TYPES:
        return
    settings = forms_settings(request)
    # The body is bounded now, so parsing it to count is cheap.
    fields = request.POST
    if len(fields) > settings.max_fields:
        raise HTTPBadRequest(
            f"The form has {len(fields)} fields; this site accepts at most {settings.max_fields}."
        )
    for name, value in _text_values(fields.items()):
        if len(value) > settings.max_field_length:
            raise HTTPBadRequest(
                f"The field '{name}' is {len(value)} characters long; this site "
                f"accepts at most {settings.max_field_length}."
            )


def _text_values(items: Any) -> Iterator[tuple[str, str]]:
    # Uploaded files are not text; their size is bounded by the body limit.
    for name, value in items:
        if isinstance(value, str):
            yield str(name), value


View = Callable[[Any, "Request"], "Response"]


def form_limits_deriver(view: View, info: Any) -> View:
    """View deriver: check the limits before the view (and the CSRF check) reads the body.

    Applies to every :class:`pyramidion_forms.FormView` and to views added
    with ``form_limits=True``; ``form_limits=False`` turns it off.
    """
    enabled = info.options.get("form_limits")
    if enabled is None:
        from .views import FormView

        original = info.original_view
        enabled = isinstance(original, type) and issubclass(original, FormView)
    if not enabled:
        return view

    def limited(context: Any, request: Request) -> Response:
        check_form_limits(request)
        return view(context, request)

    return limited


form_limits_deriver.options = ("form_limits",)  # type: ignore[attr-defined]
