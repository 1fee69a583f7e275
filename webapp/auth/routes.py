"""Register, log in and out, and the account page (profile, password, delete; the export and
import of the patient's data are the portability package's)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..models import token_digest
from ..reminders.account import RemindersView, account_view
from ..storage import StorageError
from . import account, bp
from .forms import ConfirmForm, LoginForm, PasswordChangeForm, ProfileForm, RegisterForm


def _passwords():
    return current_app.extensions["passwords"]


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# One answer whichever limit is spent, so a 429 says nothing about the account asked for.
TOO_MANY_ATTEMPTS = "Too many attempts. Please wait a while, then try again."


def _account_key() -> str:
    """The account whose password is checked: the signed-in patient's, or the email typed at login.
    Known or not, an email counts the same way, so the limit cannot tell who has an account. Only
    a digest goes to the limit store (Redis), never the address."""
    email = current_user.email if current_user.is_authenticated else request.form.get("email", "")
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


# Each password check costs an Argon2 hash (64 MiB) and is a guess. Every route that checks one,
# and sign-up, allows LOGIN_RATE_LIMIT requests per client address; and the routes that check a
# password share LOGIN_RATE_LIMIT per account, so guesses from many addresses add up.
_per_address = limiter.limit(_login_rate_limit, methods=["POST"], error_message=TOO_MANY_ATTEMPTS)
_per_account = limiter.shared_limit(
    _login_rate_limit,
    scope="password-checks-per-account",
    key_func=_account_key,
    methods=["POST"],
    error_message=TOO_MANY_ATTEMPTS,
)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, else the home page. Anything else is
    ignored, not refused: an attacker's ?next=https://evil.example must not leave the site, and a
    control character must not reach the Location header (a line break cannot be sent at all, and
    browsers drop tabs, so "/<tab>/evil.example" would be "//evil.example" to them)."""
    home = url_for("diary.today")
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not target.isprintable()
    ):
        return home
    parts = urlsplit(target)
    return home if parts.scheme or parts.netloc else target


@bp.route("/register", methods=["GET", "POST"])
@_per_address
def register():
    if current_user.is_authenticated:
        return redirect(url_for("diary.today"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = account.sign_up(
            _passwords(),
            form.password.data,
            request.user_agent.string,
            email=form.email.data,
            display_name=form.display_name.data.strip(),
            track=form.track.data,
            fitzpatrick=form.fitzpatrick.data or None,
            timezone=form.timezone.data,
        )
        if user is None:
            # Saying the email is taken would reveal who uses Skinlog; ask to log in instead.
            form.email.errors.append(
                "We could not create an account with this email. If you already have one, log in."
            )
        else:
            login_user(user, remember=True)
            flash(
                "Welcome to Skinlog. Start by recording your latest treatment session.", "success"
            )
            return redirect(url_for("diary.sessions"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@_per_address
@_per_account
def login():
    if current_user.is_authenticated:
        return redirect(url_for("diary.today"))
    form = LoginForm()
    if form.validate_on_submit():
        # The answer is made before the login row: a login must not outlive a failed answer.
        response = redirect(_safe_next(request.args.get("next")))
        user = account.log_in(
            _passwords(), form.email.data, form.password.data, request.user_agent.string
        )
        if user is not None:
            login_user(user, remember=form.remember.data)
            return response
        form.password.errors.append("That email and password do not match an account.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    account.end_login(current_user.current_login_token)
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/account", endpoint="account")  # the function's name is the service module's
@login_required
def show_account():
    return _account_page()


def _account_page(
    profile_form=None, password_form=None, status: int = 200, reminders: RemindersView | None = None
):
    profile_form = profile_form or ProfileForm(obj=current_user)
    if profile_form.fitzpatrick.data is None:
        profile_form.fitzpatrick.data = ""
    return render_template(
        "auth/account.html",
        profile_form=profile_form,
        password_form=password_form or PasswordChangeForm(),
        confirm_form=ConfirmForm(),
        logins=account.logins_of(current_user),
        current_token_hash=token_digest(current_user.current_login_token or ""),
        reminders=reminders or account_view(current_user),
    ), status


@bp.post("/account/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _account_page(profile_form=form, status=422)
    account.update_profile(
        current_user,
        display_name=form.display_name.data.strip(),
        track=form.track.data,
        fitzpatrick=form.fitzpatrick.data or None,
        timezone=form.timezone.data,
        keep_photo_times=form.keep_photo_times.data,
    )
    flash("Your profile is saved.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/password")
@login_required
@_per_address
@_per_account
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _account_page(password_form=form, status=422)
    if not _passwords().verify(current_user.password_hash, form.current_password.data):
        form.current_password.errors.append("That is not your current password.")
        return _account_page(password_form=form, status=422)
    user = current_user._get_current_object()
    account.change_password(user, _passwords(), form.new_password.data, request.user_agent.string)
    login_user(user, remember=True)
    flash("Password changed. Other devices have been signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/delete")
@login_required
@_per_address
@_per_account
def delete_account():
    password = request.form.get("password", "")
    form = ConfirmForm()
    if not form.validate_on_submit() or not _passwords().verify(
        current_user.password_hash, password
    ):
        flash("Your account was not deleted: the password did not match.", "error")
        return redirect(url_for("auth.account"))
    user = current_user._get_current_object()
    try:
        account.delete_account(user, current_app.extensions["photo_store"])
    except StorageError:
        # Nothing was deleted (bytes go before rows): the patient stays signed in to retry.
        current_app.logger.exception("Account deletion stopped: the photo store failed")
        flash(
            "Your account was not deleted: your photos could not be removed just now. "
            "Nothing was changed; please try again in a few minutes.",
            "error",
        )
        return redirect(url_for("auth.account"))
    logout_user()
    flash("Your account and everything in it have been deleted.", "info")
    return redirect(url_for("auth.login"))
