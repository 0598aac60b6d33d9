"""bench: the add-on the benchmarks serve, written as any add-on would be.

It requires the bundled add-ons (so the app the benchmarks measure has
them all enabled) and serves the three benchmarked pages: a JSON hello,
one row by primary key as JSON, and an HTML page listing 20 rows with
their owners, for logged-in users only. Its tables are created by the
benchmark runner (it ships no migrations).
"""

from pyramidion import Addon


def includeme(config):  # type: ignore[no-untyped-def]
    config.include(".views")


addon = Addon(
    name="bench",
    title="Pages the benchmarks measure",
    includeme="pyramidion_bench:includeme",
    requires=("auth", "forms", "storage"),
    models="pyramidion_bench.models",
)
