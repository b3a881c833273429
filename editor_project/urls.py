from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe

from documents.accounts.forms import ThrottledAdminAuthenticationForm
from documents.metrics import metrics_view
from documents.web.throttle import refused_with_429
from editor_project.health import healthz

# Both login forms count failed attempts (documents/web/throttle.py); a refused
# one is answered with 429. The admin's login is routed ahead of admin.site.urls
# so its status can be set; admin.site.login still renders it.
admin.site.login_form = ThrottledAdminAuthenticationForm


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG."""
    # Not permanent: the static URL carries the file's hash in production.
    return redirect(static("documents/favicon.svg"))


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/login/", refused_with_429(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/", include("documents.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("documents.urls")),
]
