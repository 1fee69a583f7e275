"""The timeline pages: the timeline, its JSON data, compare two photos, measure a region.

Thin: `service.build_timeline` reads everything in a fixed number of queries; the templates under
templates/timeline/ render it. The partials take a `photo_url(photo, rendition)` callable so the
share view can render them with its own photo URLs.
"""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import charts, imaging
from ..responses import date_arg, photo_url_builder, photo_url_template
from ..vocabulary import AREAS
from . import bp, region
from . import compare as compare_photos
from .service import build_timeline
from .view import PhotoPick

# The timeline's partials draw their charts with these (the shared view renders them too).
bp.add_app_template_global(charts.recovery_chart_svg)
bp.add_app_template_global(charts.severity_chart_svg)


@bp.before_request
@login_required
def require_login():
    """Every timeline page belongs to a logged-in patient."""


def photo_url_function():
    return photo_url_builder("diary.photo")


def _area_arg() -> str | None:
    area = request.args.get("area")
    return area if area in AREAS else None


def _timeline():
    """The patient's timeline as the query string asks: the metric, the measured area, and
    ?poor=1 to count poor-quality photos in the measured curves too."""
    return build_timeline(
        current_user,
        metric=request.args.get("metric", "redness"),
        measure_area=_area_arg(),
        include_poor=request.args.get("poor") == "1",
    )


@bp.get("/timeline")
def page():
    return render_template(
        "timeline/page.html",
        timeline=_timeline(),
        photo_url=photo_url_function(),
        all_photos_url=lambda area: url_for("timeline.photos", area=area),
    )


@bp.get("/timeline/photos/<area>")
def photos(area: str):
    if area not in AREAS:
        abort(404)
    return render_template(
        "timeline/photos.html",
        timeline=_timeline(),
        area=area,
        photo_url=photo_url_function(),
    )


@bp.get("/timeline/data.json")
def data():
    data = _timeline().to_dict(all_photos=request.args.get("photos") == "all")
    data["photo_url"] = photo_url_template("diary.photo")
    return jsonify(data)


@bp.get("/compare")
def compare():
    timeline = _timeline()
    comparison = timeline.compare(_area_arg(), _pick("a"), _pick("b"))
    left, right = comparison.left, comparison.right
    return render_template(
        "timeline/compare.html",
        timeline=timeline,
        area=comparison.area,
        candidates=comparison.candidates,
        left=left,
        right=right,
        framing=compare_photos.framing(left, right),
        photo_url=photo_url_function(),
        region_url=lambda photo: url_for("timeline.photo_region", photo_uuid=photo.uuid),
    )


def _pick(name: str) -> PhotoPick:
    """The photo picked as `name` ("a" or "b") in the query string: by id, else by date."""
    return request.args.get(name), date_arg(f"{name}_date")


@bp.route("/photos/<photo_uuid>/region", methods=["GET", "POST"])
def photo_region(photo_uuid: str):
    """Choose the region whose marks and colour are measured; they are measured again from the
    photo, and from the other photos of its area aligned with it, in the same region mapped onto
    each (region.remeasure_area)."""
    photo = region.live_photo(current_user, photo_uuid)
    if photo is None:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            box = None if "reset" in request.form else _region_from_form(request.form)
            others = region.remeasure_area(photo, box, current_app.extensions["photo_store"])
        except ValueError as invalid:
            error = str(invalid)
        except (KeyError, imaging.ImageRejected):
            error = "This photo's image could not be read, so it was not measured again."
        else:
            measured = "Measured again (indicative: depends on the light)."
            flash(measured + _applied(others), "success")
            return redirect(url_for("timeline.photo_region", photo_uuid=photo.uuid))
    shown = photo.region or list(imaging.DEFAULT_REGION)
    values = [round(value * 100, 1) for value in shown]
    if error:
        values = [request.form.get(name, "") for name in ("left", "top", "right", "bottom")]
    return render_template(
        "timeline/region.html",
        photo=photo,
        entry=photo.entry,
        region=shown,
        values=values,
        error=error,
        photo_url=photo_url_function(),
    ), (422 if error else 200)


def _applied(others: int) -> str:
    if not others:
        return ""
    return f" Applied to {others} other photo{'s' if others != 1 else ''} of this area."


def _region_from_form(form) -> list[float]:
    """Four percentages (left, top, right, bottom) as fractions; ValueError says what is wrong."""
    numbers = []
    for name in ("left", "top", "right", "bottom"):
        raw = (form.get(name) or "").strip()
        try:
            numbers.append(float(raw) / 100)
        except ValueError:
            raise ValueError(f"Give the region's {name} edge as a number from 0 to 100.") from None
        if not 0 <= numbers[-1] <= 1:
            raise ValueError(f"The region's {name} edge must be between 0 and 100 %.")
    return numbers
