"""The reminder settings form of the account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, TimeField
from wtforms.validators import InputRequired, StopValidation

from .schedule import PHOTO_DAYS

TIME_EXPECTED = "Enter a time like 20:00 (hours and minutes)."
_PHOTO_DAYS_TEXT = ", ".join(str(day) for day in PHOTO_DAYS[:-1]) + f" and {PHOTO_DAYS[-1]}"


class ReminderSettingsForm(FlaskForm):
    daily_enabled = BooleanField("Remind me to log every day")
    # <input type="time">: phones show their own time picker; the value is always HH:MM.
    remind_at = TimeField(
        "Reminder time",
        format=["%H:%M", "%H:%M:%S"],  # some browsers add seconds
        validators=[InputRequired(message=TIME_EXPECTED)],
    )
    photo_days_enabled = BooleanField(
        f"Remind me to take photos on days {_PHOTO_DAYS_TEXT} after a session"
    )
    session_due_enabled = BooleanField("Tell me when my next session may be due")

    def validate_remind_at(self, field: TimeField) -> None:
        # Text that does not parse leaves data None and TimeField's own "Not a valid time value.";
        # say what is expected instead.
        if field.data is None:
            field.errors.clear()
            raise StopValidation(TIME_EXPECTED)
