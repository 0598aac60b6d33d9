"""The storage tests run an app with ``storage`` and ``storagetest``, once
on the local backend and once on S3 (moto's server, started here on a free
loopback port).

``storagetest`` (in ``example/``) is installed for the test session as a real
distribution (a ``dist-info`` directory next to the package on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyramid.scripting import prepare

from pyramidion.testing import build_settings, install_test_distribution
from pyramidion_storage.backends import LocalBackend, S3Backend, StorageBackend

EXAMPLE = Path(__file__).resolve().parent / "example"
S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def storagetest_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The ``storagetest`` add-on, installed for the rest of the session."""
    install_test_distribution(
        tmp_path_factory.mktemp("storagetest-site"),
        source=EXAMPLE,
        distribution="pyramidion-storage-example",
        addons={"storagetest": "pyramidion_storage_example:addon"},
    )


@pytest.fixture(scope="session")
def pyramidion_addons(storagetest_installed: None) -> list[str]:
    return ["storage", "storagetest"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, for the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", **S3_CREDENTIALS
    )


def new_bucket(s3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def app_bucket(s3_client: Any) -> str:
    """The bucket the S3-backed test app stores into."""
    return new_bucket(s3_client)


@pytest.fixture(scope="session")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory the locally backed test app stores into."""
    return tmp_path_factory.mktemp("storage") / "files"


@pytest.fixture(params=["local", "s3"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each test that uses the app runs once per backend."""
    return str(request.param)


@pytest.fixture
def storage_settings(
    backend_name: str, local_root: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    if backend_name == "local":
        return {"storage.backend": "local", "storage.local_root": str(local_root)}
    endpoint = request.getfixturevalue("s3_endpoint")
    return {
        "storage.backend": "s3",
        "storage.s3_bucket": request.getfixturevalue("app_bucket"),
        "storage.s3_endpoint_url": endpoint,
        "storage.s3_region": "us-east-1",
        "storage.s3_access_key_id": S3_CREDENTIALS["aws_access_key_id"],
        "storage.s3_secret_access_key": S3_CREDENTIALS["aws_secret_access_key"],
    }


@pytest.fixture
def pyramidion_settings(
    pyramidion_database_url: str,
    pyramidion_addons: list[str],
    pyramidion_extra_settings: dict[str, Any],
    storage_settings: dict[str, str],
) -> dict[str, Any]:
    return build_settings(
        pyramidion_database_url,
        pyramidion_addons,
        {**storage_settings, "storage.max_upload_size": "100000", **pyramidion_extra_settings},
    )


@pytest.fixture
def backend(pyramidion_app: Any) -> Iterator[StorageBackend]:
    """The test app's backend, as a request finds it."""
    from pyramidion_storage.services import get_backend

    env = prepare(registry=pyramidion_app.registry)
    try:
        yield get_backend(env["request"])
    finally:
        env["closer"]()


@pytest.fixture(params=["local", "s3"])
def bare_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    """A fresh, empty backend of each kind, outside any app."""
    if request.param == "local":
        return LocalBackend(tmp_path / "files")
    client = request.getfixturevalue("s3_client")
    return S3Backend(client, new_bucket(client), prefix="files/")


@pytest.fixture
def app_storage(pyramidion_app: Any, db_connection: Any) -> Iterator[Any]:
    """``request.storage`` of a request with its transaction begun, as in a
    command; the test commits with ``app_storage.request.tm.commit()``."""
    from pyramid.scripting import prepare
    from transaction.interfaces import NoTransaction

    env = prepare(registry=pyramidion_app.registry)
    request = env["request"]
    request.tm.begin()
    try:
        yield request.storage
    finally:
        with contextlib.suppress(NoTransaction):
            request.tm.abort()
        env["closer"]()
