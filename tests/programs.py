"""Program documents and rosters that more than one test module drives (one copy of each)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

BACKDATE_DAYS = 10

# Sums (capped), a `latest` value averaged over the team's headcount, a target metric averaged over contributors,
# and a running total carried across periods.
PROGRAM_SUMS: dict[str, Any] = {
    "name": "Sums and means",
    "timezone": "UTC",
    "period": "week",
    "backdate_days": BACKDATE_DAYS,
    "metrics": [
        {"key": "calls", "points": {"per_unit": 1, "cap": 60}, "team_rollup": "sum"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean", "mean_over": "headcount"},
        {
            "key": "revenue",
            "points": {"target": 20000, "target_points": 40, "cap": 80},
            "team_rollup": "mean",
            "mean_over": "contributors",
        },
        {"key": "training", "period_aggregate": "ignore_period", "points": {"per_unit": 5}, "team_rollup": "mean"},
    ],
}
# A rank-based program: a lower-is-better `relative` metric, applied at read time from everyone's values.
PROGRAM_RELATIVE: dict[str, Any] = {
    "name": "Relative",
    "timezone": "UTC",
    "period": "week",
    "ties": "dense",
    "backdate_days": BACKDATE_DAYS,
    "metrics": [
        {"key": "calls", "team_rollup": "sum"},
        {
            "key": "response",
            "period_aggregate": "average",
            "order": "asc",
            "method": "relative",
            "points": {"per_unit": 0.5},
            "team_rollup": "mean",
            "mean_over": "contributors",
        },
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean", "mean_over": "headcount"},
    ],
}
# What a participant may send for each metric above.
VALUES = {
    "calls": st.integers(0, 30),
    "nps": st.integers(-100, 100),
    "revenue": st.sampled_from([0, 2500, 7500, 20000, 45000]),
    "training": st.integers(0, 4),
    "response": st.integers(1, 120),
}

# The smallest cascade: two metrics, three teams in two divisions.
SPRINT: dict[str, Any] = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "period": "week",
    "metrics": [{"key": "calls"}, {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"}],
}
SPRINT_ROSTER = (
    "id,name,email,team,division\nann,Ann,,Red,North\nbob,Bob,,Red,North\ncy,Cy,,Blue,North\ndi,Di,,Green,South\n"
)

# The fields of a board row that stored standings and the domain's scorebook must agree on.
STANDING_FIELDS = ("rank", "id", "name", "points", "metrics", "headcount")
