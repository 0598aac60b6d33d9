"""The blog add-on's settings, read from ``blog.*`` keys."""

from __future__ import annotations

from dataclasses import dataclass

from pyramidion import setting


@dataclass(frozen=True)
class BlogSettings:
    """Settings of the blog add-on."""

    per_page: int = setting(10, doc="Posts on one page of the list.", min=1, max=100)
    excerpt_length: int = setting(
        300, doc="Characters of a post's body shown in the list.", min=20, max=5000
    )
