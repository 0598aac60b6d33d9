"""The blog's pages: the list with search and paging, a post, the forms to
write, edit, delete and moderate posts.

Every form is a :class:`pyramidion_forms.FormView` or carries the CSRF
token; a refused submission changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request

from pyramidion import get_settings
from pyramidion_forms import FormView, flash

from .models import Post
from .schemas import HideSchema, post_schema
from .services import attach, delete_post, detach, hide_post, list_posts, show_post
from .settings import BlogSettings

if TYPE_CHECKING:
    from pyramid.response import Response

    from .resources import Blog


def _user_id(request: Request) -> int | None:
    userid = request.authenticated_userid
    return None if userid is None else int(userid)


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def post_list(context: Blog, request: Request) -> dict[str, Any]:
    """``/``: the posts the user may see, newest first; ``?q=`` searches
    titles and bodies, ``?page=`` pages."""
    settings = get_settings(request.registry, BlogSettings)
    query = request.GET.get("q", "").strip()
    page = list_posts(
        request.dbsession,
        user_id=_user_id(request),
        moderator=bool(request.has_permission("blog.post.moderate", context)),
        query=query,
        page=_page_number(request),
        per_page=settings.per_page,
    )

    def page_url(number: int) -> str:
        params = {"q": query, "page": str(number)} if query else {"page": str(number)}
        return str(request.route_url("blog.post.list", _query=params))

    def excerpt(post: Post) -> str:
        body = post.body.strip()
        limit = settings.excerpt_length
        return body if len(body) <= limit else body[:limit].rstrip() + "…"

    return {
        "page_title": f"Posts matching “{query}”" if query else "Posts",
        "page": page,
        "query": query,
        "page_url": page_url,
        "excerpt": excerpt,
        "can_add": bool(request.has_permission("blog.post.add", context)),
    }


def paragraphs(text: str) -> list[list[str]]:
    """The lines of each paragraph of ``text`` (paragraphs end at a blank line)."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [block.strip("\n").split("\n") for block in blocks if block.strip()]


def post_page(context: Post, request: Request) -> dict[str, Any]:
    """``/posts/{id}``: the post, its attachments and what the user may do."""
    return {
        "page_title": context.title,
        "post": context,
        "paragraphs": paragraphs(context.body),
        "can_edit": bool(request.has_permission("blog.post.edit", context)),
        "can_delete": bool(request.has_permission("blog.post.delete", context)),
        "can_moderate": bool(request.has_permission("blog.post.moderate", context)),
    }


class _PostForm(FormView):
    submit_title = "Publish"

    def post(self) -> Post | None:
        return None

    def get_schema(self) -> Any:
        return lambda request: post_schema(request, self.post())

    def page_values(self) -> dict[str, Any]:
        return {"post": self.post()}


class NewPostView(_PostForm):
    """``/posts/new``: write a post, with an optional attachment."""

    title = "New post"
    success_message = "Your post is published."

    def on_success(self, appstruct: dict[str, Any]) -> str:
        user_id = _user_id(self.request)
        assert user_id is not None  # the route factory sends anonymous visitors away
        post = Post(author_id=user_id, title=appstruct["title"], body=appstruct["body"])
        self.request.dbsession.add(post)
        if appstruct["attachment"]:
            attach(self.request, post, appstruct["attachment"])
        self.request.dbsession.flush()
        return str(self.request.route_url("blog.post.view", id=post.id))


class EditPostView(_PostForm):
    """``/posts/{id}/edit``: change the title and body, attach a file,
    remove attachments."""

    title = "Edit post"
    submit_title = "Save"
    success_message = "Your changes are saved."
    context: Post

    def post(self) -> Post:
        return self.context

    def appstruct(self) -> dict[str, Any]:
        return {"title": self.context.title, "body": self.context.body}

    def on_success(self, appstruct: dict[str, Any]) -> str:
        post = self.context
        post.title = appstruct["title"]
        post.body = appstruct["body"]
        removed = set(appstruct.get("remove", ()))
        for attachment in list(post.attachments):
            if str(attachment.id) in removed:
                detach(self.request, post, attachment)
        if appstruct["attachment"]:
            attach(self.request, post, appstruct["attachment"])
        return str(self.request.route_url("blog.post.view", id=post.id))


def delete_page(context: Post, request: Request) -> dict[str, Any]:
    """``GET /posts/{id}/delete``: asks before deleting."""
    return {"page_title": "Delete post", "post": context}


def delete(context: Post, request: Request) -> Response:
    """``POST /posts/{id}/delete``: deletes the post and its files."""
    delete_post(request, context)
    flash(request, f"The post “{context.title}” is deleted.")
    return HTTPSeeOther(location=request.route_url("blog.post.list"))


class HidePostView(FormView):
    """``/posts/{id}/hide``: a moderator hides a post, saying why."""

    schema = HideSchema
    title = "Hide post"
    submit_title = "Hide"
    success_message = "The post is hidden; only its author and admins see it."
    form_options: ClassVar[dict[str, Any]] = {"formid": "hide"}
    context: Post

    def on_success(self, appstruct: dict[str, Any]) -> str:
        hide_post(self.context, appstruct["reason"])
        return str(self.request.route_url("blog.post.view", id=self.context.id))


def unhide(context: Post, request: Request) -> Response:
    """``POST /posts/{id}/unhide``: a moderator shows a hidden post again."""
    show_post(context)
    flash(request, "The post is visible to everyone again.")
    return HTTPSeeOther(location=request.route_url("blog.post.view", id=context.id))
