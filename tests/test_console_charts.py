"""backend/console/charts.py: where the bars and points of the outcome charts go."""

from datetime import date, timedelta

from backend.console.charts import BOTTOM, HEIGHT, LEFT, PARTS, TOP, WIDTH, draw, parts_of
from backend.stats.outcomes import DayOutcomes

FIRST = date(2026, 11, 1)


def day(offset, **counts):
    """A DayOutcomes of the demo tenant, FIRST + offset days; unnamed counts are 0."""
    fields = dict.fromkeys(
        (
            "with_caller_id",
            "confirmed",
            "confirmed_first_ask",
            "collected_by_voice",
            "way_out",
            "unfinished",
            "in_progress",
        ),
        0,
    )
    fields.update(counts)
    fields["calls"] = sum(
        fields[name] for name in ("confirmed", "way_out", "unfinished", "in_progress")
    )
    return DayOutcomes(
        "demo", FIRST + timedelta(days=offset), median_turns=None, median_seconds=None, **fields
    )


def test_each_call_of_a_day_is_in_exactly_one_part():
    row = day(0, confirmed=6, confirmed_first_ask=3, collected_by_voice=2, way_out=1, unfinished=2)
    parts = parts_of(row)
    assert tuple(parts) == PARTS and sum(parts.values()) == row.calls == 9
    assert parts["confirmed_asked_again"] == 1


def test_a_bar_per_day_of_the_window_its_height_the_day_s_calls():
    rows = [
        day(0, confirmed=2, confirmed_first_ask=2),
        day(2, confirmed=3, collected_by_voice=3, way_out=1, unfinished=1),  # 5 calls: the top
    ]
    charts = draw(rows, FIRST, FIRST + timedelta(days=3))
    assert [bar.day for bar in charts.bars] == [FIRST + timedelta(days=i) for i in range(4)]
    assert [bar.calls for bar in charts.bars] == [2, 0, 5, 0]
    assert [t.value for t in charts.count_ticks] == [0, 5]
    full = charts.bars[2]
    assert [s.part for s in full.segments] == ["collected_by_voice", "way_out", "unfinished"]
    assert round(sum(s.height for s in full.segments)) == HEIGHT - TOP - BOTTOM  # the whole axis
    assert min(s.y for s in full.segments) == TOP
    # Stacked: each segment sits on the one below.
    for lower, upper in zip(full.segments, full.segments[1:], strict=False):
        assert round(upper.y + upper.height, 2) == lower.y
    assert charts.bars[1].segments == ()
    for bar in charts.bars:
        assert LEFT <= bar.x and bar.x + bar.width <= WIDTH
    assert [row.day for row in charts.rows] == [rows[0].day, rows[1].day]


def test_rates_are_points_of_the_days_with_calls():
    rows = [
        day(0, confirmed=2, confirmed_first_ask=2, with_caller_id=2),
        day(1, way_out=2),
    ]
    charts = draw(rows, FIRST, FIRST + timedelta(days=2))
    lines = {line.rate: line.points.split() for line in charts.lines}
    first_ask = [float(point.split(",")[1]) for point in lines["confirmed_first_ask"]]
    assert first_ask == [TOP, HEIGHT - BOTTOM]  # 100 % then 0 %
    assert len(lines["way_out"]) == 2  # no point for the day without calls


def test_no_call_draws_an_empty_chart():
    charts = draw([], FIRST, FIRST + timedelta(days=29))
    assert charts.empty and len(charts.bars) == 30
    assert all(bar.segments == () for bar in charts.bars)
    assert all(line.points == "" for line in charts.lines)
    assert 2 <= len(charts.labels) <= 8  # a few day labels, legible on a phone
