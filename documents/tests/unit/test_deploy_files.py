"""docker-compose.yml, deploy/nginx.conf and the Dockerfile describe a deployment that scales.

The machines that run the tests have no compose CLI (`docker compose config`
is not there), and the Python `docker-compose` 1.x package needs a PyYAML that
no longer builds; so the file is read as YAML, as compose reads it (anchors
included), and its structure is checked: what `--scale app=N` needs, the order
services start in, and a load balancer that passes WebSocket upgrades.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from devtools.paths import ROOT

# ${NAME}, ${NAME:-default}, ${NAME:?message}, as compose interpolates them.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def nginx() -> str:
    return (ROOT / "deploy" / "nginx.conf").read_text()


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution; a `:?` variable that is unset raises."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return VARIABLE.sub(one, value)


def test_the_file_defines_the_services_of_a_scaled_deployment(compose):
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "app", "lb"}


def test_the_app_can_be_scaled(compose):
    app = compose["services"]["app"]
    # A fixed host port or container name lets only one replica start.
    assert "ports" not in app
    assert "container_name" not in app
    assert "8000" in [str(port) for port in app["expose"]]


def test_only_the_load_balancer_is_published(compose):
    published = [name for name, service in compose["services"].items() if "ports" in service]
    assert published == ["lb"]
    (port,) = compose["services"]["lb"]["ports"]
    assert interpolate(port, {}) == "8000:8080"


def test_migrations_run_once_before_any_app_container(compose):
    services = compose["services"]
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    app_waits_for = services["app"]["depends_on"]
    assert app_waits_for["migrate"]["condition"] == "service_completed_successfully"
    assert app_waits_for["redis"]["condition"] == "service_healthy"
    # The app and the migrations are the one image.
    assert services["app"]["image"] == services["migrate"]["image"]
    # ... and the app's own command does not migrate.
    assert "command" not in services["app"]
    cmd = [line for line in dockerfile_lines() if line.startswith("CMD ")]
    assert len(cmd) == 1
    assert "migrate" not in cmd[0]
    assert "editor_project.server.serve" in cmd[0]


def test_the_load_balancer_waits_for_healthy_app_containers(compose):
    lb = compose["services"]["lb"]
    assert lb["depends_on"]["app"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]


def test_app_and_migrate_get_the_same_production_environment(compose):
    services = compose["services"]
    env = services["app"]["environment"]
    assert services["migrate"]["environment"] == env
    assert env["DEBUG"] == "false"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["COLLAB_THROTTLE_PROXY_HOPS"] == "1"  # nginx appends one X-Forwarded-For hop


def test_secret_key_has_no_default(compose):
    secret = compose["services"]["app"]["environment"]["SECRET_KEY"]
    with pytest.raises(LookupError, match="SECRET_KEY"):
        interpolate(secret, {})
    assert interpolate(secret, {"SECRET_KEY": "s" * 64}) == "s" * 64
    # Nothing else in the file carries a key either.
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()


def test_the_load_balancer_points_at_the_app_service(nginx):
    upstream = re.search(r"upstream app \{(?P<body>[^}]*)\}", nginx)
    assert upstream is not None
    servers = re.findall(r"^\s*server (\S+)", upstream["body"], re.MULTILINE)
    assert servers == ["app:8000"]
    # Re-resolved, so replicas added by --scale later are used too.
    assert re.search(r"server app:8000 resolve\b", upstream["body"])
    assert re.search(r"^\s*resolver 127\.0\.0\.11\b", nginx, re.MULTILINE)
    assert re.search(r"^\s*listen 8080;", nginx, re.MULTILINE)
    assert "proxy_pass http://app;" in nginx


def test_the_load_balancer_passes_websocket_upgrades(nginx):
    assert "proxy_http_version 1.1;" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "proxy_set_header Connection $connection_upgrade;" in nginx
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;", nginx)
    # The app compares a socket's Origin with its Host: the port must survive.
    assert "proxy_set_header Host $http_host;" in nginx
    # Editors' sockets stay open far longer than nginx's 60 s default.
    timeout = re.search(r"proxy_read_timeout (\d+)s;", nginx)
    assert timeout is not None
    assert int(timeout[1]) >= 600


def test_metrics_are_not_served_through_the_load_balancer(nginx):
    assert re.search(r"location = /metrics \{\s*return 404;", nginx)


def dockerfile_lines() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_image_runs_as_a_user_other_than_root():
    lines = dockerfile_lines()
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    assert users, "the final stage sets no USER"
    assert users[-1] not in ("root", "0")
    # USER comes before the command it applies to.
    assert final_stage.index(f"USER {users[-1]}") < next(
        i for i, line in enumerate(final_stage) if line.startswith("CMD ")
    )
