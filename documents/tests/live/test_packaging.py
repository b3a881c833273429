"""The wheel is the app: built from this checkout, installed in a virtualenv of
its own, it migrates, collects its static files and finds its templates with
the repository nowhere on the path.

Slow (a wheel build, a virtualenv and a few Django commands: seconds, not
milliseconds) and needs PyPI only for the build backend (setuptools, through
pip's build isolation). The app's dependencies are not downloaded: the new
virtualenv sees this environment's site-packages through a .pth line, which
adds that directory to the path but does not run the editable install's hook,
so `documents` and `editor_project` can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.paths import ROOT

pytestmark = pytest.mark.slow

# Never copied into the build tree: VCS data, environments, caches and earlier
# build output (setuptools' build/lib keeps files deleted since, and would ship them).
SKIP_ANYWHERE = {"__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
SKIP_PATHS = {
    ".git",
    ".venv",
    "build",
    "dist",
    "staticfiles",
    "var",
    "test-results",
    "db.sqlite3",
    "e2e/artifacts",
    "frontend/dist",
}

# Environment that would point the app, or Python, somewhere else.
SCRUB = {
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "STATIC_ROOT",
}

BUNDLE = Path("documents") / "static" / "editor" / "editor.js"

PROBE = r"""
import importlib.util, json
import django
from django.conf import settings
django.setup()
import documents, documents.migrations, editor_project, editor_project.asgi
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
login = Client().get("/accounts/login/")
print(json.dumps({
    "documents": documents.__file__,
    "editor_project": editor_project.__file__,
    "migrations": documents.migrations.__file__,
    "editor_template": get_template("documents/editor.html").origin.name,
    "login_status": login.status_code,
    "login_links_site_css": "/static/documents/site.css" in login.content.decode(),
    "site_css": finders.find("documents/site.css"),
    "bundle": finders.find("editor/editor.js"),
    "importable": {name: importlib.util.find_spec(name) is not None
                   for name in ("devtools", "e2e", "bench", "conftest")},
    "tests_importable": importlib.util.find_spec("documents.tests") is not None,
}))
"""


@dataclass
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    workdir: Path
    bundle_built: bool

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in SCRUB}
        env.update(DATABASE_URL=f"sqlite:///{self.workdir / 'db.sqlite3'}", **extra)
        return env

    def run(self, *command: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return run(list(command), cwd=self.workdir, env=self.env(**extra))

    def collab_editor(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv / "bin" / "collab-editor"), *args, **extra)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def skip(directory: str, names: list[str]) -> set[str]:
    relative = Path(directory).resolve().relative_to(ROOT)
    return {
        name
        for name in names
        if name in SKIP_ANYWHERE
        or name.endswith(".egg-info")
        or (relative / name).as_posix() in SKIP_PATHS
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("packaging")
    env = {key: value for key, value in os.environ.items() if key not in SCRUB}

    # `pip wheel .` on a copy of the checkout: the same files, but the build
    # leaves no build/ or egg-info behind in the working tree.
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=skip)
    wheels = tmp / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), "."],
        cwd=source,
        env=env,
    )
    (wheel,) = wheels.glob("collab_editor-*.whl")

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp, env=env)
    python = str(venv / "bin" / "python")
    # Installed before the .pth below exists, so pip does not see this
    # environment's editable install of the same version as already there.
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", str(wheel)],
        cwd=tmp,
        env=env,
    )
    site_packages = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            cwd=tmp,
            env=env,
        ).stdout.strip()
    )
    dependencies = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (site_packages / "_collab_editor_test_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in dependencies)
    )

    workdir = tmp / "run"
    workdir.mkdir()
    return Installed(wheel, venv, site_packages, workdir, (source / BUNDLE).is_file())


def test_the_wheel_holds_the_app_and_not_the_tooling(installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    assert "collab-editor = editor_project.cli:main" in scripts
    for expected in (
        "editor_project/settings.py",
        "editor_project/cli.py",
        "editor_project/server/serve.py",
        "documents/realtime/consumer.py",
        "documents/storage/store.py",
        "documents/web/views.py",
        "documents/templatetags/documents_tags.py",
        "documents/migrations/0001_initial.py",
        "documents/templates/base.html",
        "documents/templates/documents/editor.html",
        "documents/templates/registration/login.html",
        "documents/static/documents/site.css",
    ):
        assert expected in names, f"{expected} is not in the wheel"
    assert installed.bundle_built == (BUNDLE.as_posix() in names)
    shipped_tooling = sorted(
        name
        for name in names
        if name.startswith(("devtools/", "e2e/", "bench/", "scripts/", "documents/tests/"))
        or name in ("conftest.py", "manage.py")
    )
    assert shipped_tooling == []


def test_the_installed_package_is_imported_with_its_templates_and_static_files(installed):
    python = str(installed.venv / "bin" / "python")
    probe = json.loads(
        installed.run(python, "-c", PROBE, DJANGO_SETTINGS_MODULE="editor_project.settings").stdout
    )
    inside = str(installed.site_packages) + os.sep
    for key in ("documents", "editor_project", "migrations", "editor_template", "site_css"):
        assert probe[key].startswith(inside), f"{key} comes from {probe[key]}, not the wheel"
    assert probe["login_status"] == 200
    assert probe["login_links_site_css"]
    assert probe["importable"] == dict.fromkeys(("devtools", "e2e", "bench", "conftest"), False)
    assert not probe["tests_importable"]
    if installed.bundle_built:
        assert probe["bundle"].startswith(inside)


def test_collab_editor_runs_check_migrate_and_collectstatic(installed):
    installed.collab_editor("check")

    migrate = installed.collab_editor("migrate", "--noinput")
    assert "Applying documents.0001_initial... OK" in migrate.stdout
    assert (installed.workdir / "db.sqlite3").is_file()

    static_root = installed.workdir / "static"
    installed.collab_editor(
        "collectstatic",
        "--noinput",
        DEBUG="false",
        SECRET_KEY="x",
        ALLOWED_HOSTS="x",
        STATIC_ROOT=str(static_root),
    )
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    assert "documents/site.css" in manifest
    assert (static_root / manifest["documents/site.css"]).is_file()
    if installed.bundle_built:
        assert "editor/editor.js" in manifest
        assert "editor/editor.css" in manifest
        assert (static_root / manifest["editor/editor.js"]).is_file()
