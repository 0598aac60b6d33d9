"""``pyramidion addons list|graph|why|overrides`` on real ini files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pyramidion.cli import main
from tests.distributions import Distributions
from tests.inifiles import write_ini

pytestmark = pytest.mark.usefixtures("no_deployment_environment")


def _write_dev_ini(tmp_path: Path, settings: dict[str, str]) -> str:
    return write_ini(tmp_path, {"pyramidion.environment": "development", **settings})


class Site:
    """The add-ons of the tests below and the names the test gave them."""

    def __init__(self, distributions: Distributions) -> None:
        self.table = distributions.table("tags", "items")
        self.revision = f"r{distributions.token}"
        # tags: a model, a migration, a route whose name does not start
        # with "tags." (it is found by the file that added it) and a
        # template that journal overrides.
        self.tags = distributions.addon(
            "tags",
            includeme="""
                config.add_route("tagcloud", "/cloud")
            """,
            descriptor='models="{pkg}.models",\nmigrations="{pkg}:migrations",',
            files={
                "models.py": f"""
                    from sqlalchemy.orm import Mapped, mapped_column

                    from pyramidion.db import Base


                    class Tag(Base):
                        __tablename__ = "{self.table}"

                        id: Mapped[int] = mapped_column(primary_key=True)
                """,
                f"migrations/{self.revision}_tags.py": f"""
                    import sqlalchemy as sa
                    from alembic import op

                    revision = "{self.revision}"
                    down_revision = None
                    branch_labels = ("tags",)
                    depends_on = None


                    def upgrade():
                        op.create_table(
                            "{self.table}",
                            sa.Column("id", sa.Integer(), primary_key=True),
                        )


                    def downgrade():
                        op.drop_table("{self.table}")
                """,
                "templates/cloud.pt": "<p>tags</p>\n",
            },
        )
        self.journal = distributions.addon(
            "journal",
            requires=["tags>=1.0"],
            after=["media"],
            includeme="""
                config.add_route("journal.home", "/")
            """,
            descriptor='title="A journal with tagged posts",',
            files={"overrides/tags/templates/cloud.pt": "<p>journal's cloud</p>\n"},
        )
        self.media = distributions.addon("media", version="2.1")
        distributions.addon("gallery", version="0.3")


@pytest.fixture
def site(distributions: Distributions) -> Site:
    return Site(distributions)


@pytest.fixture
def ini(site: Site, tmp_path: Path) -> str:
    return _write_dev_ini(tmp_path, {"pyramidion.addons": "media journal"})


def test_list_shows_what_each_enabled_addon_contributes(
    site: Site, ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["addons", "list", ini]) == 0

    out = capsys.readouterr().out
    assert out.startswith(
        "Enabled add-ons, in include order:\n"
        "\n"
        "media 2.1 (distribution pyramidion-test-media)\n"
        "  enabled:    listed in pyramidion.addons\n"
        "  prefix:     /media\n"
        "  routes:     (none)\n"
        "  tables:     (none)\n"
        "  database:   not installed; no migrations\n"
        "\n"
        "tags 1.0 (distribution pyramidion-test-tags)\n"
        "  enabled:    required by journal\n"
        "  prefix:     /tags\n"
        "  routes:     tagcloud  /tags/cloud\n"
        f"  tables:     {site.table}\n"
        f"  database:   not installed; 1 pending migration(s) ({site.revision}); "
        "run `pyramidion db upgrade`\n"
        "\n"
        "journal 1.0 (distribution pyramidion-test-journal)\n"
        "  A journal with tagged posts\n"
        "  enabled:    listed in pyramidion.addons\n"
        "  prefix:     /journal\n"
        "  routes:     journal.home  /journal/\n"
        "  tables:     (none)\n"
        "  database:   not installed; no migrations\n"
    )
    assert "The core has 3 pending migration(s) (" in out
    # Add-ons installed in the environment running the tests may be listed too.
    available = out.split("Installed but not enabled (add to pyramidion.addons to enable):\n")[1]
    assert "  gallery 0.3 (pyramidion-test-gallery)\n" in available
    assert "journal" not in available


def test_list_after_upgrade_shows_installed_versions(
    site: Site, ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    assert main(["addons", "list", ini]) == 0

    out = capsys.readouterr().out
    assert "  database:   installed at 1.0; migrations up to date\n" in out
    assert "  database:   installed at 2.1; no migrations\n" in out
    assert "pending" not in out


def test_list_as_json(site: Site, ini: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addons", "list", ini, "--format", "json"]) == 0

    listing = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listing["enabled"]] == ["media", "tags", "journal"]
    tags = listing["enabled"][1]
    assert tags["explicit"] is False
    assert tags["required_by"] == ["journal"]
    assert tags["routes"] == [{"name": "tagcloud", "pattern": "/tags/cloud"}]
    assert tags["tables"] == [site.table]
    assert tags["migrations"] == {"installed_version": None, "pending": [site.revision]}
    available = [a["name"] for a in listing["available"]]
    assert "gallery" in available
    assert "journal" not in available
    assert listing["database_note"] is None


def test_list_without_a_database_shows_the_rest_and_says_why(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _write_dev_ini(
        tmp_path,
        {
            "pyramidion.addons": "journal",
            "sqlalchemy.url": "postgresql+psycopg://app:hunter2@127.0.0.1:1/app",
        },
    )

    assert main(["addons", "list", ini]) == 0

    out = capsys.readouterr().out
    assert "  routes:     journal.home  /journal/\n" in out
    assert "  database:   unknown (see the note below)\n" in out
    assert (
        "Note: migration state not shown: the database "
        "postgresql+psycopg://app:***@127.0.0.1:1/app could not be read (OperationalError: "
    ) in out
    assert "hunter2" not in out


def test_graph_as_a_text_tree(site: Site, ini: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addons", "graph", ini]) == 0

    assert capsys.readouterr().out == (
        "journal 1.0 [listed]\n"
        "├── requires tags 1.0 [pulled in]\n"
        "└── after media (order only)\n"
        "media 2.1 [listed]\n"
        "\n"
        "Include order: media, tags, journal\n"
        "[listed] = named in pyramidion.addons; [pulled in] = required by another add-on.\n"
    )


def test_graph_as_dot(site: Site, ini: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addons", "graph", ini, "--format", "dot"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("digraph pyramidion_addons {\n")
    assert out.endswith("}\n")
    assert '  "journal" [label="journal\\n1.0", style=bold];\n' in out
    assert '  "tags" [label="tags\\n1.0", style=dashed];\n' in out
    assert '  "journal" -> "tags" [label="requires"];\n' in out
    assert '  "journal" -> "media" [label="after", style=dashed];\n' in out


def test_why_follows_every_chain_to_a_listed_addon(
    distributions: Distributions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributions.addon("base")
    distributions.addon("accounts", requires=["base>=1.0"])
    distributions.addon("journal", requires=["accounts"])
    distributions.addon("shop", requires=["accounts"])
    ini = _write_dev_ini(tmp_path, {"pyramidion.addons": "shop base journal"})

    assert main(["addons", "why", "base", ini]) == 0

    assert capsys.readouterr().out == (
        f"base 1.0 (pyramidion-test-base) is enabled in {ini}:\n"
        "  - pyramidion.addons lists it\n"
        "  - journal requires it: journal -> accounts -> base (accounts asks for base>=1.0)\n"
        "  - shop requires it: shop -> accounts -> base (accounts asks for base>=1.0)\n"
    )


def test_why_not_an_installed_addon(
    site: Site, ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["addons", "why", "gallery", ini]) == 1

    assert capsys.readouterr().out == (
        f"gallery is not enabled in {ini}.\n"
        "It is installed (pyramidion-test-gallery 0.3); add it to pyramidion.addons to "
        "enable it.\n"
    )


def test_why_a_misspelled_addon_suggests_the_name(
    site: Site, ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["addons", "why", "galery", ini]) == 1

    out = capsys.readouterr().out
    assert out.startswith(
        f"galery is not enabled in {ini}.\n"
        "No installed distribution provides an add-on by that name.\n"
        "Did you mean 'gallery'?\n"
        "Installed add-ons: "
    )
    installed = out.splitlines()[-1].removeprefix("Installed add-ons: ").split(", ")
    assert {"journal", "gallery", "media", "tags"} <= set(installed)


def test_overrides_name_the_winner_and_what_it_shadows(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    integrator = tmp_path / "site-overrides"
    (integrator / "tags" / "templates").mkdir(parents=True)
    (integrator / "tags" / "templates" / "cloud.pt").write_text("<p>ours</p>\n")
    (integrator / "journal").mkdir()
    (integrator / "journal" / "banner.pt").write_text("<p>banner</p>\n")
    ini = _write_dev_ini(
        tmp_path, {"pyramidion.addons": "journal", "pyramidion.overrides": str(integrator)}
    )

    assert main(["addons", "overrides", ini]) == 0

    assert capsys.readouterr().out == (
        "Overridden assets (the first layer wins):\n"
        "\n"
        f"{site.journal}:banner.pt\n"
        "  used:     the integrator's overrides (pyramidion.overrides)\n"
        "\n"
        f"{site.tags}:templates/cloud.pt\n"
        "  used:     the integrator's overrides (pyramidion.overrides)\n"
        "  shadowed: add-on journal\n"
        "  shadowed: original in add-on tags\n"
    )


def test_no_overrides_says_so(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _write_dev_ini(tmp_path, {"pyramidion.addons": "media"})

    assert main(["addons", "overrides", ini]) == 0

    assert capsys.readouterr().out == (
        "Nothing is overridden: no enabled add-on ships overrides/<add-on>/ files, "
        "and pyramidion.overrides is not set.\n"
    )


def test_install_and_uninstall_are_addons_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["addons", "--help"])

    listed = re.findall(r"^    (\w+)", capsys.readouterr().out, flags=re.MULTILINE)
    assert listed == ["list", "graph", "why", "overrides", "install", "uninstall"]


def test_routes_added_through_a_helper_package_belong_to_the_addon_they_name(
    distributions: Distributions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helpers = f"pt_helpers_{distributions.token}"
    distributions.distribution(
        "pt-helpers",
        files={
            f"{helpers}/__init__.py": """
                def add_api_route(config, name, pattern):
                    config.add_route(name, "/api" + pattern)
            """
        },
    )
    distributions.addon(
        "shop",
        includeme=f"""
            from {helpers} import add_api_route

            add_api_route(config, "shop.cart", "/cart")
            add_api_route(config, "unclaimed", "/elsewhere")
        """,
    )
    ini = _write_dev_ini(tmp_path, {"pyramidion.addons": "shop"})

    assert main(["addons", "list", ini]) == 0

    out = capsys.readouterr().out
    assert "  routes:     shop.cart  /shop/api/cart\n  tables:" in out
    assert "unclaimed" not in out


def test_list_says_when_a_disabled_addon_is_still_installed_in_the_database(
    site: Site, ini: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", ini]) == 0
    ini = _write_dev_ini(tmp_path, {"pyramidion.addons": "journal"})
    capsys.readouterr()

    assert main(["addons", "list", ini]) == 0

    assert (
        "  media 2.1 (pyramidion-test-media); still installed in the database at 2.1 "
        "(to drop its tables, enable it again and run `pyramidion addons uninstall`)\n"
    ) in capsys.readouterr().out
