"""Charts drawn on the server as SVG (no script, nothing from the internet); every label is escaped, and the
legends' words are the reader's language (the caller translates titles and row labels)."""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup, escape

from .labels import STATUS_COLOURS, STATUS_SYMBOLS
from .serializers import STATUS_LABELS


def _colour(name: str, index: int) -> str:
    """A classification's badge colour; other series take the palette in turn."""
    return STATUS_COLOURS.get(name) or PALETTE[index % len(PALETTE)]


def _words(name: str) -> str:
    """A classification's badge words in the reader's language; other series names as given."""
    return gettext(STATUS_LABELS[name]) if name in STATUS_LABELS else name


PALETTE = ["#6f2dbd", "#0f6e7a", "#1a7f37", "#a35100", "#a40e26", "#5f6873", "#0b5cad", "#8a6d00"]


def bar_chart(title: str, rows: list[tuple[str, float]], unit: str = "", colour: str | None = None) -> Markup:
    """A horizontal bar chart (one colour when given, else the palette); the table beside it carries the
    same numbers for screen readers."""
    width, bar_height, label_width = 560, 22, 200
    height = 30 + bar_height * max(1, len(rows))
    peak = max((value for _, value in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 26 + i * bar_height
        length = (width - label_width - 60) * (value / peak)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(str(label)[:32])}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{bar_height - 6}" '
            f'fill="{colour or PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{value:g}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text above is escaped


def stacked_columns(title: str, columns: list[str], series: dict[str, list[float]]) -> Markup:
    """Columns (e.g. weeks) stacked by classification, each in its badge's colour, with a legend giving
    the badge's symbol and words."""
    # The legend is wide enough for the badge words in Spanish too ("Lista de espera: desplazaría a otros").
    width, height, bottom, left, legend = 760, 260, 40, 40, 260
    plot_height = height - bottom - 30
    totals = [sum(values[i] for values in series.values()) for i in range(len(columns))]
    peak = max(totals, default=0) or 1
    step = (width - left - legend) / max(1, len(columns))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for index, column in enumerate(columns):
        x = left + index * step
        y = height - bottom
        for s_index, (name, values) in enumerate(series.items()):
            value = values[index]
            if not value:
                continue
            h = plot_height * value / peak
            y -= h
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(1.0, step - 4):.1f}" height="{h:.1f}" '
                f'fill="{_colour(name, s_index)}"><title>{escape(_words(name))}: {value:g}</title></rect>'
            )
        parts.append(
            f'<text x="{x + 2:.1f}" y="{height - bottom + 14}" font-size="10">{escape(column[-3:])}</text>'
        )
    for s_index, name in enumerate(series):
        y, x = 30 + s_index * 16, width - legend + 10
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{_colour(name, s_index)}"/>')
        parts.append(
            f'<text x="{x + 15}" y="{y + 9}" font-size="11">'
            f"{escape(STATUS_SYMBOLS.get(name, ''))} {escape(_words(name)[:38])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text above is escaped
