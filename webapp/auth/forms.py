from __future__ import annotations

import unicodedata
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from ..passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from ..vocabulary import FITZPATRICK_TYPES, TRACKS

TIMEZONES = sorted(available_timezones() - {"localtime", "Factory"})


def _choices(labels: dict[str, str], blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in labels.items()]


_password_length = Length(
    min=PASSWORD_MIN_LENGTH,
    max=PASSWORD_MAX_LENGTH,
    message=f"Use {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.",
)


# Deliverability is not checked (no network lookups at sign-up); the shape is.
_email_shape = Regexp(
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address like name@example.com."
)


def _known_timezone(form: FlaskForm, field: StringField) -> None:
    if field.data not in TIMEZONES:
        raise ValidationError("Choose a timezone from the list.")


def _one_line(form: FlaskForm, field: StringField) -> None:
    # The name goes into the PDF report, its file name and page headings: a line break or other
    # control character there could end a header early or hide part of the name.
    if any(unicodedata.category(char) in {"Cc", "Zl", "Zp"} for char in field.data or ""):
        raise ValidationError("Write your name on one line, without line breaks or tabs.")


_display_name = [DataRequired(), Length(max=80), _one_line]


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), _email_shape])
    display_name = StringField("Your name (shown to your clinician)", validators=_display_name)
    password = PasswordField("Password", validators=[DataRequired(), _password_length])
    track = SelectField("What do you track?", choices=_choices(TRACKS), default="both")
    fitzpatrick = SelectField(
        "Skin type (Fitzpatrick, optional)",
        choices=_choices(FITZPATRICK_TYPES, blank="I'd rather not say"),
        default="",
    )
    timezone = StringField("Timezone", validators=[DataRequired(), _known_timezone], default="UTC")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)]
    )
    remember = BooleanField("Keep me signed in on this phone", default=True)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), _password_length])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords differ.")],
    )


class ProfileForm(FlaskForm):
    display_name = StringField("Your name", validators=_display_name)
    track = SelectField("What do you track?", choices=_choices(TRACKS))
    fitzpatrick = SelectField(
        "Skin type (Fitzpatrick, optional)",
        choices=_choices(FITZPATRICK_TYPES, blank="I'd rather not say"),
    )
    timezone = StringField("Timezone", validators=[DataRequired(), _known_timezone])
    keep_photo_times = BooleanField("Keep the time each photo was taken (from the camera)")


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: for logout and other one-button actions."""
