"""`manage.py check --deploy` is clean with production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from devtools.paths import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "docs.example.com",
}


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the deploy checks in a fresh process with only these settings variables."""
    unset = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")
    clean = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("SECURE_")}
    clean["DJANGO_SETTINGS_MODULE"] = "editor_project.settings"
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_an_https_deployment_passes_every_deploy_check():
    result = deploy_check(**PRODUCTION, SECURE_SSL_REDIRECT="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


def test_https_turns_hsts_on_for_a_year():
    probe = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    unset = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS")
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean["DJANGO_SETTINGS_MODULE"] = "editor_project.settings"

    def read(**env: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**clean, **PRODUCTION, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert read(SECURE_SSL_REDIRECT="true") == f"{365 * 24 * 3600} True"
    assert read(SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="600") == "600 True"
    assert read() == "0 True"


def test_plain_http_said_explicitly_is_not_warned_about():
    result = deploy_check(**PRODUCTION, SECURE_SSL_REDIRECT="false")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_weak_configuration_is_still_reported():
    # The silencing is narrow: insecure cookies still warn.
    result = deploy_check(**PRODUCTION, SECURE_SSL_REDIRECT="true", SECURE_COOKIES="false")
    assert result.returncode != 0
    assert "security.W012" in result.stdout + result.stderr
