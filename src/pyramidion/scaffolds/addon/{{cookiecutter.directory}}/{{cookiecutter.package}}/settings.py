"""The add-on's settings, parsed once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from pyramidion import setting


@dataclass(frozen=True)
class {{ cookiecutter.class_prefix }}Settings:
    """The add-on's settings, each read from the ini as
    ``{{ cookiecutter.name }}.KEY`` or from the environment variable
    ``PYRAMIDION_{{ cookiecutter.name | upper }}__KEY`` (which wins).
    """

    per_page: int = setting(20, doc="Items shown on the list page, newest first.", min=1, max=500)
