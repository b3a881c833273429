"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devtools.paths import ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "layer = settings.CHANNEL_LAYERS['default']; "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), 'layer': layer['BACKEND'], "
    "'capacity': layer['CONFIG'].get('capacity'), 'debug': settings.DEBUG, "
    "'secure_cookie': settings.SESSION_COOKIE_SECURE, 'collab': settings.COLLAB, "
    "'site_url': settings.SITE_URL, 'options': settings.DATABASES['default'].get('OPTIONS')}))"
)


def probe(**env: str) -> subprocess.CompletedProcess[str]:
    unset = (
        "DATABASE_URL",
        "REDIS_URL",
        "DEBUG",
        "CHANNEL_LAYER",
        "SITE_URL",
        "CSRF_TRUSTED_ORIGINS",
    )
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean["DJANGO_SETTINGS_MODULE"] = "editor_project.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_no_environment_is_the_embedded_default():
    result = json.loads(probe().stdout)
    assert result["engine"] == "django.db.backends.sqlite3"
    assert result["layer"] == "channels.layers.InMemoryChannelLayer"
    assert result["capacity"] >= 1000
    assert result["debug"] is True


def test_urls_switch_to_postgresql_and_redis():
    result = json.loads(
        probe(
            DATABASE_URL="postgres://u@db.example:5433/collab", REDIS_URL="redis://r:6379/0"
        ).stdout
    )
    assert result["engine"] == "django.db.backends.postgresql"
    assert result["name"] == "collab"
    # Redis pub/sub: a process reads its messages as fast as they come (issue 9, item 8).
    assert result["layer"] == "documents.realtime.layer.PubSubChannelLayer"
    assert result["options"]["connect_timeout"] == 10


def test_the_urls_own_connect_timeout_wins():
    url = "postgres://u@db.example:5433/collab?connect_timeout=3"
    result = json.loads(probe(DATABASE_URL=url).stdout)
    assert int(result["options"]["connect_timeout"]) == 3


def test_the_list_based_redis_layer_is_still_there_on_request():
    result = json.loads(
        probe(
            DATABASE_URL="postgres://u@db.example:5433/collab",
            REDIS_URL="redis://r:6379/0",
            CHANNEL_LAYER="core",
        ).stdout
    )
    assert result["layer"] == "channels_redis.core.RedisChannelLayer"
    assert result["capacity"] >= 1000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY must be set"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"COLLAB_MAX_FRAME_BYTES": "lots"}, "COLLAB_MAX_FRAME_BYTES='lots' is not an integer"),
        ({"COLLAB_PREPARE_COMMITS": "1.5"}, "COLLAB_PREPARE_COMMITS='1.5' is not a boolean"),
        ({"CHANNEL_LAYER": "kafka"}, "CHANNEL_LAYER must be pubsub or core"),
        ({"SITE_URL": "docs.example.com"}, "SITE_URL='docs.example.com' is not an http(s) address"),
    ],
)
def test_bad_configuration_fails_loudly(env, message):
    result = probe(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_site_url_defaults_to_the_first_trusted_origin():
    assert json.loads(probe().stdout)["site_url"] == "http://localhost:8000"
    trusted = "https://*.example.org,https://docs.example.com"
    assert json.loads(probe(CSRF_TRUSTED_ORIGINS=trusted).stdout)["site_url"] == (
        "https://docs.example.com"
    )
    chosen = probe(CSRF_TRUSTED_ORIGINS=trusted, SITE_URL="https://mail.example.com/")
    assert json.loads(chosen.stdout)["site_url"] == "https://mail.example.com"


def test_production_cookies_are_secure_and_tunables_are_typed():
    result = json.loads(
        probe(
            DEBUG="false",
            SECRET_KEY="x" * 50,
            ALLOWED_HOSTS="docs.example.com",
            COLLAB_HEARTBEAT_SECONDS="0.5",
            COLLAB_MAX_FRAME_BYTES="1048576",
            COLLAB_PREPARE_COMMITS="false",
        ).stdout
    )
    assert result["secure_cookie"] is True
    assert result["collab"] == {
        "HEARTBEAT_SECONDS": 0.5,
        "MAX_FRAME_BYTES": 1048576,
        "PREPARE_COMMITS": False,
    }
