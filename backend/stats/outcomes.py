"""Contact-step outcomes per tenant and per day (UTC), as typed rows: `daily_outcomes`.

Used by `flask stats` (backend/operators/stats.py) and meant for any other reader (a console's
charts): plain rows, no formatting. A call counts on the UTC day of its first message, when its
contact step opened (calls whose agent never reached the step are not counted). Percentages
are of those calls; `in_progress` calls have no outcome yet (no end message came).
"""

from dataclasses import asdict, dataclass
from datetime import date
from itertools import groupby
from statistics import median

from backend.engine import outcomes
from backend.store.reports import call_outcomes


@dataclass(frozen=True)
class DayOutcomes:
    """One tenant's calls of one UTC day: counts, then medians over the confirmed contacts."""

    tenant: str
    day: date
    calls: int
    with_caller_id: int  # a caller ID was captured
    confirmed: int  # a contact was confirmed (any of outcomes.CONFIRMED)
    confirmed_first_ask: int  # the caller ID, confirmed by the answer to its first question
    collected_by_voice: int  # a number collected by voice and confirmed
    way_out: int  # the tenant's way out, no contact
    unfinished: int  # the call ended before the step finished
    in_progress: int  # no outcome yet
    median_turns: float | None  # caller turns to a confirmed contact
    median_seconds: float | None  # first message to the confirmed contact

    def percent(self, count):
        """`count` as a percentage of the day's calls (one decimal)."""
        return round(100.0 * count / self.calls, 1) if self.calls else 0.0

    def as_dict(self):
        """A JSON-ready dict: the counts, the day as ISO text, and each count's percentage."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        for name in PERCENTED:
            data[f"pct_{name}"] = self.percent(getattr(self, name))
        return data


# The counts shown as percentages of the day's calls.
PERCENTED = (
    "with_caller_id",
    "confirmed_first_ask",
    "collected_by_voice",
    "way_out",
    "unfinished",
)

# The keys of `DayOutcomes.as_dict()`, in order: CSV's columns.
COLUMNS = (*DayOutcomes.__dataclass_fields__, *(f"pct_{name}" for name in PERCENTED))


def _median(values):
    return round(float(median(values)), 2) if values else None


def summarize(tenant, day, calls):
    """The DayOutcomes of one tenant's CallOutcome rows of one day."""
    counts = dict.fromkeys(outcomes.OUTCOMES, 0)
    with_caller_id, turns, seconds = 0, [], []
    for call in calls:
        with_caller_id += call.has_caller_id
        if call.outcome in counts:
            counts[call.outcome] += 1
        if call.outcome in outcomes.CONFIRMED:
            if call.turns is not None:
                turns.append(call.turns)
            if call.confirmed_at is not None:
                seconds.append((call.confirmed_at - call.created_at).total_seconds())
    total = len(calls)
    ended = sum(counts.values())
    return DayOutcomes(
        tenant=tenant,
        day=day,
        calls=total,
        with_caller_id=with_caller_id,
        confirmed=sum(counts[o] for o in outcomes.CONFIRMED),
        confirmed_first_ask=counts[outcomes.CALLER_ID_FIRST_ASK],
        collected_by_voice=sum(counts[o] for o in outcomes.COLLECTED_BY_VOICE),
        way_out=counts[outcomes.WAY_OUT],
        unfinished=counts[outcomes.UNFINISHED],
        in_progress=total - ended,
        median_turns=_median(turns),
        median_seconds=_median(seconds),
    )


def daily_outcomes(tenant_id=None, since=None, until=None):
    """[DayOutcomes] by tenant then day, for calls first seen in [since, until) (aware).

    `tenant_id`: that tenant only. Needs an app context (the database).
    """
    rows = []
    calls = call_outcomes(tenant_id, since, until)
    for (tenant, day), group in groupby(calls, key=lambda c: (c.tenant_id, c.created_at.date())):
        rows.append(summarize(tenant, day, list(group)))
    return rows
