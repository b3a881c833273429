from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from documents.web import views
from editor_project.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("documents.urls")),
]
