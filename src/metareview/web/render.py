"""Small HTML pieces the templates need: highlighted text and a recall curve as SVG.

Both build :class:`markupsafe.Markup` from escaped pieces only, so a record's text can never
inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

__all__ = ["curve_svg", "highlight", "sentences"]


def highlight(text: str, terms: Iterable[tuple[str, str]]) -> Markup:
    """``text`` escaped, with each term wrapped in ``<mark class="CLASS">``.

    ``terms`` are (term, class) pairs, matched case-insensitively at word boundaries; a longer
    term wins where two overlap.
    """
    pairs = sorted({(t.strip(), c) for t, c in terms if t.strip()}, key=lambda p: -len(p[0]))
    if not pairs or not text:
        return Markup(escape(text))
    classes = {t.casefold(): c for t, c in reversed(pairs)}
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(t) for t, _ in pairs) + r")(?!\w)", re.IGNORECASE
    )
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        cls = classes.get(m.group(1).casefold(), "inc")
        out.append(f'<mark class="{escape(cls)}">{escape(m.group(1))}</mark>')
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (after ., ! or ? followed by space and a capital, digit
    or bracket): what the extraction page lets a reviewer select as a quote."""
    return [s for s in _SENTENCE.split(text.strip()) if s] if text.strip() else []


def curve_svg(
    points: Sequence[tuple[int, int]], total: int, *, width: int = 260, height: int = 120
) -> Markup:
    """The recall curve so far: relevant records found against records screened, on axes
    running to ``total`` records screened and the most found (at least 1)."""
    pad = 24
    w, h = width - pad - 6, height - pad - 6
    top = max([found for _, found in points] + [1])
    xs = max(total, 1)

    def xy(n: int, found: int) -> str:
        return f"{pad + w * n / xs:.1f},{6 + h - h * found / top:.1f}"

    # at most ~300 vertices (one every `step` decisions, and the last): the picture is the same
    step = max(1, len(points) // 300)
    shown = [(0, 0), *points[step - 1 :: step]]
    if points and shown[-1] != points[-1]:
        shown.append(points[-1])
    line = " ".join(xy(n, f) for n, f in shown)
    last = points[-1] if points else (0, 0)
    return Markup(
        f'<svg class="curve" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="relevant records found against records screened">'
        f'<line x1="{pad}" y1="{6 + h}" x2="{pad + w}" y2="{6 + h}" stroke="#555"/>'
        f'<line x1="{pad}" y1="6" x2="{pad}" y2="{6 + h}" stroke="#555"/>'
        f'<polyline points="{line}" fill="none" stroke="#1f6f8b" stroke-width="2"/>'
        f'<text x="{pad}" y="{height - 4}" font-size="10">0</text>'
        f'<text x="{pad + w}" y="{height - 4}" font-size="10" text-anchor="end">{xs}</text>'
        f'<text x="2" y="12" font-size="10">{top}</text>'
        f'<text x="{pad + w}" y="{6 + h - 6}" font-size="10" text-anchor="end">{last[1]} '
        f"relevant in {last[0]} screened</text></svg>"
    )
