"""The Log form as a patient uses it: each rating is a row of 0 to 10 radio buttons (and "Not
rated"), tapped once."""

from __future__ import annotations

from playwright.sync_api import expect


def rating(page, name: str):
    """The radio group of one rating, found by its label ("Redness")."""
    return page.get_by_role("radiogroup", name=name, exact=True)


def rate(page, name: str, score: str) -> None:
    """Taps `score` ("0" to "10", or "Not rated") in the rating `name`."""
    rating(page, name).get_by_role("radio", name=score, exact=True).tap()


def expect_rated(page, name: str, score: str) -> None:
    expect(rating(page, name).get_by_role("radio", name=score, exact=True)).to_be_checked()
