"""deform, imported once with its import-time warning silenced.

deform 3 imports ``pkg_resources``, and setuptools warns about that on every
start; the warning is deform's to act on, so it is silenced while deform
is imported, and only then (global filters are untouched).
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="pkg_resources is deprecated as an API", category=UserWarning
    )
    warnings.filterwarnings(
        "ignore", message="pkg_resources is deprecated as an API", category=DeprecationWarning
    )
    import deform
    import deform.widget

__all__ = ["deform"]
