"""Charts as plain SVG strings, drawn on the server: no JavaScript, no CDN, no chart library.

For a web page, text is real SVG text in the "Khmer OS" family (Debian's fonts-khmeros): the
browser shapes Khmer, and labels stay selectable. For the PDF, charts are drawn inside
`outlined_text()`: every label is shaped here with HarfBuzz and written as glyph outlines, because
WeasyPrint's SVG renderer places each character on its own and so breaks Khmer clusters (subscript
consonants and vowel signs). Each outlined label keeps its words in an aria-label.

Every label passed in is escaped here; callers pass already translated strings (gettext) and
numbers. A withheld (suppressed) value is drawn as a grey stub marked "x" rather than as zero, so a
reader never mistakes "not shown" for "none".
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.utils.translation import gettext

FONT_FAMILY = "'Khmer OS', 'Khmer OS System', 'DejaVu Sans', sans-serif"
INK = "#1b1b1b"
MUTED = "#5f6b73"
GRID = "#d9dee2"
BAR = "#1f5f8b"
WITHHELD = "#c4c4c4"
WIDTH = 640
FONT_SIZE = 13
ROW = 26
WITHHELD_MARK = "x"


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: int | None  # None: withheld
    median_days_to_next: float | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: withheld


@dataclass(frozen=True)
class ResponseTime:
    authority: str
    median_days: float | None
    requests: int | None
    share_unanswered_30d: float | None = None  # 0..1


# --- text: live SVG text, or glyph outlines shaped by HarfBuzz -------------------------------

_OUTLINE = contextvars.ContextVar("outline_text", default=False)
KHMER_FONT_FILES = (
    "/usr/share/fonts/truetype/khmeros/KhmerOS.ttf",
    "/usr/share/fonts/truetype/khmeros/KhmerOSsys.ttf",
)


@contextlib.contextmanager
def outlined_text() -> Iterator[None]:
    """Charts drawn inside this block carry text as shaped outlines (for WeasyPrint)."""
    token = _OUTLINE.set(True)
    try:
        yield
    finally:
        _OUTLINE.reset(token)


def khmer_font_file() -> str:
    configured = getattr(settings, "LIFELINE_KHMER_FONT_FILE", "")
    for candidate in (configured, *KHMER_FONT_FILES):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise FileNotFoundError("Khmer OS font not found: install Debian's fonts-khmeros")


@functools.cache
def _shaper(path: str) -> tuple[Any, Any, int, list[str]]:
    import uharfbuzz as hb  # loaded only where PDFs are drawn
    from fontTools.ttLib import TTFont

    face = hb.Face(hb.Blob.from_file_path(path))
    font = TTFont(path)
    return hb.Font(face), font.getGlyphSet(), face.upem, font.getGlyphOrder()


def _shape(text: str, size: float) -> tuple[list[tuple[str, float, float]], float]:
    """Glyph names with their pen positions (in px) and the total advance."""
    import uharfbuzz as hb

    font, _, upem, glyph_order = _shaper(khmer_font_file())
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font, buffer)
    scale = size / upem
    placed = []
    pen = 0.0
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
        placed.append(
            (
                glyph_order[info.codepoint],
                (pen + position.x_offset) * scale,
                position.y_offset * scale,
            )
        )
        pen += position.x_advance
    return placed, pen * scale


def _outlined(x: float, y: float, content: str, anchor: str, size: float) -> str:
    from fontTools.pens.svgPathPen import SVGPathPen
    from fontTools.pens.transformPen import TransformPen

    _, glyph_set, upem, _ = _shaper(khmer_font_file())
    placed, advance = _shape(content, size)
    start = x - (advance if anchor == "end" else advance / 2 if anchor == "middle" else 0.0)
    scale = size / upem
    pen = SVGPathPen(glyph_set, ntos=lambda v: f"{v:.2f}".rstrip("0").rstrip("."))
    for name, dx, dy in placed:
        # Font units point up; SVG's y axis points down.
        glyph_set[name].draw(TransformPen(pen, (scale, 0, 0, -scale, start + dx, y - dy)))
    return pen.getCommands()


# --- helpers --------------------------------------------------------------------------------


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Rendered width: exact when outlining, else estimated. Khmer subscripts (after the coeng
    sign) and vowel signs stack on
    their base letter, so they take no width of their own."""
    if _OUTLINE.get():
        return _shape(text, size)[1]
    width = 0.0
    after_coeng = False
    for char in text:
        if after_coeng:
            after_coeng = False
            continue
        if char == "\u17d2":
            after_coeng = True
            continue
        if unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        if "\u1780" <= char <= "\u17ff":
            width += 0.75 * size  # spacing vowels and base letters of Khmer OS
        elif char.isupper() or char in "mwMW%":
            width += 0.68 * size
        else:
            width += 0.55 * size
    return width


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum` (1, 2, 2.5 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = FONT_SIZE,
    fill: str = INK,
    weight: str = "normal",
    css_class: str = "",
) -> str:
    klass = f' class="{css_class}"' if css_class else ""
    if _OUTLINE.get():
        path = _outlined(x, y, content, anchor, size)
        # Outlines have no font weight: a thin stroke of the same colour makes them bold.
        bold = f' stroke="{fill}" stroke-width="0.4"' if weight == "bold" else ""
        return (
            f'<path{klass} role="img" aria-label={quoteattr(content)} d="{path}" fill="{fill}"'
            f"{bold}/>"
        )
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}"{klass}>{escape(content)}</text>'
    )


def _svg(title: str, description: str, height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
        f'height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" '
        f"font-family={quoteattr(FONT_FAMILY)}>"
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        + _text(0, 20, title, size=15, weight="bold", css_class="chart-title")
        + "".join(body)
        + "</svg>"
    )


def _no_data(title: str) -> str:
    return _svg(title, gettext("No data"), 70, [_text(0, 52, gettext("No data"), fill=MUTED)])


def _horizontal_bars(
    title: str,
    unit: str,
    bars: Sequence[Bar],
    *,
    value_text: Sequence[str] | None = None,
    notes: Sequence[str] | None = None,
) -> str:
    """Label | bar | value, one row per bar; an optional small note under each bar."""
    if not bars:
        return _no_data(title)
    label_width = min(240.0, max(text_width(b.label) for b in bars) + 12)
    texts = (
        list(value_text)
        if value_text is not None
        else [WITHHELD_MARK if b.value is None else _number(b.value) for b in bars]
    )
    value_room = max(text_width(t) for t in texts) + 12
    plot_width = WIDTH - label_width - value_room
    largest = max((b.value for b in bars if b.value is not None), default=0) or 1
    row_height = ROW + (14 if notes else 0)
    top = 44.0
    body = [_text(WIDTH - 4, 20, unit, anchor="end", size=11, fill=MUTED, css_class="chart-unit")]
    for n, (bar, shown) in enumerate(zip(bars, texts, strict=True)):
        y = top + n * row_height
        body.append(_text(label_width - 8, y + 14, bar.label, anchor="end", css_class="bar-label"))
        if bar.value is None:
            width, fill, klass = 6.0, WITHHELD, "bar withheld"
        else:
            width, fill, klass = max(1.0, plot_width * bar.value / largest), BAR, "bar"
        data_value = "" if bar.value is None else bar.value
        body.append(
            f'<rect class="{klass}" x="{label_width:.1f}" y="{y:.1f}" width="{width:.2f}" '
            f'height="{ROW - 8}" fill="{fill}" data-value="{data_value}"/>'
        )
        body.append(_text(label_width + width + 6, y + 14, shown, css_class="bar-value"))
        if notes and notes[n]:
            body.append(_text(label_width, y + ROW + 6, notes[n], size=11, fill=MUTED))
    height = top + len(bars) * row_height + 8
    if any(b.value is None for b in bars):
        body.append(_withheld_key(height))
        height += 20
    description = "; ".join(f"{b.label}: {t}" for b, t in zip(bars, texts, strict=True))
    return _svg(title, description, height, body)


def _withheld_key(y: float) -> str:
    return _text(
        0,
        y + 8,
        gettext(
            "x: not shown, to protect the people counted "
            "(fewer than 11, or would reveal such a count)"
        ),
        size=11,
        fill=MUTED,
        css_class="withheld-key",
    )


# --- the four charts ------------------------------------------------------------------------


def funnel_chart(title: str, unit: str, steps: Sequence[FunnelStep]) -> str:
    """From help request to closure: how many reach each step, and the median time to the next."""
    notes = [
        ""
        if step.median_days_to_next is None
        else gettext("median %(days)s days to the next step")
        % {"days": _number(step.median_days_to_next)}
        for step in steps
    ]
    bars = [Bar(step.label, step.value) for step in steps]
    return _horizontal_bars(title, unit, bars, notes=notes if any(notes) else None)


def ranked_bars(title: str, unit: str, items: Sequence[Bar]) -> str:
    """Largest first (e.g. destination countries); withheld values last."""
    ordered = sorted(items, key=lambda b: (b.value is None, -(b.value or 0), b.label))
    return _horizontal_bars(title, unit, ordered)


def response_time_bars(title: str, items: Sequence[ResponseTime]) -> str:
    """Median days to a response, per embassy or authority, slowest first, with the number of
    requests and the share still unanswered after 30 days."""
    ordered = sorted(items, key=lambda r: (r.median_days is None, -(r.median_days or 0)))
    bars = [Bar(r.authority, r.median_days) for r in ordered]
    texts = [
        WITHHELD_MARK
        if r.median_days is None
        else gettext("%(days)s days") % {"days": _number(r.median_days)}
        for r in ordered
    ]
    notes = []
    for r in ordered:
        parts = []
        if r.requests is not None:
            parts.append(gettext("%(count)s requests") % {"count": _number(r.requests)})
        if r.share_unanswered_30d is not None:
            parts.append(
                gettext("%(share)s%% unanswered after 30 days")
                % {"share": _number(round(100 * r.share_unanswered_30d, 1))}
            )
        notes.append(" · ".join(parts))
    return _horizontal_bars(
        title, gettext("median days"), bars, value_text=texts, notes=notes if any(notes) else None
    )


def trend_line(title: str, unit: str, points: Sequence[Bar]) -> str:
    """Counts by month (or quarter) as a line; a withheld month breaks the line."""
    if not points:
        return _no_data(title)
    largest = max((p.value for p in points if p.value is not None), default=0)
    ticks = nice_ticks(largest)
    left, right, top, bottom = 56.0, WIDTH - 32.0, 44.0, 250.0
    height = bottom + 48
    step = (right - left) / max(1, len(points) - 1)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / ticks[-1]

    body = [_text(WIDTH - 4, 20, unit, anchor="end", size=11, fill=MUTED, css_class="chart-unit")]
    for tick in ticks:
        y = y_of(tick)
        body.append(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y + 4, _number(tick), anchor="end", size=11, fill=MUTED))
    # Label every point when they fit, else every n-th, always the first and the last (dropping
    # the one before the last when the two would touch).
    every = max(1, math.ceil(len(points) * 60 / (right - left)))
    last = len(points) - 1
    labelled = {n for n in range(0, last + 1, every) if last - n >= every or n == last} | {last}
    segments: list[list[tuple[float, float]]] = [[]]
    for n, point in enumerate(points):
        x = left + n * step if len(points) > 1 else (left + right) / 2
        if n in labelled:
            body.append(
                _text(x, bottom + 18, point.label, anchor="middle", size=11, css_class="x-label")
            )
        if point.value is None:
            body.append(_text(x, bottom - 4, WITHHELD_MARK, anchor="middle", fill=MUTED))
            segments.append([])
            continue
        segments[-1].append((x, y_of(point.value)))
    for segment in segments:
        if len(segment) > 1:
            coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            body.append(
                f'<polyline class="trend" points="{coordinates}" fill="none" stroke="{BAR}" '
                f'stroke-width="2.5"/>'
            )
    for point, (x, y) in zip(
        [p for p in points if p.value is not None],
        [xy for segment in segments for xy in segment],
        strict=True,
    ):
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BAR}" '
            f'data-value="{point.value}"/>'
        )
    if any(p.value is None for p in points):
        body.append(_withheld_key(height - 14))
    description = "; ".join(
        f"{p.label}: {WITHHELD_MARK if p.value is None else _number(p.value)}" for p in points
    )
    return _svg(title, description, height, body)
