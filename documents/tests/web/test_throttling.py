"""Login, admin login and sign-up limits, and the password rules sign-ups follow."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from documents.web import throttle

pytestmark = [pytest.mark.django_db]

PASSWORD = "pw-olivia-123!"
START = 1_800_000_000.0  # the start of a 15-minute and of a one-hour window


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The throttle's clock, moved on by assigning now[0]."""
    clock = [START]
    monkeypatch.setattr(throttle, "clock", lambda: clock[0])
    return clock


@pytest.fixture
def olivia() -> Any:
    return get_user_model().objects.create_user(username="olivia", password=PASSWORD)


def log_in(client: Client, username: str, password: str, url: str = "") -> Any:
    return client.post(url or reverse("login"), {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_lock_the_account_even_for_the_right_one(olivia, now):
    client = Client()
    for _ in range(25):
        assert log_in(client, "olivia", "wrong").status_code in (200, 429)
    response = log_in(client, "olivia", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert not logged_in(client)


def test_the_account_limit_counts_failures_only_and_is_exact(olivia, now):
    client = Client()
    for _ in range(4):
        assert log_in(client, "olivia", "wrong").status_code == 200
    # Logins that succeed are not failures: they leave the count where it was.
    assert log_in(Client(), "olivia", PASSWORD).status_code == 302
    assert log_in(client, "Olivia ", "wrong").status_code == 200  # the fifth failure
    assert log_in(client, "olivia", PASSWORD).status_code == 429


def test_the_account_lock_holds_from_another_address(olivia, now):
    for _ in range(5):
        log_in(Client(REMOTE_ADDR="10.0.0.1"), "olivia", "wrong")
    assert log_in(Client(REMOTE_ADDR="10.0.0.2"), "olivia", PASSWORD).status_code == 429


def test_an_address_past_its_limit_cannot_log_in_to_another_account(olivia, now):
    get_user_model().objects.create_user(username="other", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="10.0.0.9")
    # Few guesses per account, many accounts: the per-address limit catches it.
    for n in range(20):
        assert log_in(attacker, f"user{n}", "guess").status_code == 200
    response = log_in(attacker, "other", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(attacker)
    # Someone else, elsewhere, is not affected.
    assert log_in(Client(REMOTE_ADDR="10.0.0.10"), "other", PASSWORD).status_code == 302


def test_limits_reset_when_the_window_ends(olivia, now):
    client = Client()
    for _ in range(6):
        log_in(client, "olivia", "wrong")
    assert log_in(client, "olivia", PASSWORD).status_code == 429
    now[0] = START + 15 * 60 - 1
    assert log_in(client, "olivia", PASSWORD).status_code == 429
    now[0] = START + 15 * 60
    assert log_in(client, "olivia", PASSWORD).status_code == 302
    assert logged_in(client)


def test_admin_login_is_limited_too(olivia, now):
    olivia.is_staff = olivia.is_superuser = True
    olivia.save()
    client = Client()
    url = reverse("admin:login")
    for _ in range(5):
        assert log_in(client, "olivia", "wrong", url).status_code == 200
    response = log_in(client, "olivia", PASSWORD, url)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert not logged_in(client)
    now[0] = START + 15 * 60
    assert log_in(client, "olivia", PASSWORD, url).status_code == 302


def test_admin_and_site_logins_share_the_account_limit(olivia, now):
    client = Client()
    for _ in range(5):
        log_in(client, "olivia", "wrong", reverse("admin:login"))
    assert log_in(client, "olivia", PASSWORD).status_code == 429


def sign_up(client: Client, username: str, password: str = "a-long-pass-phrase-7") -> Any:
    return client.post(
        reverse("signup"), {"username": username, "password1": password, "password2": password}
    )


def test_a_burst_of_sign_ups_from_one_address_is_refused(now):
    for n in range(5):
        assert sign_up(Client(), f"person{n}").status_code == 302
    response = sign_up(Client(), "person5")
    assert response.status_code == 429
    assert "Too many accounts created" in response.content.decode()
    assert not get_user_model().objects.filter(username="person5").exists()
    # Another address may still sign up, and this one may after the hour.
    assert sign_up(Client(REMOTE_ADDR="10.1.1.1"), "elsewhere").status_code == 302
    now[0] = START + 3600
    assert sign_up(Client(), "person5").status_code == 302


def test_failed_sign_ups_do_not_count(now):
    for n in range(8):
        assert sign_up(Client(), f"person{n}", "short").status_code == 200
    assert sign_up(Client(), "person").status_code == 302


def test_a_numeric_password_is_refused():
    response = sign_up(Client(), "digits", "83920571946302")
    assert response.status_code == 200
    assert "This password is entirely numeric." in response.content.decode()
    assert not get_user_model().objects.filter(username="digits").exists()


def test_client_address_trusts_forwarded_for_only_behind_configured_proxies(settings, rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert throttle.client_address(request) == "10.0.0.1"
    settings.COLLAB = {"THROTTLE_PROXY_HOPS": 1}
    assert throttle.client_address(request) == "1.2.3.4"
    settings.COLLAB = {"THROTTLE_PROXY_HOPS": 2}
    assert throttle.client_address(request) == "6.6.6.6"
    settings.COLLAB = {"THROTTLE_PROXY_HOPS": 3}  # fewer entries than proxies: not trusted
    assert throttle.client_address(request) == "10.0.0.1"


def test_the_cache_is_redis_when_configured(settings):
    if settings.REDIS_URL:
        backend = settings.CACHES["default"]["BACKEND"]
        assert backend == "django.core.cache.backends.redis.RedisCache"
