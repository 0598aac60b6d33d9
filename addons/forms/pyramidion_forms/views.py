"""Deform forms for Pyramidion: :func:`make_form` and the class-based :class:`FormView`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import colander
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPMethodNotAllowed, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response

from pyramidion import FORM_TOKEN_FIELD, claim_form_token, new_form_token

from ._deform import deform
from .assets import JQUERY
from .layout import flash
from .schemas import SchemaSource, bind_schema

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["FormError", "FormView", "make_form"]

#: Registry attribute holding the deform renderer (templates are compiled once).
_RENDERER = "pyramidion_forms_renderer"


def make_renderer(search_path: Sequence[str]) -> Any:
    """Deform's Chameleon renderer over ``search_path`` (ours first, then deform's)."""
    return deform.ZPTRendererFactory(tuple(search_path))


def set_renderer(registry: Registry, renderer: Any) -> None:
    setattr(registry, _RENDERER, renderer)


class _RequestRenderer:
    """Deform's renderer with this request's CSRF token and the form's
    one-time token in every template.

    The CSRF token is asked for when the form is first rendered, not when
    it is made: where it is kept in the session, reading it reads the
    session, and a view that validates a submission first has no need to.
    The one-time token is made once per form, so a form shown again after
    an error carries a fresh one.
    """

    def __init__(self, renderer: Any, request: Request) -> None:
        self._renderer = renderer
        self._request = request
        self._csrf_token: str | None = None
        self._form_token: str | None = None
        self.translate = renderer.translate

    def __call__(self, template_name: str, **kw: Any) -> str:
        if "csrf_token" not in kw:
            if self._csrf_token is None:
                self._csrf_token = get_csrf_token(self._request)
            kw["csrf_token"] = self._csrf_token
        if "form_token" not in kw:
            if self._form_token is None:
                self._form_token = new_form_token()
            kw["form_token"] = self._form_token
            kw["form_token_field"] = FORM_TOKEN_FIELD
        return str(self._renderer(template_name, **kw))


def make_form(
    request: Request,
    schema: SchemaSource,
    *,
    buttons: Sequence[str | deform.Button] = ("Save",),
    bind: Mapping[str, Any] | None = None,
    **options: Any,
) -> deform.Form:
    """A deform form for ``schema`` bound to ``request``, carrying its CSRF token.

    The schema is bound as by :func:`pyramidion_forms.bind_schema` (with
    ``bind`` added); ``options`` go to :class:`deform.Form` (``action``,
    ``formid``, ...). The form posts to the current URL by default and its
    hidden ``csrf_token`` field satisfies the core's CSRF check. It also
    carries a one-time token (``idempotency_key``) that a view handling
    its POST passes to :func:`pyramidion.claim_form_token`, as
    :class:`FormView` does, so that a form sent twice does its work once.
    """
    node = bind_schema(schema, request, **(bind or {}))
    renderer = _RequestRenderer(getattr(request.registry, _RENDERER), request)
    made = [
        b if isinstance(b, deform.Button) else deform.Button(name="submit", title=b)
        for b in buttons
    ]
    return deform.Form(node, buttons=made, renderer=renderer, **options)


class FormError(Exception):
    """Raised by :meth:`FormView.on_success` to refuse the submission.

    The form is shown again with ``message`` next to ``field`` (a top-level
    field name), or above the form when ``field`` is None, and nothing the
    callback wrote is kept.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class FormView:
    """A page with one form: GET shows it, POST validates it.

    Subclass it, set :attr:`schema` and write :meth:`on_success`; register
    the class with ``config.add_view(MyForm, route_name=..., permission=...)``
    (no renderer needed). On a valid POST, ``on_success(appstruct)`` runs
    and the browser is redirected with 303 to the URL it returns (or to
    :meth:`success_url`). An invalid POST, or one ``on_success`` refuses with
    :class:`FormError`, shows the form again with status 422, what the user
    typed, and a message next to each field; the transaction is then
    aborted. The CSRF token is in every form, and the core refuses a POST
    without it before the view runs. The add-on's size limits apply before
    the body is parsed.

    Each rendered form carries a one-time token: a POST whose token was
    already used successfully (a double click, a reload, a retry after a
    lost response, answered by any process) gets the first response again,
    typically the same redirect, and ``on_success`` does not run twice. A
    submission answered 4xx (invalid data, :class:`FormError`) does not use
    the token up. The token is bound to the user and the browser's CSRF
    token; see :func:`pyramidion.claim_form_token`.
    """

    #: The form's schema: a node, a ``colander.Schema`` subclass or a
    #: function of the request. Bound with ``request`` and ``dbsession``.
    schema: ClassVar[SchemaSource | None] = None
    #: The page template; it gets ``form`` (HTML), ``view`` and ``page_title``.
    template: ClassVar[str] = "pyramidion_forms:templates/form.pt"
    #: The page's heading and title.
    title: ClassVar[str] = ""
    #: Text of the submit button.
    submit_title: ClassVar[str] = "Save"
    #: Flash message shown after success (when the app has sessions).
    success_message: ClassVar[str | None] = None
    #: Extra keyword arguments for :class:`deform.Form`.
    form_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, context: Any, request: Request) -> None:
        self.context = context
        self.request = request

    # -- what subclasses override ------------------------------------------

    def get_schema(self) -> SchemaSource:
        """The schema for this request; :attr:`schema` unless overridden."""
        if self.schema is None:
            raise NotImplementedError(f"{type(self).__name__} sets no schema")
        return self.schema

    def bind_kw(self) -> dict[str, Any]:
        """Names bound into the schema besides ``request`` and ``dbsession``."""
        return {"context": self.context}

    def appstruct(self) -> Mapping[str, Any]:
        """The values the form starts with on GET; empty unless overridden."""
        return {}

    def on_success(self, appstruct: dict[str, Any]) -> Response | str | None:
        """Act on valid data; return a response, a URL to redirect to, or None.

        Raise :class:`FormError` to show the form again with a message.
        """
        raise NotImplementedError(f"{type(self).__name__} must define on_success")

    def success_url(self, appstruct: dict[str, Any]) -> str:
        """Where to go after success when ``on_success`` returns None: this page."""
        return str(self.request.url)

    def page_values(self) -> dict[str, Any]:
        """Extra names for the page template."""
        return {}

    # -- the flow ------------------------------------------------------------

    def make_form(self) -> deform.Form:
        return make_form(
            self.request,
            self.get_schema(),
            buttons=(self.submit_title,),
            bind=self.bind_kw(),
            **self.form_options,
        )

    def __call__(self) -> Response:
        method = self.request.method
        if method in ("GET", "HEAD"):
            form = self.make_form()
            return self.render(form, form.render(self.appstruct()))
        if method == "POST":
            return self.submit()
        raise HTTPMethodNotAllowed(headers={"Allow": "GET, HEAD, POST"})

    def submit(self) -> Response:
        form = self.make_form()
        try:
            appstruct = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.render(failure.field, failure.render(), status=422)
        try:
            outcome = self.on_success(appstruct)
        except FormError as error:
            return self.render(form, self._refused(form, error), status=422)
        # The token is marked used with the work, in its transaction; a
        # duplicate that got there first wins and its response is sent.
        first = claim_form_token(self.request)
        if first is not None:
            return first
        if isinstance(outcome, Response):
            return outcome
        if self.success_message:
            flash(self.request, self.success_message)
        location = outcome if isinstance(outcome, str) else self.success_url(appstruct)
        return HTTPSeeOther(location=location)

    def _refused(self, form: deform.Form, error: FormError) -> str:
        invalid = colander.Invalid(form.schema, None if error.field else error.message)
        if error.field is not None:
            invalid[error.field] = error.message
        form.widget.handle_error(form, invalid)
        return str(form.render())

    def render(self, form: deform.Field, html: str, *, status: int = 200) -> Response:
        resources = form.get_widget_resources()
        static_url = self.request.static_url
        scripts = list(resources.get("js", ()))
        if scripts:
            # deform's scripts expect jQuery and do not list it; the copy
            # deform ships has advisories, so the add-on's own is given.
            scripts.insert(0, JQUERY)
        values = {
            "form": html,
            "view": self,
            "page_title": self.title,
            "page_resources": {
                "css": [static_url(spec) for spec in resources.get("css", ())],
                "js": [static_url(spec) for spec in scripts],
            },
            **self.page_values(),
        }
        response = render_to_response(self.template, values, request=self.request)
        response.status_int = status
        return response
