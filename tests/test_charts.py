"""Server-side SVG charts: one line per session, gaps drawn as gaps, every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from itertools import pairwise

from webapp.charts import ChartSeries, nice_range, recovery_chart_svg, series_chart_svg
from webapp.progress import METRICS, Curve

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output


def curve(number: int, points) -> Curve:
    return Curve(number, date(2026, 1, number), 28, tuple(points))


def test_one_path_per_session_with_a_legend_entry_each():
    svg = parse(
        recovery_chart_svg(
            [curve(1, [(0, 8), (1, 5)]), curve(2, [(0, 7), (1, 3)]), curve(3, [(0, 6)])],
            METRICS["redness"],
        )
    )
    paths = svg.findall(f".//{SVG}path[@class='curve']")
    assert [path.get("data-session") for path in paths] == ["1", "2", "3"]
    assert len({path.get("stroke") for path in paths}) == 3
    assert len(svg.findall(f".//{SVG}g[@class='legend-item']")) == 3
    assert svg.get("role") == "img" and svg.find(f"{SVG}title").text.startswith("Redness")


def test_a_focused_session_is_drawn_bold_on_top_and_the_others_fade():
    curves = [curve(1, [(0, 8), (1, 5)]), curve(2, [(0, 7), (1, 3)]), curve(3, [(0, 6)])]
    svg = parse(recovery_chart_svg(curves, METRICS["redness"], focus=2))
    paths = svg.findall(f".//{SVG}path")
    assert [path.get("data-session") for path in paths] == ["1", "3", "2"]  # 2 last: on top
    assert [path.get("class") for path in paths] == ["curve faded", "curve faded", "curve focused"]
    assert float(paths[-1].get("stroke-width")) > float(paths[0].get("stroke-width"))
    bold = svg.findall(f".//{SVG}g[@class='legend-item']/{SVG}text[@font-weight='700']")
    assert [text.text for text in bold] == ["Session 2"]
    assert "Session 2 is highlighted" in svg.find(f"{SVG}desc").text


def test_focus_on_a_session_that_is_not_drawn_highlights_nothing():
    svg = parse(recovery_chart_svg([curve(1, [(0, 8)])], METRICS["redness"], focus=7))
    assert svg.find(f".//{SVG}path").get("class") == "curve"


def test_a_missing_day_starts_a_new_segment_instead_of_dropping_to_zero():
    svg = parse(recovery_chart_svg([curve(1, [(0, 8), (1, 6), (4, 2)])], METRICS["redness"]))
    d = svg.find(f".//{SVG}path[@class='curve']").get("d")
    assert d.count("M") == 2  # two runs: days 0-1, then day 4 alone (a dot)
    assert "h0.01" in d


def test_session_without_entries_has_no_line_but_is_named_in_the_legend():
    svg = parse(recovery_chart_svg([curve(1, [(0, 8)]), curve(2, [])], METRICS["redness"]))
    assert len(svg.findall(f".//{SVG}path[@class='curve']")) == 1
    assert "Session 2 (no entries)" in ET.tostring(svg, encoding="unicode")


def test_no_sessions_draws_an_empty_chart_that_says_so():
    assert "No treatment sessions yet" in recovery_chart_svg([], METRICS["redness"])


def test_fixed_scales_for_ratings_fitted_scales_for_measurements():
    ratings = parse(recovery_chart_svg([curve(1, [(0, 3)])], METRICS["redness"]))
    labels = [text.text for text in ratings.iter(f"{SVG}text")]
    assert "10" in labels and "0" in labels
    measured = recovery_chart_svg([curve(1, [(0, 12.3), (1, 15.8)])], METRICS["delta_a"])
    assert ">12<" in measured and ">16<" in measured
    assert nice_range([12.3, 15.8]) == (12.0, 16.0, 1.0)


def test_text_is_escaped_and_no_style_attribute_is_used():
    markup = series_chart_svg(
        [1, 2], [ChartSeries('<script>alert("x")</script>', [1, 2])], title="A & B <c>"
    )
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "A &amp; B &lt;c&gt;" in markup
    assert not re.search(r"\sstyle=", markup)
    parse(markup)  # well-formed XML


def test_series_chart_one_point_per_session_and_gaps_for_unknown_values():
    svg = parse(series_chart_svg([1, 2, 3], [ChartSeries("PIE", [3, None, 1])], low=0, high=4))
    assert len(svg.findall(f".//{SVG}circle")) == 2
    assert svg.find(f".//{SVG}path[@class='trend']").get("d").count("M") == 2


def test_legend_items_do_not_overlap_and_wrap_inside_the_chart():
    curves = [curve(1, [])] + [curve(number, [(0, 5)]) for number in range(2, 9)]
    svg = parse(recovery_chart_svg(curves, METRICS["redness"]))
    width = float(svg.get("viewBox").split()[2])
    items = []
    for item in svg.findall(f".//{SVG}g[@class='legend-item']"):
        line, text = item.find(f"{SVG}line"), item.find(f"{SVG}text")
        start = float(line.get("x1"))
        end = float(text.get("x")) + len(text.text) * 6.0
        items.append((float(line.get("y1")), start, end))
    assert all(end <= width for _, _, end in items)
    for (row_a, _, end_a), (row_b, start_b, _) in pairwise(items):
        assert row_b > row_a or start_b > end_a, "items on one row must not overlap"
