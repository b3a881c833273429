"""Account pages: sign up, log in, and the e-mail address with its confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods

from documents import conf
from documents.accounts import services as accounts
from documents.accounts.forms import EmailForm, SignupForm, ThrottledAuthenticationForm
from documents.accounts.redirects import next_url, share_link_sharer
from documents.web import throttle

UNCONFIRMED = (
    "Confirm your e-mail address {}: open the link we mailed to it. Until then, people can "
    'share with you by your username only. <a href="{}">Resend it or change the address</a>.'
)


def _notice_unconfirmed(request: HttpRequest) -> None:
    """Say, once, that the account has no confirmed address but one waiting for confirmation."""
    status = accounts.email_status(user=request.user)
    if status.pending and not status.verified:
        messages.info(request, format_html(UNCONFIRMED, status.pending, reverse("email")))


def _mail_outcome(request: HttpRequest, sent: accounts.MailSent, email: str) -> None:
    if sent.sent:
        messages.success(request, f"We sent a confirmation link to {email}.")
    elif sent.retry_after:
        wait = throttle.wait_message(sent.retry_after)
        messages.error(request, f"Too many mails asked for. Try again in {wait}.")
    else:
        messages.error(request, "The mail could not be sent right now. Try again later.")


def _arrival(target: str) -> dict[str, Any]:
    """What the log-in and sign-up pages say about where the visitor is headed."""
    return {"next": target, "sharer": share_link_sharer(target) if target else None}


class LoginView(auth_views.LoginView):
    """Django's log-in, saying why the visitor is here and reminding of an unconfirmed address."""

    authentication_form = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # LoginView's own `next` is already checked against this site.
        context.update(_arrival(str(context.get("next") or "")))
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        _notice_unconfirmed(self.request)
        return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, sign straight in, and go where the visitor was headed."""
    target = next_url(request)
    if request.user.is_authenticated:
        return redirect(target or "document-list")
    form = SignupForm(request.POST or None)
    context = {"form": form, **_arrival(target)}
    if request.method == "POST" and form.is_valid():
        # Counted once the form is valid: what is limited is accounts made.
        counter = throttle.hit(
            scope="signup-address",
            subject=throttle.client_address(request),
            limit=int(conf.get("SIGNUPS_PER_ADDRESS")),
            window=int(conf.get("SIGNUP_WINDOW_SECONDS")),
        )
        if not counter.exceeded:
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            email = form.cleaned_data["email"]
            if email:
                # The same answer whoever holds the address: the mail tells them.
                accounts.email_claim(user=user, email=email, absolute=request.build_absolute_uri)
                _notice_unconfirmed(request)
            return redirect(target or "document-list")
        wait = throttle.wait_message(counter.retry_after)
        form.add_error(None, f"Too many accounts created from your address. Try again in {wait}.")
        return render(request, "registration/signup.html", context, status=429)
    return render(request, "registration/signup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def email(request: HttpRequest) -> HttpResponse:
    """The account's address: its state, resending the link, giving another address."""
    form = EmailForm(request.POST if request.POST.get("action") == "change" else None)
    if request.method == "POST":
        if request.POST.get("action") == "resend":
            status = accounts.email_status(user=request.user)
            sent = accounts.email_resend(user=request.user, absolute=request.build_absolute_uri)
            _mail_outcome(request, sent, status.pending)
            return redirect("email")
        if form.is_valid():
            address = form.cleaned_data["email"]
            if address.lower() == accounts.email_status(user=request.user).verified.lower():
                messages.info(request, "That is your confirmed address already.")
            else:
                sent = accounts.email_claim(
                    user=request.user, email=address, absolute=request.build_absolute_uri
                )
                _mail_outcome(request, sent, address)
            return redirect("email")
    status = accounts.email_status(user=request.user)
    return render(
        request,
        "accounts/email.html",
        {"status": status, "form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_GET
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm the address a link was mailed to, for the account logged in."""
    try:
        confirmed = accounts.email_confirm(user=request.user, token=token)
    except accounts.ConfirmationError as refused:
        return render(
            request,
            "accounts/email_confirm_failed.html",
            {"reason": str(refused), "wrong_account": refused.wrong_account},
            status=403 if refused.wrong_account else 400,
        )
    messages.success(request, f"Your e-mail address {confirmed.email} is confirmed.")
    for document in confirmed.documents:
        messages.success(request, f"“{document.title}” was shared with you by e-mail.")
    return redirect("document-list")
