"""The container image and the Kubernetes manifests in deploy/, checked
statically: no container engine or cluster runs here. What they promise
(the start command, the port, the probes, draining within the grace
period, an unprivileged user, the migration Job) is read from the files
and held against the settings and the behaviour other tests prove
(tests/test_serve_drain.py, tests/reliability/test_hung_database.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import plaster
import pytest
from sqlalchemy.engine import make_url

from pyramidion import make_app
from pyramidion.configfile import check_config_file

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SERVE = ["pyramidion", "serve", "production.ini"]
MIGRATE = ["pyramidion", "db", "upgrade", "production.ini"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuations joined."""
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def manifests(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind]
    return found


def ini_settings() -> dict[str, str]:
    loader = plaster.get_loader(str(DEPLOY / "production.ini"), protocols=["wsgi"])
    return dict(loader.get_settings("app:main"))


def server_port() -> int:
    loader = plaster.get_loader(str(DEPLOY / "production.ini"), protocols=["wsgi"])
    listen = loader.get_settings("server:main")["listen"]
    host, _, port = listen.rpartition(":")
    assert host == "0.0.0.0", "in a container the server listens on every interface"
    return int(port)


def health_port() -> int:
    host, _, port = ini_settings()["pyramidion.health_listen"].rpartition(":")
    assert host == "0.0.0.0"
    return int(port)


def test_the_dockerfile_builds_in_stages_and_serves_as_an_unprivileged_user() -> None:
    instructions = dockerfile_instructions()
    stages = [args for word, args in instructions if word == "FROM"]
    assert len(stages) >= 2, "a build stage and a run stage"
    run_stage = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    final = instructions[run_stage:]
    assert any(w == "COPY" and a.startswith("--from=build") for w, a in final)
    users = [args for word, args in final if word == "USER"]
    assert users, "the run stage sets a USER"
    user = users[-1].split(":")[0]
    assert user.isdigit(), "a numeric user, which Kubernetes can check is not root"
    assert int(user) != 0
    assert (
        int(user)
        == manifests("deployment.yaml")[0]["spec"]["template"]["spec"]["securityContext"][
            "runAsUser"
        ]
    )
    (cmd,) = [args for word, args in final if word == "CMD"]
    assert json.loads(cmd) == SERVE, "exec form, so SIGTERM reaches pyramidion serve"
    assert ("STOPSIGNAL", "SIGTERM") in final
    assert ("EXPOSE", f"{server_port()} {health_port()}") in final
    copied = [a.split() for w, a in final if w == "COPY" and not a.startswith("--from")]
    assert ["deploy/production.ini", "/app/production.ini"] in copied
    healthcheck = [a for w, a in final if w == "HEALTHCHECK"]
    assert len(healthcheck) == 1
    assert f"127.0.0.1:{health_port()}/healthz" in healthcheck[0]


def test_the_ini_in_the_image_is_valid_and_starts_the_demo_app(tmp_path: Path) -> None:
    check_config_file(str(DEPLOY / "production.ini"), require_server=True)
    settings = {
        **ini_settings(),
        "sqlalchemy.url": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "storage.local_root": str(tmp_path / "files"),
    }
    app = make_app(settings, environ={})
    assert app.routes_mapper.get_route("pyramidion.readyz") is not None


def test_the_deployment_probes_drains_and_limits_its_pods() -> None:
    documents = manifests("deployment.yaml")
    deployment = of_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == SERVE
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": server_port(), "health": health_port()}

    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert (readiness["path"], readiness["port"]) == ("/readyz", "http")
    # On the health listener, which no busy worker thread can hold up.
    assert (liveness["path"], liveness["port"]) == ("/healthz", "health")
    # /readyz answers within pyramidion.readiness_timeout; the probe waits longer.
    assert container["readinessProbe"]["timeoutSeconds"] > int(
        ini_settings()["pyramidion.readiness_timeout"]
    )

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}

    # The grace period covers the preStop pause, then the drain.
    env = {e["name"]: e.get("value") for e in container["env"]}
    delay = int(env["PYRAMIDION_SHUTDOWN_DELAY"])
    timeout = int(env["PYRAMIDION_SHUTDOWN_TIMEOUT"])
    assert (str(delay), str(timeout)) == (
        ini_settings()["pyramidion.shutdown_delay"],
        ini_settings()["pyramidion.shutdown_timeout"],
    )
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + delay + timeout
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    service = of_kind(documents, "Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_the_migration_job_runs_db_upgrade_once() -> None:
    job = of_kind(manifests("migrate-job.yaml"), "Job")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == MIGRATE
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    deployment = of_kind(manifests("deployment.yaml"), "Deployment")
    (web,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == web["image"], "the migration runs the release's own image"


def test_secrets_come_from_the_environment_not_the_ini() -> None:
    deployment = of_kind(manifests("deployment.yaml"), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    from_secrets = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert "PYRAMIDION_SQLALCHEMY__URL" in from_secrets
    text = (DEPLOY / "production.ini").read_text()
    assert not re.search(r"(?m)^\s*\S*(sentry_dsn|metrics_token|password)\s*=", text)
    assert make_url(ini_settings()["sqlalchemy.url"]).password is None
