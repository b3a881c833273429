from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from documents.accounts.forms import ThrottledAdminAuthenticationForm
from documents.web.throttle import refused_with_429
from editor_project.health import healthz

# Both login forms count failed attempts (documents/web/throttle.py); a refused
# one is answered with 429. The admin's login is routed ahead of admin.site.urls
# so its status can be set; admin.site.login still renders it.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", refused_with_429(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/", include("documents.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("documents.urls")),
]
