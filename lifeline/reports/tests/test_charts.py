"""Server-side SVG charts: structure, proportions, order, escaping, Khmer labels, no scripts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from lifeline.reports.charts import (
    FONT_FAMILY,
    Bar,
    FunnelStep,
    ResponseTime,
    funnel_chart,
    nice_ticks,
    ranked_bars,
    response_time_bars,
    text_width,
    trend_line,
)

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iterfind(".//svg:rect", NS) if "bar" in r.get("class", "").split()]


def texts(root: ET.Element, css_class: str | None = None) -> list[str]:
    return [
        "".join(t.itertext())
        for t in root.iterfind(".//svg:text", NS)
        if css_class is None or t.get("class") == css_class
    ]


def assert_self_contained(svg: str) -> None:
    lowered = svg.lower()
    assert "<script" not in lowered
    assert "foreignobject" not in lowered
    assert "http://" not in lowered.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in lowered
    assert " on" not in lowered.replace("font", "").split(">")[0]  # no event handlers on root


def test_ranked_bars_are_sorted_largest_first_and_proportional() -> None:
    svg = ranked_bars(
        "Persons by destination",
        "persons",
        [Bar("Thailand", 400), Bar("Myanmar", 1200), Bar("Laos", 600), Bar("China", None)],
    )
    assert_self_contained(svg)
    root = parse(svg)
    assert texts(root, "bar-label") == ["Myanmar", "Laos", "Thailand", "China"]
    assert texts(root, "bar-value") == ["1,200", "600", "400", "x"]
    shown = [b for b in bars(root) if "withheld" not in b.get("class", "")]
    widths = [float(b.get("width", "0")) for b in shown]
    assert widths[0] / widths[1] == pytest.approx(2.0, rel=1e-3)
    assert widths[0] / widths[2] == pytest.approx(3.0, rel=1e-3)
    withheld = [b for b in bars(root) if "withheld" in b.get("class", "")]
    assert len(withheld) == 1 and withheld[0].get("data-value") == ""
    # The key explains the x.
    assert any(t.startswith("x: not shown") for t in texts(root, "withheld-key"))
    # All bars start at the same x and fit in the canvas.
    assert len({b.get("x") for b in bars(root)}) == 1
    assert all(float(b.get("x", 0)) + float(b.get("width", 0)) <= 640 for b in bars(root))


def test_labels_are_escaped_not_interpreted() -> None:
    svg = ranked_bars("A & B <script>", "persons", [Bar("<b>Thai</b> & co", 20)])
    root = parse(svg)
    assert texts(root, "bar-label") == ["<b>Thai</b> & co"]
    assert root.find("svg:title", NS).text == "A & B <script>"  # type: ignore[union-attr]
    assert "<script>" not in svg


def test_khmer_labels_render_as_text_in_the_khmer_font() -> None:
    svg = ranked_bars("ប្រទេសគោលដៅ", "មនុស្ស", [Bar("ថៃ", 30), Bar("មីយ៉ាន់ម៉ា", 12)])
    root = parse(svg)
    assert root.get("font-family") == FONT_FAMILY
    assert "Khmer OS" in FONT_FAMILY.split(",")[0]
    assert texts(root, "bar-label") == ["ថៃ", "មីយ៉ាន់ម៉ា"]
    assert texts(root, "chart-title") == ["ប្រទេសគោលដៅ"]


def test_khmer_width_estimate_does_not_count_stacked_marks() -> None:
    # ស្ត្រី: the coeng (U+17D2) stacks the next consonant under the base; vowel signs too.
    assert text_width("ស្ត្រី") < text_width("សតរី")
    assert text_width("ABC") > 0


def test_funnel_keeps_step_order_and_shows_median_times() -> None:
    steps = [
        FunnelStep("Requests", 1000, 2.5),
        FunnelStep("Verified", 640, 4),
        FunnelStep("Located", 300, None),
        FunnelStep("Returned", None, None),
    ]
    root = parse(funnel_chart("Funnel", "persons", steps))
    assert texts(root, "bar-label") == ["Requests", "Verified", "Located", "Returned"]
    widths = [float(b.get("width", "0")) for b in bars(root)[:3]]
    assert widths == sorted(widths, reverse=True)
    assert widths[0] / widths[2] == pytest.approx(1000 / 300, rel=1e-3)
    notes = texts(root)
    assert "median 2.5 days to the next step" in notes
    assert "median 4 days to the next step" in notes


def test_response_times_slowest_first_with_counts_and_unanswered_share() -> None:
    items = [
        ResponseTime("Embassy in Bangkok", 3, 120, 0.05),
        ResponseTime("Embassy in Yangon", 21.5, 40, 0.425),
        ResponseTime("NCCT", None, None),
    ]
    root = parse(response_time_bars("Time to first response", items))
    assert texts(root, "bar-label") == ["Embassy in Yangon", "Embassy in Bangkok", "NCCT"]
    assert texts(root, "bar-value") == ["21.5 days", "3 days", "x"]
    all_text = texts(root)
    assert "40 requests · 42.5% unanswered after 30 days" in all_text
    assert "120 requests · 5% unanswered after 30 days" in all_text


def test_trend_line_points_follow_the_values_and_break_at_withheld_months() -> None:
    points = [
        Bar("2022-01", 20),
        Bar("2022-02", 40),
        Bar("2022-03", None),
        Bar("2022-04", 10),
        Bar("2022-05", 30),
    ]
    root = parse(trend_line("By month", "persons", points))
    lines = root.findall(".//svg:polyline", NS)
    assert len(lines) == 2  # broken at March
    circles = root.findall(".//svg:circle", NS)
    assert [c.get("data-value") for c in circles] == ["20", "40", "10", "30"]
    ys = [float(c.get("cy", 0)) for c in circles]
    # Larger values are drawn higher (smaller y), proportionally from the zero line.
    assert ys[1] < ys[0] < ys[2] and ys[3] < ys[0]
    zero = max(float(line.get("y1", 0)) for line in root.findall(".//svg:line", NS))
    assert (zero - ys[1]) / (zero - ys[0]) == pytest.approx(2.0, rel=1e-3)
    assert texts(root, "x-label")[0] == "2022-01" and texts(root, "x-label")[-1] == "2022-05"


def test_long_trend_labels_are_thinned_but_keep_first_and_last() -> None:
    points = [Bar(f"2022-{m:02d}", m) for m in range(1, 13)] + [
        Bar(f"2023-{m:02d}", m) for m in range(1, 13)
    ]
    labels = texts(parse(trend_line("By month", "persons", points)), "x-label")
    assert labels[0] == "2022-01" and labels[-1] == "2023-12"
    assert len(labels) < 24


def test_empty_data_says_so() -> None:
    for svg in (
        ranked_bars("Empty", "persons", []),
        trend_line("Empty", "persons", []),
        funnel_chart("Empty", "persons", []),
    ):
        assert "No data" in texts(parse(svg))


def test_chart_words_are_translated_to_khmer() -> None:
    with translation.override("km"):
        svg = ranked_bars("ចំណងជើង", "មនុស្ស", [Bar("ថៃ", None)])
    with translation.override("en"):
        english = ranked_bars("Title", "persons", [Bar("Thailand", None)])
    key_km = texts(parse(svg), "withheld-key")[0]
    key_en = texts(parse(english), "withheld-key")[0]
    assert key_en.startswith("x: not shown")
    assert key_km != key_en
    assert any("\u1780" <= ch <= "\u17ff" for ch in key_km)


@pytest.mark.parametrize(
    ("maximum", "expected_last", "expected_step"),
    [(7, 8, 2), (100, 100, 20), (1234, 1250, 250), (0, 1, 1), (0.4, 0.4, 0.1)],
)
def test_nice_ticks(maximum: float, expected_last: float, expected_step: float) -> None:
    ticks = nice_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] == pytest.approx(expected_last)
    assert ticks[1] - ticks[0] == pytest.approx(expected_step)
