"""The geometry of the Edit page's history chart and health strip, drawn by the template as inline SVG: no
script, nothing to build, and a text summary of the same numbers for those who cannot see it."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import formats

from .history import DAYS, Day, Span

WIDTH, LEFT, RIGHT = 1000, 132, 8
PANEL_HEIGHT, PANEL_GAP, TOP = 56, 26, 16
OUTCOMES = (("succeeded", "succeeded"), ("paused", "paused"), ("failed", "failed"), ("running", "running"))
STRIP_WIDTH = 1000


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class Panel:
    label: str
    top: float
    peak: str  # the label of the panel's highest value, at its top
    rects: list[Rect] = field(default_factory=list)
    points: str = ""  # a polyline's points, for the duration panel
    dots: list[Rect] = field(default_factory=list)

    @property
    def bottom(self) -> float:
        return self.top + PANEL_HEIGHT

    @property
    def middle(self) -> float:
        return self.top + PANEL_HEIGHT / 2


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: float
    left: int
    right_edge: int
    panels: list[Panel]
    ticks: list[Tick]
    title: str
    summary: str


def duration_words(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _day_label(date: dt.date) -> str:
    return formats.date_format(date, "M j")


def _scale(value: float, peak: float) -> float:
    return PANEL_HEIGHT * value / peak if peak else 0.0


def _runs_panel(days: list[Day], top: float, step: float, bar: float) -> Panel:
    peak = max((d.runs for d in days), default=0)
    rects = []
    for i, day in enumerate(days):
        y = top + PANEL_HEIGHT
        for attribute, kind in OUTCOMES:
            count = getattr(day, attribute)
            if not count:
                continue
            height = _scale(count, peak)
            y -= height
            title = f"{_day_label(day.date)}: {count} {kind}"
            rects.append(Rect(LEFT + i * step, y, bar, height, kind, title))
    return Panel("Runs", top, f"{peak} run{'s' if peak != 1 else ''}", rects)


def _changed_panel(days: list[Day], top: float, step: float, bar: float) -> Panel:
    peak = max((d.changed for d in days), default=0)
    rects = [
        Rect(
            LEFT + i * step,
            top + PANEL_HEIGHT - _scale(day.changed, peak),
            bar,
            _scale(day.changed, peak),
            "changed",
            f"{_day_label(day.date)}: {day.changed} people changed",
        )
        for i, day in enumerate(days)
        if day.changed
    ]
    return Panel("People changed", top, f"{peak} people", rects)


def _duration_panel(days: list[Day], top: float, step: float, bar: float) -> Panel:
    peak = max((d.longest or 0.0 for d in days), default=0.0)
    dots = []
    for i, day in enumerate(days):
        if day.longest is None:
            continue
        y = top + PANEL_HEIGHT - _scale(day.longest, peak)
        title = f"{_day_label(day.date)}: longest run {duration_words(day.longest)}"
        dots.append(Rect(LEFT + i * step + bar / 2, y, 3, 3, "duration", title))
    points = " ".join(f"{d.x:.1f},{d.y:.1f}" for d in dots)
    return Panel("Longest run", top, duration_words(peak) if peak else "0 s", points=points, dots=dots)


def summary_of(days: list[Day]) -> str:
    runs = sum(d.runs for d in days)
    if not runs:
        return f"No syncs in the last {DAYS} days."
    parts = [
        f"{sum(getattr(d, attribute) for d in days)} {kind}"
        for attribute, kind in OUTCOMES
        if any(getattr(d, attribute) for d in days)
    ]
    changed = sum(d.changed for d in days)
    longest = max((d.longest for d in days if d.longest is not None), default=None)
    busiest = max(days, key=lambda d: d.runs)
    text = f"In the last {DAYS} days: {runs} sync{'s' if runs != 1 else ''} ({', '.join(parts)}); "
    text += f"{changed} {'person' if changed == 1 else 'people'} changed"
    if longest is not None:
        text += f"; the longest run took {duration_words(longest)}"
    return text + f". Busiest day: {_day_label(busiest.date)}, with {busiest.runs}."


def chart_of(days: list[Day]) -> Chart:
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar = max(step - 4, 2)
    tops = [TOP + n * (PANEL_HEIGHT + PANEL_GAP) for n in range(3)]
    panels = [
        _runs_panel(days, tops[0], step, bar),
        _changed_panel(days, tops[1], step, bar),
        _duration_panel(days, tops[2], step, bar),
    ]
    # A label each week and on the last day, none so close to the last that the two overlap.
    marked = {i for i in range(0, len(days), 7) if len(days) - 1 - i >= 4} | {len(days) - 1}
    ticks = [Tick(LEFT + i * step + bar / 2, _day_label(days[i].date)) for i in sorted(marked) if days]
    return Chart(
        width=WIDTH,
        height=tops[2] + PANEL_HEIGHT + 22,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        panels=panels,
        ticks=ticks,
        title=f"Syncs of the last {DAYS} days: runs by outcome, people changed and the longest run, by day",
        summary=summary_of(days),
    )


@dataclass(frozen=True)
class StripSpan:
    x: float
    width: float
    health: str
    label: str
    start: dt.datetime
    end: dt.datetime


def strip_of(spans: list[Span]) -> list[StripSpan]:
    """Each span's place on a strip STRIP_WIDTH wide, in proportion to its length of time."""
    if not spans:
        return []
    start, end = spans[0].start, spans[-1].end
    whole = (end - start).total_seconds() or 1.0
    placed = []
    for span in spans:
        x = STRIP_WIDTH * (span.start - start).total_seconds() / whole
        width = STRIP_WIDTH * (span.end - span.start).total_seconds() / whole
        # A spell of minutes is still seen: at least one unit wide.
        placed.append(StripSpan(x, max(width, 1.0), span.health or "none", span.label, span.start, span.end))
    return placed


@dataclass(frozen=True)
class Spent:
    health: str
    label: str
    length: str


def strip_summary(spans: list[Span]) -> list[Spent]:
    """How long the connection spent in each health over the window, longest first: the strip's legend."""
    spent: dict[tuple[str, str], float] = {}
    for span in spans:
        key = (span.health or "none", span.label)
        spent[key] = spent.get(key, 0.0) + (span.end - span.start).total_seconds()
    ordered = sorted(spent.items(), key=lambda item: -item[1])
    return [Spent(health, label, _length_words(seconds)) for (health, label), seconds in ordered]


def _length_words(seconds: float) -> str:
    days, rest = divmod(round(seconds), 86400)
    if days:
        hours = rest // 3600
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    return duration_words(rest)
