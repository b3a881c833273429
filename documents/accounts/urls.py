"""Routes for accounts: sign-up, the throttled log-in, the e-mail address; included by
editor_project/urls.py ahead of Django's own auth routes (log-out, password change)."""

from __future__ import annotations

from django.urls import path

from documents.accounts import passwords, profile, views
from documents.web.throttle import refused_with_429

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # A login refused for a limit is answered with 429 (documents/web/throttle.py).
    path("login/", refused_with_429(views.LoginView.as_view()), name="login"),
    path("email/", views.email, name="email"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email-confirm"),
    path("profile/", profile.profile, name="profile"),
    # Django's own paths and names (django.contrib.auth.urls, included after
    # these), served with this site's templates; a reset goes to confirmed addresses only.
    path("password_change/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("password_reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        passwords.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        passwords.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
