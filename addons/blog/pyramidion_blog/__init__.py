"""The blog add-on: Pyramidion's demo application and reference add-on.

It uses only the public contracts of the core and of the ``auth``,
``forms`` and ``storage`` add-ons, which it requires. Enable it with
``pyramidion.addons = blog`` and run ``pyramidion db upgrade``; it serves
the site root (``blog.route_prefix`` moves it).

What people can do:

- **Read.** ``/`` lists everyone's posts, newest first, ``blog.per_page``
  to a page (``?page=``), and searches titles and bodies without regard
  to case (``?q=``); ``/posts/{id}`` shows one post and its attachments,
  which download through the storage add-on.
- **Write.** Logged-in users write posts (``/posts/new``) with an
  optional file attached through storage's upload widget, and edit
  (``/posts/{id}/edit``: change the text, attach or remove files) and
  delete (``/posts/{id}/delete``) their own. A post's ``__acl__`` lets its
  author edit and delete it; admins may do everything through the core's
  root rule.
- **Moderate.** Admins hide a post with a reason (``/posts/{id}/hide``)
  and show it again (``/posts/{id}/unhide``). A hidden post, and its
  files, answer 404 to everyone but its author and admins, and drop out
  of their lists.

Permissions (declared): ``blog.post.list``, ``blog.post.add``,
``blog.post.edit``, ``blog.post.delete``, ``blog.post.moderate``; a
post's page needs ``view``. Files are saved in the storage realm
``blog.post``: whoever may view the post may download them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, app_state

from .settings import BlogSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["BlogSettings", "addon", "includeme"]


def includeme(config: Configurator) -> None:
    """Wire the blog into the app.

    Reads ``blog.per_page`` and ``blog.excerpt_length``. Registers the
    routes and views of :mod:`pyramidion_blog.routes` (list, post, new,
    edit, delete, hide, unhide), the navigation entries "Posts" and "New
    post", the declared permissions, and the storage realm ``blog.post``
    whose files are downloadable by whoever may view their post. With the
    ``admin`` add-on enabled, registers posts and attachments with it
    (:mod:`pyramidion_blog.admin`: the moderation queue and bulk
    hide/show); with ``api`` enabled, the resource ``/api/v1/posts`` and
    its moderation operations (:mod:`pyramidion_blog.api`).
    """
    from .resources import post_of_file
    from .services import FILE_REALM

    config.include(".routes")
    config.add_file_context(FILE_REALM, post_of_file)
    if "admin" in app_state(config.registry).resolution:
        config.include(".admin")
    if "api" in app_state(config.registry).resolution:
        config.include(".api")


addon = Addon(
    name="blog",
    title="A small blog: posts with attachments, search, paging and moderation",
    includeme="pyramidion_blog:includeme",
    requires=("auth", "forms", "storage"),
    # With admin or api enabled, their directives exist when the blog
    # registers posts with them.
    after=("admin", "api"),
    settings=BlogSettings,
    models="pyramidion_blog.models",
    migrations="pyramidion_blog:migrations",
    route_prefix="",
)
