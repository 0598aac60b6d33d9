"""formstest: the add-on the forms tests exercise, as a third party writes one.

It requires ``forms``, registers a contact form (a :class:`FormView`),
navigation entries, a JSON endpoint and CRUD pages, and trusts an
``X-User`` header for identity (tests only).
"""

from pyramidion import Addon


def includeme(config):  # type: ignore[no-untyped-def]
    config.include(".views")


addon = Addon(
    name="formstest",
    title="Test add-on for pyramidion-forms",
    includeme="pyramidion_forms_example:includeme",
    requires=("forms",),
    models="pyramidion_forms_example.models",
    migrations="pyramidion_forms_example:migrations",
)
