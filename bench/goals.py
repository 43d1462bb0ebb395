"""Issue 15's targets judged from one run of ``bench/run.py``, and where a missed one is explained.

Every item of the issue is one row of the report's first table: a number with its target
(**met** / **missed**), or a measurement the issue asks for without a number ("measured"), or
why the run could not judge it (n/a). A missed target links the docs/performance.md section
that holds its profile and says what limits it (``LIMITS``); tests/unit/test_bench_goals.py
checks that every linked heading exists, so a renamed section cannot leave a dead link.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: docs/performance.md as linked from bench/results/report.md
PERFORMANCE_DOC = "../../docs/performance.md"
#: the list of every missed target, linked when a target has no section of its own
HUB = "Targets not met yet, and what limits them"
#: goal key -> the docs/performance.md heading with its profile and what limits it
LIMITS = {
    "flat": "Cost as data grows (storage options)",
    "capture": "Capture, session 6 (2026-11-30)",
    "request": "Request path, session 6 (2026-11-30)",
    "drain": "Drain, session 6 (2026-11-30)",
    "idle_rss": "Idle memory (issue 15 item 4)",
}

#: row key -> (test on tidestream's metric dict, text); the Results table's target column too
TARGETS: dict[str, tuple[Callable[[dict], bool], str]] = {
    "PutItem": (lambda m: m["value"] >= 13_000, ">= 13,000"),
    "PutItem+CDC": (lambda m: m["value"] >= 9_500, ">= 9,500"),
    "GetItem": (lambda m: m["value"] >= 18_000, ">= 18,000"),
    "Query": (lambda m: m["value"] >= 5_000, ">= 5,000"),
    "PutRecords": (lambda m: m["value"] >= 100_000, ">= 100,000"),
    "drain": (lambda m: m["value"] >= 250_000, ">= 250,000"),
    "cdc_latency": (lambda m: m["p99_ms"] <= 10, "p99 <= 10 at 1,000 writes/s"),
    "startup_s": (lambda m: m["value"] <= 0.3, "<= 0.3"),
    "idle_rss": (lambda m: m["value"] <= 40, "<= 40"),
    "rss_100k": (lambda m: m["value"] <= 80, "<= 80"),
}
#: (label, tidestream row, peer, peer row, minimum ratio); capture may cost at most +25%, so a
#: captured PutItem must reach 1 / 1.25 = 0.8 of a plain one in the same run
RATIO_TARGETS = [
    ("PutItem with capture vs plain PutItem (same run)", "PutItem+CDC", "tidestream", "PutItem", 0.8),
    ("PutItem with capture vs dynalite PutItem", "PutItem+CDC", "dynalite", "PutItem", 2.5),
    ("PutRecords vs kinesalite PutRecords", "PutRecords", "kinesalite", "PutRecords", 10.0),
]
#: issue 15 item 0: these stay within 20% of their rate at the smallest table, up to 1M items
FLAT_WORKLOADS = ("GetItem", "Query", "PutItem")
FLAT_SIZE = 1_000_000
CDC_RATE = 1000
BIG_STREAM = 10_000_000

MET, MISSED, MEASURED = "**met**", "**missed**", "measured"
#: (measured text, verdict)
Judged = tuple[str, str]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def limits_link(key: str) -> str:
    heading = LIMITS.get(key, HUB)
    return f"[what limits it]({PERFORMANCE_DOC}#{slug(heading)})"


@dataclass(frozen=True)
class Goal:
    item: str  # issue 15's item number
    what: str
    target: str
    judge: Callable[[dict], Judged]  # the run's raw results -> (measured, verdict)
    limits: str = ""  # LIMITS key, when the target can be missed


# -- formatting -----------------------------------------------------------------------------------
def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _show(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "n/a"
    if m.get("unit") == "ms":
        return f"p50 {m['p50_ms']:.2f} / p99 {m['p99_ms']:.2f} ms"
    return f"{_num(m['value'])} {m.get('unit', '')}".strip()


def _absent(m: dict | None) -> str:
    return f"n/a: {m['na']}" if m and m.get("na") else "not run"


def _rows(raw: dict, server: str = "tidestream") -> dict:
    return raw["results"].get(server, {})


def _curve(rows: dict, prefix: str, what: str) -> dict[str, dict]:
    """``tag -> metric`` of the rows ``<prefix><what>@<tag>``, in the run's order."""
    head = f"{prefix}{what}@"
    return {k[len(head) :]: m for k, m in rows.items() if k.startswith(head)}


