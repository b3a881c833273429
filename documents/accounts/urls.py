"""Routes for accounts: sign-up, the throttled log-in, the e-mail address; included by
editor_project/urls.py ahead of Django's own auth routes (log-out, password change)."""

from __future__ import annotations

from django.urls import path

from documents.accounts import views
from documents.web.throttle import refused_with_429

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # A login refused for a limit is answered with 429 (documents/web/throttle.py).
    path("login/", refused_with_429(views.LoginView.as_view()), name="login"),
    path("email/", views.email, name="email"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email-confirm"),
]
