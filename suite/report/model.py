"""Rows of a report: records matched across environments, grouped into tables, with ratios to a baseline."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from suite.bench.results import GROUPS, PHASES, Record

from .fmt import verdict_passes
from .inputs import Source

# The configuration every ratio in a group is taken against, within the same environment.
BASELINES: dict[str, tuple[str, object]] = {
    "strategy_step": ("method", "rebuild_per_step"),
    "jacobian": ("method", "loop"),
    "throughput": ("compiled", False),
}
GROUP_TITLES = {
    "strategy_step": "Training step per strategy",
    "jacobian": "Jacobian methods",
    "throughput": "Throughput of log_prob, rsample and sample",
    "memory_probe": "Memory probes",
}
DESCRIPTIVE_FIELDS = ("group", "family", "method", "phase", "device", "dtype", "size", "dim", "validate", "compiled")
LABEL_FIELDS = ("device", "dtype", "dim", "size", "method", "validate", "compiled")
TOTAL_PHASES = ("total", None)
STEP_PHASES = tuple(p for p in PHASES if p not in TOTAL_PHASES)

RowKey = tuple


def row_key(record: Record) -> RowKey:
    """What makes two records, in two environments or two runs, the same measurement."""
    return (record.case_id, *(getattr(record, f) for f in DESCRIPTIVE_FIELDS))


def baseline_label(group: str) -> str | None:
    spec = BASELINES.get(group)
    if spec is None:
        return None
    name, value = spec
    return str(value) if name == "method" else {False: "eager", True: "compiled"}.get(value, f"{name}={value}")


def _baseline_match(record: Record, exclude: str) -> tuple:
    return tuple(getattr(record, f) for f in DESCRIPTIVE_FIELDS if f != exclude)


class Baselines:
    """The baseline record of each record's configuration in one environment, and the ratio to it."""

    def __init__(self, records: Iterable[Record]):
        self._index: dict[tuple, Record] = {}
        for record in records:
            spec = BASELINES.get(record.group)
            if spec and getattr(record, spec[0]) == spec[1]:
                self._index[(record.group, _baseline_match(record, spec[0]))] = record

    def of(self, record: Record) -> Record | None:
        spec = BASELINES.get(record.group)
        if spec is None:
            return None
        return self._index.get((record.group, _baseline_match(record, spec[0])))

    def ratio(self, record: Record) -> float | None:
        base = self.of(record)
        if base is None or record.status != "ok" or base.status != "ok":
            return None
        if not record.median_s or not base.median_s:
            return None
        return record.median_s / base.median_s


def _none_last(value: object) -> tuple:
    return (value is None, value if value is not None else 0)


def sort_key(record: Record) -> tuple:
    spec = BASELINES.get(record.group)
    is_baseline = bool(spec and getattr(record, spec[0]) == spec[1])
    return (record.device, record.dtype, _none_last(record.dim), record.size, not is_baseline, record.method,
            _none_last(record.validate), _none_last(record.compiled), PHASES.index(record.phase))


@dataclass
class Row:
    key: RowKey
    example: Record
    cells: list[Record | None]

    @property
    def records(self) -> list[Record]:
        return [c for c in self.cells if c is not None]


@dataclass
class Table:
    group: str
    subject: str
    rows: list[Row]
    label_fields: list[str] = field(default_factory=list)
    constants: dict[str, object] = field(default_factory=dict)


def subject_of(record: Record) -> str:
    return record.family if record.family is not None else "all"


def _rows(sources: Sequence[Source], keep: Callable[[Record], bool]) -> list[Row]:
    rows: dict[RowKey, Row] = {}
    for i, source in enumerate(sources):
        for record in source.results.records:
            if not keep(record):
                continue
            row = rows.get(row_key(record))
            if row is None:
                row = rows[row_key(record)] = Row(row_key(record), record, [None] * len(sources))
            row.cells[i] = record
    return sorted(rows.values(), key=lambda r: sort_key(r.example))


def _describe(group: str, subject: str, rows: list[Row]) -> Table:
    label_fields, constants = [], {}
    for name in LABEL_FIELDS:
        values = {getattr(r, name) for row in rows for r in row.records}
        if len(values) > 1:
            label_fields.append(name)
        elif values and next(iter(values)) is not None:
            constants[name] = next(iter(values))
    return Table(group, subject, rows, label_fields, constants)


def groups_present(sources: Sequence[Source]) -> list[str]:
    present = {r.group for s in sources for r in s.results.records}
    return [g for g in GROUPS if g in present]


