"""Settings that are valid one by one but used to fail at first use: start-up
(and so ``pyramidion check``) finds them before anything is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from webtest import TestApp

from pyramidion import ensure_writable_directory
from pyramidion.cli import main
from pyramidion.errors import AddonConflict, SettingsError
from pyramidion.testing import MakeApp
from tests.distributions import Distributions
from tests.inifiles import write_ini

pytestmark = pytest.mark.usefixtures("no_deployment_environment")

PAGE = """
from pyramid.response import Response

from pyramidion import PUBLIC


def page(request):
    return Response("{name}")
"""


def page_addon(distributions: Distributions, name: str, pattern: str) -> None:
    distributions.addon(
        name,
        preamble=PAGE.replace("{name}", name),
        includeme=f"""
        config.add_route("{name}.page", "{pattern}")
        config.add_view(page, route_name="{name}.page", permission=PUBLIC)
        """,
        descriptor="route_prefix='',",
    )


def test_two_addons_claiming_one_url_stop_start_up(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    page_addon(distributions, "shop", "/offers")
    page_addon(distributions, "news", "/offers")

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["shop", "news"])

    assert str(info.value) == (
        "add-on 'shop' route 'shop.page' (/offers) can never be reached: add-on 'news' "
        "route 'news.page' (/offers), added before it, answers the same URLs. Move one of "
        "them with its route prefix in the ini (for example 'shop.route_prefix = /shop', "
        "now '/'), or disable one of the two add-ons."
    )


def test_a_placeholder_pattern_that_swallows_another_addons_page_is_found(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    page_addon(distributions, "wiki", "/{page}")
    page_addon(distributions, "zoo", "/animals")

    with pytest.raises(AddonConflict, match=r"add-on 'zoo' route 'zoo.page' \(/animals\)"):
        make_pyramidion_app(addons=["wiki", "zoo"])


def test_the_same_url_under_different_prefixes_serves_both(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    page_addon(distributions, "shop", "/offers")
    page_addon(distributions, "news", "/offers")

    app = TestApp(
        make_pyramidion_app({"shop.route_prefix": "/shop"}, addons=["shop", "news"]),
        extra_environ={"HTTP_HOST": "localhost"},
    )

    assert app.get("/shop/offers").text == "shop"
    assert app.get("/offers").text == "news"


def test_a_directory_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(SettingsError) as info:
        ensure_writable_directory(blocker / "files", "storage.local_root")

    assert str(info.value) == (
        f"storage.local_root = {blocker / 'files'}: the directory cannot be created "
        "(Not a directory); create it and give the server's user write access, or point "
        "storage.local_root elsewhere."
    )
    with pytest.raises(SettingsError, match="that is a file, not a directory"):
        ensure_writable_directory(blocker, "storage.local_root")
    ensure_writable_directory(tmp_path / "new" / "files", "storage.local_root")
    assert (tmp_path / "new" / "files").is_dir()
    assert list((tmp_path / "new" / "files").iterdir()) == []


def test_check_warns_about_settings_that_have_no_effect_and_placeholders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(
        tmp_path,
        {
            "pyramidion.addons": "storage",
            "pyramidion.environment": "development",
            "pyramidion.allowed_hosts": "localhost",
            "storage.local_root": str(tmp_path / "files"),
            "storage.s3_secret_access_key": "change-me",
            "auth.allow_registration": "true",
            "stroage.max_upload_size": "10",
        },
    )

    assert main(["check", ini]) == 0

    out = capsys.readouterr().out
    assert (
        "auth.allow_registration is set, but add-on 'auth' is not enabled, so the setting "
        "has no effect: add 'auth' to pyramidion.addons, or remove the line."
    ) in out
    assert (
        "stroage.max_upload_size belongs to no enabled add-on, so it has no effect. Did "
        "you mean 'storage'? Correct the name, or remove the line."
    ) in out
    assert "storage.s3_secret_access_key is a placeholder value" in out
    assert "change-me" not in out
