"""Accounts: registering, logging in and out, passwords, cookies, rate limits."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from tests.conftest import PASSWORD, Auth
from webapp.extensions import db
from webapp.models import LoginSession, User

REGISTRATION = {
    "email": "New.Patient@Example.com",
    "display_name": "Nia",
    "password": "a long enough password",
    "track": "pie",
    "fitzpatrick": "V",
    "timezone": "Europe/London",
}


def test_register_creates_account_and_logs_in(client, app):
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        assert user.email == "new.patient@example.com"
        assert user.track == "pie" and user.fitzpatrick == "V"
        assert user.timezone == "Europe/London"


def test_password_is_stored_as_argon2id_hash(client, app):
    client.post("/register", data=REGISTRATION)
    with app.app_context():
        stored = db.session.execute(db.select(User.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert REGISTRATION["password"] not in stored


def test_register_email_is_case_insensitive_and_unique_without_revealing_it(client, user):
    response = client.post("/register", data=dict(REGISTRATION, email="SAM@example.COM"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "could not create an account" in page
    assert "already registered" not in page and "taken" not in page


def test_sign_up_is_rate_limited_per_address(app):
    """Sign-up tells a known email from a new one (see docs/deployment.md); the limit bounds it."""
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    statuses = [
        app.test_client().post("/register", data=dict(REGISTRATION, email=email)).status_code
        for email in ("a@example.com", "b@example.com", "c@example.com")
    ]
    assert statuses == [302, 302, 429]


def test_register_rejects_short_and_overlong_passwords(client):
    for password in ("short", "x" * 129):
        response = client.post("/register", data=dict(REGISTRATION, password=password))
        assert response.status_code == 422
        assert "8 to 128 characters" in response.get_data(as_text=True)


def test_register_rejects_bad_email_track_and_timezone(client):
    bad = dict(REGISTRATION, email="not-an-email", track="acne", timezone="Mars/Base")
    response = client.post("/register", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "like name@example.com" in page
    assert "Choose a timezone" in page
    assert "Not a valid choice" in page


def test_register_page_labels_every_field(client):
    page = client.get("/register").get_data(as_text=True)
    for field_id in ("email", "display_name", "password", "track", "fitzpatrick", "timezone"):
        assert f'<label for="{field_id}"' in page


def test_login_with_any_email_case(client, auth, user):
    response = auth.login("SAM@EXAMPLE.COM")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth, user):
    wrong = auth.login(user.email, "wrong password")
    unknown = auth.login("nobody@example.com", "wrong password")
    assert wrong.status_code == unknown.status_code == 422
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_login_redirects_only_to_local_next(client, auth, user):
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/entries", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/entries"


@pytest.mark.parametrize("character", ["%0A", "%0D", "%00", "%09", "%7F", "%C2%85"])
def test_login_ignores_a_next_with_a_control_character_and_logs_in_once(
    app, client, user, character
):
    response = client.post(
        f"/login?next=/entries{character}x", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        assert len(db.session.execute(db.select(LoginSession)).all()) == 1


def test_register_refuses_a_name_with_a_line_break_or_control_character(app, client):
    for name in ("Nia\r\nSet-Cookie: x=1", "Nia\tA", "Nia\x00"):
        response = client.post("/register", data=dict(REGISTRATION, display_name=name))
        assert response.status_code == 422
        assert "line breaks" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(User)).first() is None


def test_profile_refuses_a_name_with_a_line_break(app, logged_in, user):
    form = {
        "display_name": "Sam\nSet-Cookie: x=1",
        "track": "pih",
        "fitzpatrick": "",
        "timezone": "UTC",
    }
    response = logged_in.post("/account/profile", data=form)
    assert response.status_code == 422
    assert "line breaks" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).display_name == "Sam"


def test_pages_require_login(client):
    for path in ("/", "/log", "/entries", "/sessions", "/sessions/new", "/account"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]


def test_logout_needs_post_with_csrf(logged_in):
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.post("/logout", csrf=False).status_code == 400
    assert logged_in.get("/").status_code == 200


def test_replayed_session_cookie_is_refused_after_logout(app, logged_in):
    cookie = logged_in.get_cookie("session")
    assert logged_in.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/").status_code == 302


def test_remember_cookie_is_httponly_samesite_and_refused_after_logout(app, client, auth, user):
    response = auth.login(user.email, remember=True)
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token")]
    assert headers, "remember cookie set"
    assert "HttpOnly" in headers[0] and "SameSite=Lax" in headers[0]
    remember = SimpleCookie(headers[0])["remember_token"].value
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("remember_token", remember)
    assert replay.get("/").status_code == 302


def test_session_cookie_flags(client, auth, user):
    response = auth.login(user.email)
    session_cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert "HttpOnly" in session_cookie[0] and "SameSite=Lax" in session_cookie[0]


def test_secure_cookie_flag_when_configured(tmp_path, make_user):
    from tests.conftest import CSRFClient, settings_for_tests
    from webapp import create_app

    settings = settings_for_tests(str(tmp_path / "secure"))
    settings.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    app = create_app(settings)
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
        db.session.add(
            User(
                email="s@example.com",
                password_hash=app.extensions["passwords"].hash(PASSWORD),
                display_name="S",
            )
        )
        db.session.commit()
    client = app.test_client()
    response = Auth(client).login("s@example.com", remember=True)
    for header in response.headers.getlist("Set-Cookie"):
        assert "Secure" in header
    assert "Strict-Transport-Security" in response.headers


def test_change_password_ends_other_logins(app, client, auth, user):
    auth.login(user.email)
    other_device = app.test_client()
    Auth(other_device).login(user.email)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new password",
            "confirm": "brand new password",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200, "this device stays signed in"
    assert other_device.get("/").status_code == 302, "the other device is signed out"
    client.post("/logout")
    assert auth.login(user.email, "brand new password").status_code == 302


def test_change_password_requires_current_password(logged_in):
    response = logged_in.post(
        "/account/password",
        data={
            "current_password": "nope nope",
            "new_password": "brand new password",
            "confirm": "brand new password",
        },
    )
    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)


def test_change_password_requires_matching_confirmation(logged_in):
    response = logged_in.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new password",
            "confirm": "different one",
        },
    )
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)


def test_profile_update(logged_in, app, user):
    response = logged_in.post(
        "/account/profile",
        data={
            "display_name": "Samira",
            "track": "pih",
            "fitzpatrick": "VI",
            "timezone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert (stored.display_name, stored.track, stored.timezone) == (
            "Samira",
            "pih",
            "Asia/Tokyo",
        )


def test_login_is_rate_limited(app, client, user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert Auth(client).login(user.email, "wrong password").status_code == 422
    response = Auth(client).login(user.email, PASSWORD)
    assert response.status_code == 429


def login_from(client, address: str, email: str, password: str):
    """A login attempt from the client address `address`."""
    data = {"email": email, "password": password}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def addresses(count: int) -> list[str]:
    return [f"203.0.113.{number}" for number in range(1, count + 1)]


def test_wrong_passwords_from_many_addresses_lock_the_account(app, client, user):
    app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    statuses = [
        login_from(client, address, user.email, "wrong password").status_code
        for address in addresses(5)
        for _ in range(9)
    ]
    assert statuses.count(422) == 10, "the account's allowance, whichever addresses spent it"
    assert login_from(client, "198.51.100.7", user.email, PASSWORD).status_code == 429


def test_the_account_limit_ignores_case_and_spaces_in_the_email(app, client, user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    spellings = ["SAM@EXAMPLE.COM", " sam@example.com ", "Sam@Example.com"]
    for address, email in zip(addresses(3), spellings, strict=True):
        assert login_from(client, address, email, "wrong password").status_code == 422
    assert login_from(client, "198.51.100.7", user.email, PASSWORD).status_code == 429


def test_the_account_limit_counts_unknown_emails_exactly_as_known_ones(app, client, user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    known = [login_from(client, a, user.email, "wrong").status_code for a in addresses(5)]
    unknown = [
        login_from(client, a, "nobody@example.com", "wrong").status_code for a in addresses(5)
    ]
    assert known == unknown == [422, 422, 422, 429, 429]


def test_a_spent_account_limit_answers_as_a_spent_address_limit(app, client, user):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    for email in ("one@example.com", "two@example.com"):
        login_from(client, "203.0.113.1", email, "wrong")
    address_spent = login_from(client, "203.0.113.1", "three@example.com", "wrong")
    for address in addresses(2):
        login_from(client, address, user.email, "wrong")
    account_spent = login_from(client, "198.51.100.7", user.email, PASSWORD)
    assert address_spent.status_code == account_spent.status_code == 429
    assert address_spent.get_data() == account_spent.get_data()


def test_password_checks_on_the_account_page_count_against_the_account(
    app, logged_in, client, user
):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for address in addresses(3):
        response = logged_in.post(
            "/account/password", data=WRONG_PASSWORD_CHANGE, environ_base={"REMOTE_ADDR": address}
        )
        assert response.status_code == 422
    elsewhere = app.test_client()
    assert login_from(elsewhere, "198.51.100.7", user.email, PASSWORD).status_code == 429


WRONG_PASSWORD_CHANGE = {
    "current_password": "wrong password",
    "new_password": "brand new password",
    "confirm": "brand new password",
}


def test_changing_the_password_is_rate_limited_like_login(app, logged_in, user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert logged_in.post("/account/password", data=WRONG_PASSWORD_CHANGE).status_code == 422
    right = dict(WRONG_PASSWORD_CHANGE, current_password=PASSWORD)
    assert logged_in.post("/account/password", data=right).status_code == 429
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
        assert app.extensions["passwords"].verify(stored, PASSWORD), "the password is unchanged"


def test_deleting_the_account_is_rate_limited_like_login(app, logged_in, user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert logged_in.post("/account/delete", data={"password": "wrong"}).status_code == 302
    assert logged_in.post("/account/delete", data={"password": PASSWORD}).status_code == 429
    with app.app_context():
        assert db.session.get(User, user.id) is not None


def test_account_page_lists_signed_in_devices(logged_in):
    page = logged_in.get("/account").get_data(as_text=True)
    assert "(this device)" in page


def test_delete_account_needs_password_and_removes_everything(app, logged_in, user):
    logged_in.post("/account/delete", data={"password": "wrong"})
    with app.app_context():
        assert db.session.get(User, user.id) is not None
    response = logged_in.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id) is None
        assert db.session.execute(db.select(LoginSession)).first() is None
    assert logged_in.get("/").status_code == 302


def test_a_wrong_current_password_opens_at_an_error_summary_linking_to_the_field(logged_in):
    response = logged_in.post(
        "/account/password",
        data={"current_password": "wrong", "new_password": "x" * 20, "confirm": "x" * 20},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.index('role="alert" aria-labelledby="error-summary-heading"')
    assert summary < page.index("<h1>Your account</h1>")
    assert '<a href="#current_password">That is not your current password.</a>' in page
    assert "js/error-summary.js" in page
