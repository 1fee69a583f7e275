"""A realistic demo series: 3 microneedling sessions and ~60 days of daily entries with photos.

Symptoms follow docs/domain.md: redness and swelling strongest on day 0-1 and settling within days,
dryness and itching a little later; each session heals a bit faster than the one before, and the
PIE marks fade over the series. Photos are drawn: skin with red marks whose redness follows the same
curve, so the measured a* in the timeline moves with the ratings. Deterministic (seeded).
"""

from __future__ import annotations

import io
import math
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from flask import current_app
from PIL import Image, ImageDraw, ImageFilter

from . import records
from .auth import account
from .progress import SessionCalendar
from .validation import EntryData, SessionData

SESSION_OFFSETS = (55, 34, 13)  # days before today of the three sessions
SKIN = (224, 178, 152)


def _reaction(days_since: int, peak: float, settle_days: float) -> float:
    """A symptom that peaks on the day of the session and fades exponentially."""
    return peak * math.exp(-days_since / settle_days)


def _entry_for(day: date, session_dates: list[date], rng: random.Random) -> EntryData:
    calendar = SessionCalendar(session_dates)
    alignment = calendar.align(day)
    series_progress = (day - session_dates[0]).days / 60 if day >= session_dates[0] else 0.0
    pie = max(0, round(3 - 2.2 * series_progress + rng.uniform(-0.3, 0.3)))
    pih = max(0, round(2 - 1.2 * series_progress + rng.uniform(-0.3, 0.3)))
    ratings = {
        name: 0 for name in ("redness", "swelling", "pain", "itching", "dryness", "bruising")
    }
    ratings["redness"] = 1 + round(rng.uniform(0, 0.6))
    if alignment.session_number is not None:
        days = alignment.days_since_session or 0
        # Later sessions heal a little faster: the skin has adapted and aftercare is routine.
        speed = 1 - 0.2 * (alignment.session_number - 1)
        ratings["redness"] = min(10, round(ratings["redness"] + _reaction(days, 7, 2.0 * speed)))
        ratings["swelling"] = round(_reaction(days, 5, 1.2 * speed))
        ratings["pain"] = round(_reaction(days, 4, 1.0 * speed))
        ratings["bruising"] = round(_reaction(days, 2, 1.5))
        ratings["dryness"] = (
            round(5 * math.exp(-((days - 3) ** 2) / (6 * speed))) if days < 10 else 0
        )
        ratings["itching"] = (
            round(3 * math.exp(-((days - 4) ** 2) / (5 * speed))) if days < 10 else 0
        )
    aftercare = ["sunscreen", "gentle_cleanser"] + (["no_retinoids"] if rng.random() < 0.8 else [])
    notes = ""
    if alignment.days_since_session == 0:
        notes = "Session today. Tight and warm, like a mild sunburn."
    elif alignment.days_since_session == 3:
        notes = "Some flaking on the cheeks."
    return EntryData(
        date=day,
        ratings=ratings,
        pie_severity=pie,
        pih_severity=pih,
        red_flags=[],
        aftercare=aftercare,
        notes=notes,
        client_updated_at=datetime.combine(day, time(20, 0), UTC),
    )


def draw_skin_photo(redness: float, pigment: float, seed: int, size=(1200, 900)) -> bytes:
    """A cheek-like patch of skin with acne marks; `redness` and `pigment` run 0..1."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, SKIN)
    draw = ImageDraw.Draw(image)
    marks = random.Random(7)  # the same marks in every photo, as on a real face
    for _ in range(28):
        x, y = marks.uniform(0.2, 0.8) * width, marks.uniform(0.2, 0.8) * height
        radius = marks.uniform(10, 28)
        red = (
            int(SKIN[0] + (205 - SKIN[0]) * redness),
            int(SKIN[1] - 90 * redness - 60 * pigment),
            int(SKIN[2] - 60 * redness - 55 * pigment),
        )
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=red)
    image = image.filter(ImageFilter.GaussianBlur(6))
    # A little even lighting noise so consecutive photos are not identical.
    shade = rng.uniform(-6, 6)
    image = image.point(lambda value: max(0, min(255, int(value + shade))))
    # Skin texture: a flat drawn patch is as smooth as a blurred photo, which quality grades poor.
    grain = np.random.default_rng(seed).normal(0, 10, (height, width, 1))
    pixels = np.asarray(image, dtype=np.float32) - 10 + grain
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def create_demo_account(email: str, password: str, days: int = 60) -> str:
    """(Re)create the demo account and fill it. Returns a one-line summary."""
    store = current_app.extensions["photo_store"]
    existing = account.user_with_email(email)
    if existing is not None:
        account.delete_account(existing, store)
    user = account.create_account(
        current_app.extensions["passwords"],
        password,
        email=email,
        display_name="Alex Demo",
        track="both",
        fitzpatrick="III",
        timezone="UTC",
    )
    if user is None:  # another process made it since we deleted it
        raise RuntimeError(f"{email} was created meanwhile; run the command again")

    today = records.user_today(user)
    rng = random.Random(42)
    session_dates = [today - timedelta(days=offset) for offset in SESSION_OFFSETS]
    for number, session_date in enumerate(session_dates, start=1):
        records.save_session(
            user,
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-session-{number}")),
            SessionData(
                date=session_date,
                device="pen",
                needle_depth_mm=1.0 if number == 1 else 1.25,
                areas=["left_cheek", "right_cheek"],
                topicals=["hyaluronic_acid"] + (["tranexamic_acid"] if number > 1 else []),
                setting="clinic",
                provider="Riverside Skin Clinic",
                notes="",
                client_updated_at=datetime.combine(session_date, time(10, 0), UTC),
            ),
        )

    photo_count = 0
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        data = _entry_for(day, session_dates, rng)
        entry = records.save_entry(user, str(uuid.uuid4()), data).row
        redness = min(1.0, 0.25 * (data.pie_severity or 0) + 0.05 * data.ratings["redness"])
        pigment = 0.25 * (data.pih_severity or 0)
        for area in ("left_cheek", "right_cheek"):
            photo = draw_skin_photo(redness, pigment, seed=offset * 2 + (area == "right_cheek"))
            records.add_photo(user, entry, str(uuid.uuid4()), area, photo, store)
            photo_count += 1
    return (
        f"Demo account {email} / {password}: {len(session_dates)} sessions, "
        f"{days} entries, {photo_count} photos."
    )
