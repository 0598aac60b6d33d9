"""The blog's routes and views (mounted at the site root by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator

#: Permissions the blog checks, with what they allow.
PERMISSIONS = {
    "blog.post.list": "See the list of posts (everyone)",
    "blog.post.add": "Write a post (logged-in users)",
    "blog.post.edit": "Edit a post (its author)",
    "blog.post.delete": "Delete a post (its author)",
    "blog.post.moderate": "Hide and show posts of others (admins)",
}

TEMPLATES = "pyramidion_blog:templates/"


def includeme(config: Configurator) -> None:
    """Add the routes, views, navigation entries and declared permissions."""
    from . import views
    from .resources import blog_factory, new_post_factory, post_factory

    config.add_route("blog.post.list", "/", factory=blog_factory)
    config.add_route("blog.post.add", "/posts/new", factory=new_post_factory)
    config.add_route("blog.post.view", "/posts/{id:\\d+}", factory=post_factory)
    config.add_route("blog.post.edit", "/posts/{id:\\d+}/edit", factory=post_factory)
    config.add_route("blog.post.delete", "/posts/{id:\\d+}/delete", factory=post_factory)
    config.add_route("blog.post.hide", "/posts/{id:\\d+}/hide", factory=post_factory)
    config.add_route("blog.post.unhide", "/posts/{id:\\d+}/unhide", factory=post_factory)

    config.add_view(
        views.post_list,
        route_name="blog.post.list",
        renderer=TEMPLATES + "list.pt",
        permission="blog.post.list",
    )
    config.add_view(
        views.post_page,
        route_name="blog.post.view",
        renderer=TEMPLATES + "post.pt",
        permission="view",
    )
    # Posts carry a file, so their forms are bounded by storage's upload
    # limit (and the server's body limit) rather than by the forms
    # add-on's smaller limit for text-only forms; the schema bounds each
    # text field.
    config.add_view(
        views.NewPostView,
        route_name="blog.post.add",
        permission="blog.post.add",
        form_limits=False,
    )
    config.add_view(
        views.EditPostView,
        route_name="blog.post.edit",
        permission="blog.post.edit",
        form_limits=False,
    )
    config.add_view(
        views.delete_page,
        route_name="blog.post.delete",
        request_method=("GET", "HEAD"),
        renderer=TEMPLATES + "delete.pt",
        permission="blog.post.delete",
    )
    config.add_view(
        views.delete,
        route_name="blog.post.delete",
        request_method="POST",
        permission="blog.post.delete",
    )
    config.add_view(
        views.HidePostView, route_name="blog.post.hide", permission="blog.post.moderate"
    )
    config.add_view(
        views.unhide,
        route_name="blog.post.unhide",
        request_method="POST",
        permission="blog.post.moderate",
    )

    for name, description in PERMISSIONS.items():
        config.declare_permission(name, description)
    config.add_nav_item(
        "blog.posts",
        "Posts",
        route_name="blog.post.list",
        permission="blog.post.list",
        context=blog_factory,
        order=10,
    )
    config.add_nav_item(
        "blog.new",
        "New post",
        route_name="blog.post.add",
        permission="blog.post.add",
        context=blog_factory,
        order=20,
    )