def subjects(sources: Sequence[Source], group: str) -> list[str]:
    seen: dict[str, None] = {}
    for record in sorted((r for s in sources for r in s.results.records if r.group == group),
                         key=lambda r: (r.family is None, r.family or "")):
        seen.setdefault(subject_of(record), None)
    return list(seen)


def main_table(sources: Sequence[Source], group: str, subject: str) -> Table:
    """Whole-call rows (phase total or none); when a subject has only per-phase records, those instead."""
    def mine(r: Record) -> bool:
        return r.group == group and subject_of(r) == subject

    rows = _rows(sources, lambda r: mine(r) and r.phase in TOTAL_PHASES)
    if not rows:
        rows = _rows(sources, mine)
    table = _describe(group, subject, rows)
    if any(r.phase not in TOTAL_PHASES for row in rows for r in row.records):
        table.label_fields.append("phase")
    return table


def phase_rows(sources: Sequence[Source], group: str, subject: str) -> list[tuple[Row, dict[str, list]]]:
    """Per configuration, the per-phase records of each environment: [(total-or-first row, {phase: cells})]."""
    def mine(r: Record) -> bool:
        return r.group == group and subject_of(r) == subject and r.phase in STEP_PHASES

    by_config: dict[tuple, tuple[Row, dict[str, list]]] = {}
    for row in _rows(sources, mine):
        config = tuple(getattr(row.example, f) for f in DESCRIPTIVE_FIELDS if f != "phase")
        entry = by_config.setdefault(config, (row, {}))
        entry[1][row.example.phase] = row.cells
    return list(by_config.values())


def geometric_mean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclass(frozen=True)
class Headline:
    """A summary ratio: geometric mean over matching configurations, with its range and count."""

    label: str
    mean: float
    low: float
    high: float
    count: int


def _summarise(label: str, ratios: list[float]) -> Headline | None:
    ratios = [r for r in ratios if r > 0 and math.isfinite(r)]
    if not ratios:
        return None
    return Headline(label, geometric_mean(ratios), min(ratios), max(ratios), len(ratios))


def headlines(source: Source) -> dict[str, Headline]:
    """Per method, the ratio to its group's baseline; per strategy, validation on against off."""
    records = [r for r in source.results.records if r.phase in TOTAL_PHASES and r.status == "ok" and r.median_s]
    baselines = Baselines(records)
    out: dict[str, Headline] = {}
    buckets: dict[str, list[float]] = {}
    for r in records:
        spec = BASELINES.get(r.group)
        if spec is None or getattr(r, spec[0]) == spec[1]:
            continue
        ratio = baselines.ratio(r)
        if ratio is None:
            continue
        what = r.method if spec[0] == "method" else f"{r.method} compiled"
        if r.group == "strategy_step" and r.validate is not None:
            what += ", validation on" if r.validate else ", validation off"
        buckets.setdefault(f"{what} vs {baseline_label(r.group)}", []).append(ratio)
    off = {_baseline_match(r, "validate"): r for r in records if r.validate is False}
    for r in records:
        partner = off.get(_baseline_match(r, "validate")) if r.validate else None
        if partner is not None and partner.median_s:
            label = f"validation on vs off: {r.group} {r.method}"
            buckets.setdefault(label, []).append(r.median_s / partner.median_s)
    for label, ratios in buckets.items():
        summary = _summarise(label, ratios)
        if summary is not None:
            out[label] = summary
    return out


def failing(source: Source) -> list[Record]:
    """Records whose correctness verdict fails, one per configuration apart from size and phase."""
    seen: dict[tuple, Record] = {}
    for r in source.results.records:
        if verdict_passes(r.verdict) is False:
            config = tuple(getattr(r, f) for f in DESCRIPTIVE_FIELDS if f not in ("size", "phase"))
            seen.setdefault(config + (r.verdict,), r)
    return sorted(seen.values(), key=sort_key)


def failing_sizes(source: Source, example: Record) -> list[int]:
    """Every size at which `example`'s configuration (apart from size and phase) fails with its verdict."""
    config = tuple(getattr(example, f) for f in DESCRIPTIVE_FIELDS if f not in ("size", "phase"))
    return sorted({r.size for r in source.results.records if r.verdict == example.verdict
                   and tuple(getattr(r, f) for f in DESCRIPTIVE_FIELDS if f not in ("size", "phase")) == config})


def is_baseline(record: Record) -> bool:
    spec = BASELINES.get(record.group)
    return bool(spec and getattr(record, spec[0]) == spec[1])


def not_measured(source: Source) -> list[Record]:
    return sorted((r for r in source.results.records if r.status != "ok"), key=sort_key)
