"""The outcome charts, drawn on the server as SVG geometry from backend/stats' daily rows.

Plain Python: no aggregation here (backend/stats/outcomes.py counts), only where each bar and
point goes. The template (templates/console/outcomes.html) writes the SVG; CSS colours it by
outcome, so the page needs no script and no chart library.
"""

from dataclasses import dataclass
from datetime import timedelta

# How each day's calls split, bottom to top of a bar (each call in exactly one part).
PARTS = (
    "confirmed_first_ask",
    "confirmed_asked_again",
    "collected_by_voice",
    "way_out",
    "unfinished",
    "in_progress",
)
# Lines of the rates chart: percentages of the day's calls.
RATES = ("with_caller_id", "confirmed_first_ask", "collected_by_voice", "way_out")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 26  # room for the axes' labels


def parts_of(day):
    """{part: count} of one DayOutcomes; the parts add up to its calls."""
    asked_again = day.confirmed - day.confirmed_first_ask - day.collected_by_voice
    counts = {
        "confirmed_first_ask": day.confirmed_first_ask,
        "confirmed_asked_again": asked_again,
        "collected_by_voice": day.collected_by_voice,
        "way_out": day.way_out,
        "unfinished": day.unfinished,
        "in_progress": day.in_progress,
    }
    return counts


@dataclass(frozen=True)
class Segment:
    part: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: object  # datetime.date
    calls: int
    x: float
    width: float
    segments: tuple


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Line:
    rate: str
    points: str  # SVG polyline points: "x,y x,y"


@dataclass(frozen=True)
class Charts:
    """Both charts of one tenant over `days`, and the rows they were drawn from."""

    days: tuple  # every day of the window, oldest first
    bars: tuple
    count_ticks: tuple
    lines: tuple
    rate_ticks: tuple
    labels: tuple  # (x, day) under the bars, a few only so that they stay legible
    rows: tuple  # the DayOutcomes with calls, oldest first
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self):
        return not self.rows


def _nice_top(maximum):
    """A round top for the count axis: 1, 2, 5, 10, 20, 50... at least `maximum`."""
    top = 1
    multipliers = (2, 2.5, 2)  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 ...
    index = 0
    while top < maximum:
        top = round(top * multipliers[index % 3])
        index += 1
    return top


def draw(rows, first_day, last_day):
    """The Charts of `rows` (one tenant's DayOutcomes) for every day in [first_day, last_day]."""
    by_day = {row.day: row for row in rows}
    days = []
    day = first_day
    while day <= last_day:
        days.append(day)
        day += timedelta(days=1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / len(days)
    top = _nice_top(max((row.calls for row in rows), default=0))
    bars = []
    for index, day in enumerate(days):
        row = by_day.get(day)
        x = LEFT + index * slot + slot * 0.15
        segments, base = [], TOP + plot_height
        for part, count in parts_of(row).items() if row else ():
            if count <= 0:
                continue
            height = plot_height * count / top
            base -= height
            segments.append(Segment(part, count, round(base, 2), round(height, 2)))
        bars.append(
            Bar(day, row.calls if row else 0, round(x, 2), round(slot * 0.7, 2), tuple(segments))
        )
    values = (0, top // 2, top) if top % 2 == 0 else (0, top)
    count_ticks = tuple(Tick(v, round(TOP + plot_height * (1 - v / top), 2)) for v in values)
    lines = []
    for rate in RATES:
        points = []
        for index, day in enumerate(days):
            row = by_day.get(day)
            if row is None or not row.calls:
                continue
            x = LEFT + index * slot + slot / 2
            y = TOP + plot_height * (1 - row.percent(getattr(row, rate)) / 100)
            points.append(f"{x:.1f},{y:.1f}")
        lines.append(Line(rate, " ".join(points)))
    rate_ticks = tuple(
        Tick(value, round(TOP + plot_height * (1 - value / 100), 2)) for value in (0, 50, 100)
    )
    every = max(1, round(len(days) / 6))
    labels = tuple(
        (round(LEFT + index * slot + slot / 2, 1), day)
        for index, day in enumerate(days)
        if index % every == 0 or index == len(days) - 1
    )
    return Charts(
        tuple(days),
        tuple(bars),
        count_ticks,
        tuple(lines),
        rate_ticks,
        labels,
        tuple(row for row in sorted(rows, key=lambda r: r.day) if row.calls),
    )
