"""A person picks a file in a real browser form; the file is stored and shown."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import LiveServer

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
    "890000000d49444154789c6360f8cfc0f01f0005000201a5f1d6e90000000049454e44ae426082"
)


@pytest.mark.parametrize("backend_name", ["local"], indirect=True)
def test_a_form_with_a_file_field_stores_and_shows_the_file(
    pyramidion_page: Any, pyramidion_live_server: LiveServer, tmp_path: Path
) -> None:
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PNG)
    title = f"holiday {uuid.uuid4().hex[:8]}"

    pyramidion_page.goto(f"{pyramidion_live_server.url}/storagetest/form")
    # First with a title too short: the form comes back with the file kept.
    pyramidion_page.fill("input[name=title]", "ab")
    pyramidion_page.set_input_files("input[type=file]", str(picture))
    pyramidion_page.click("button[type=submit]")
    pyramidion_page.wait_for_selector("text=Shorter than minimum length 3")
    assert "pixel.png" in pyramidion_page.content()

    pyramidion_page.fill("input[name=title]", title)
    pyramidion_page.click("button[type=submit]")

    pyramidion_page.wait_for_selector("#file")
    assert pyramidion_page.inner_text("h1") == f"Stored {title}"
    assert pyramidion_page.inner_text("#file") == "pixel.png"
    assert pyramidion_page.inner_text("#sha256") == hashlib.sha256(PNG).hexdigest()
    assert pyramidion_page.eval_on_selector("#preview", "img => img.naturalWidth") == 1
    downloaded = pyramidion_page.request.get(pyramidion_page.get_attribute("#file", "href"))
    assert downloaded.body() == PNG
    assert downloaded.headers["content-type"] == "image/png"