# -- judges ---------------------------------------------------------------------------------------
def row(key: str) -> Callable[[dict], Judged]:
    """A row of the Results table against its TARGETS entry."""
    test = TARGETS[key][0]

    def judge(raw: dict) -> Judged:
        m = _rows(raw).get(key)
        if not m or m.get("value") is None:
            return _absent(m), "n/a"
        return _show(m), MET if test(m) else MISSED

    return judge


def cdc_latency(raw: dict) -> Judged:
    """The p99 target holds at 1,000 writes/s; another rate is shown, not judged."""
    shown, verdict = row("cdc_latency")(raw)
    rate = raw["meta"]["sizes"].get("cdc_rate")
    if verdict != "n/a" and rate != CDC_RATE:
        return f"{shown} at {rate} writes/s", f"n/a: measured at {rate} writes/s"
    return shown, verdict


def ratio(label: str) -> Callable[[dict], Judged]:
    """A RATIO_TARGETS entry: two rows of the same run."""
    _, trow, peer, prow, need = next(t for t in RATIO_TARGETS if t[0] == label)

    def judge(raw: dict) -> Judged:
        a = _rows(raw).get(trow, {}).get("value")
        b = _rows(raw, peer).get(prow, {}).get("value")
        if a is None or not b:
            return "not run", "n/a"
        return f"{_num(a)} / {_num(b)} = {a / b:.2f}x", MET if a / b >= need else MISSED

    return judge


def flat(what: str) -> Callable[[dict], Judged]:
    """Issue 15 item 0: the rate at the largest table over the smallest's, as the median of the
    scaling phase's alternating runs (``flat:<what>``, bench/scaling.py ``_paired``) when the
    run has them; the curve's single runs (lowest larger size, restarted too) are shown beside."""

    def judge(raw: dict) -> Judged:
        rows = _rows(raw)
        cells = _curve(rows, "scale:", what)
        tags = [t for t, m in cells.items() if m.get("value")]
        paired = rows.get(f"flat:{what}") or {}
        if len(tags) < 2:
            return "not run", "n/a"
        base = cells[tags[0]]["value"]
        worst = min(tags[1:], key=lambda t: cells[t]["value"])
        ratio = cells[worst]["value"] / base
        shown = f"{ratio:.0%} at {worst} ({_num(cells[worst]['value'])} vs {_num(base)} at {tags[0]})"
        if paired.get("value") is not None:
            ratio = paired["value"]
            shown = f"{ratio:.0%}: {paired['note']}; single runs of the curve: lowest {shown}"
        largest = max(raw["meta"]["sizes"].get("scale") or [0])
        if largest < FLAT_SIZE:
            return shown, f"n/a: largest table {largest:,} items (target at {FLAT_SIZE:,})"
        return shown, MET if ratio >= 0.8 else MISSED

    return judge


def curve(prefix: str, what: str, keep: Callable[[str], bool] = lambda tag: True) -> Callable[[dict], Judged]:
    """Every point of one curve whose tag passes *keep*, e.g. PutItem with capture at 10k / 100k / 1M items."""

    def judge(raw: dict) -> Judged:
        cells = {tag: m for tag, m in _curve(_rows(raw), prefix, what).items() if keep(tag)}
        shown = [f"{tag}: {_show(m)}" for tag, m in cells.items() if m.get("value") is not None]
        if not shown:
            return _absent(next(iter(cells.values()), None)), "n/a"
        return " · ".join(shown), MEASURED

    return judge


def big_stream(raw: dict) -> Judged:
    """Issue 15 item 6: GetRecords, PutRecords and RSS on the largest stream of the run."""
    rows = _rows(raw)
    sizes = raw["meta"]["sizes"].get("stream_records") or [0]
    tag = _stream_tag(max(sizes))
    cells = {k.split(":", 1)[1].split("@")[0]: m for k, m in rows.items() if k.endswith(f"@{tag}")}
    if not cells:
        return "not run", "n/a"
    shown = " · ".join(f"{what}: {_show(m)}" for what, m in cells.items())
    if max(sizes) < BIG_STREAM:
        return f"at {tag}: {shown}", f"measured at {tag} (full run: 10M)"
    return shown, MEASURED


def _by_shards(tag: str) -> bool:
    """The streams phase's shard-count tags ("16 shards"), not its stream sizes ("10M records")."""
    return not tag.endswith(" records")


