"""A server in production mode for browser tests: DEBUG off, collected static files.

Only then does Django answer with the app's own error pages (404.html and the
rest) instead of its technical ones. A test module uses it as its server with

    from e2e.production import production_server, production_static  # noqa: F401

    @pytest.fixture
    def daphne_server(production_server): return production_server
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from devtools.child_server import ChildServer
from devtools.paths import ROOT
from devtools.server_pool import LentServer
from documents.tests.support.servers import server_env


@pytest.fixture(scope="session")
def production_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """collectstatic into a folder of this session's: WhiteNoise's hashed, compressed files."""
    root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "collectstatic-only",
        "ALLOWED_HOSTS": "localhost",
        "STATIC_ROOT": str(root),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=120)
    return root


@pytest.fixture
def production_server(
    shared_server: Callable[[dict[str, str]], ChildServer | LentServer], production_static: Path
) -> ChildServer | LentServer:
    """A real Daphne with DEBUG off, on this test's database and Redis, shared
    with the other tests that use it (the root conftest's `shared_server`)."""
    env = {
        **server_env(),
        "DEBUG": "false",
        # The test's session cookies carry an auth hash made with this key.
        "SECRET_KEY": settings.SECRET_KEY,
        # Plain HTTP on loopback.
        "SECURE_COOKIES": "false",
        "STATIC_ROOT": str(production_static),
    }
    return shared_server(env)
