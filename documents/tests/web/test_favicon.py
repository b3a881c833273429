"""/favicon.ico, which browsers ask for by that name, leads to the static SVG."""

from __future__ import annotations

import pytest
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_svg():
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("documents/favicon.svg")
    assert Client().head("/favicon.ico").status_code == 302
    assert Client().post("/favicon.ico").status_code == 405