def _stream_tag(n: int) -> str:
    """streams.py's tag of a stream size."""
    return (f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k") + " records"


def measured(*specs: tuple[str, str, str]) -> Callable[[dict], Judged]:
    """Rows shown side by side without a target: (server, row key, label)."""

    def judge(raw: dict) -> Judged:
        got = [(label, _rows(raw, server).get(key)) for server, key, label in specs]
        if not got[0][1] or got[0][1].get("value") is None:
            return _absent(got[0][1]), "n/a"
        return " · ".join(f"{label}: {_show(m)}" for label, m in got if m), MEASURED

    return judge


def cluster(raw: dict) -> Judged:
    """Issue 15 item 5: the cluster phase's configurations, GetItem and PutItem per core-second."""
    rows = _rows(raw)
    parts = []
    for what in ("GetItem", "PutItem"):
        cells = _curve(rows, "cluster:", what)
        if cells:
            parts.append(f"{what} " + " / ".join(_with_wall(m) for m in cells.values()))
    if not parts:
        return _absent(rows.get("cluster")), "n/a"
    configs = list(_curve(rows, "cluster:", "GetItem"))
    return "; ".join(parts) + f" calls/core-s (wall-clock calls/s); {' / '.join(configs)}", MEASURED


def _with_wall(m: dict) -> str:
    """Per core-second, and per wall-clock second: what three nodes add shows in the second."""
    wall = m.get("per_s")
    return _num(m.get("value")) + (f" ({_num(wall)}/s)" if wall else "")


GOALS: list[Goal] = [
    *(
        Goal(
            "0",
            f"{w} at 1M items vs 10k (medians of alternating runs in one server)",
            ">= 80% of its 10k rate",
            flat(w),
            "flat",
        )
        for w in FLAT_WORKLOADS
    ),
    Goal("0", "Memory as the table grows (RSS)", "bounded, stated", curve("scale:", "rss")),
    Goal("1", "PutItem with capture", ">= 9,500 calls/core-s", row("PutItem+CDC"), "capture"),
    Goal(
        "1",
        "Capture cost: PutItem with capture / plain PutItem, same run",
        ">= 0.8x (at most +25%)",
        ratio("PutItem with capture vs plain PutItem (same run)"),
        "capture",
    ),
    Goal(
        "1",
        "CDC latency, PutItem ack -> GetRecords",
        "p99 <= 10 ms at 1,000 writes/s",
        cdc_latency,
        "capture",
    ),
    Goal("2", "GetItem", ">= 18,000 calls/core-s", row("GetItem"), "request"),
    Goal("2", "PutItem", ">= 13,000 calls/core-s", row("PutItem"), "request"),
    Goal("3", "GetRecords drain, one consumer", ">= 250,000 records/s", row("drain"), "drain"),
    Goal(
        "3",
        "SubscribeToShard delivery and ack -> event latency",
        "measured the same way",
        measured(
            ("tidestream", "SubscribeToShard", "delivery"), ("tidestream", "subscribe_latency", "latency")
        ),
    ),
    Goal("4", "Idle RSS", "<= 40 MiB", row("idle_rss"), "idle_rss"),
    Goal(
        "5",
        "Consumer runtime (KCL-compatible worker) vs a plain GetRecords loop",
        "measured, with a peer",
        measured(
            ("tidestream", "consumer:Worker", "worker"),
            ("tidestream", "consumer:GetRecords loop", "loop"),
            ("tidestream", "consumer:failover", "failover"),
        ),
    ),
    Goal(
        "5",
        "Lambda event source mapping: records/s and PutItem ack -> invocation",
        "measured, with a peer",
        measured(
            ("tidestream", "lambda_rps", "tidestream"),
            ("tidestream", "lambda_latency", "latency"),
            ("ministack", "lambda_rps", "MiniStack"),
            ("ministack", "lambda_latency", "latency"),
        ),
    ),
    Goal(
        "5",
        "Cluster mode: 1 node RocksDB / 1 node PostgreSQL / 3 nodes (PostgreSQL's CPU counted)",
        "measured",
        cluster,
    ),
    Goal("6", "PutItem with capture at every table size", "curve", curve("scale:", "PutItem with capture")),
    Goal("6", "PutRecords by shard count", "curve", curve("streams:", "PutRecords", _by_shards)),
    Goal("6", "A stream holding 10M records: reads, writes, RSS", "curve", big_stream),
]


def render(raw: dict) -> list[str]:
    """The report's first table: every item of issue 15 with its target and status."""
    out = [
        "## Issue 15: every target of this run\n",
        "Met / missed for a number the issue sets; *measured* where it asks for a measurement "
        "without a number; a missed target links the section of docs/performance.md with its "
        "profile and what limits it. Details in the tables below.\n",
        "| Item | What | Target | Measured | Status |",
        "|---|---|---|---|---|",
    ]
    for goal in GOALS:
        shown, verdict = goal.judge(raw)
        if verdict == MISSED:
            verdict += " — " + limits_link(goal.limits)
        out.append(f"| {goal.item} | {goal.what} | {goal.target} | {_cell(shown)} | {_cell(verdict)} |")
    out.append("")
    return out


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")
