"""The report's README.md: environments, headline ratios, per-benchmark tables beside their verdicts, plots."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from suite.bench.load import HEAVY_SHARE
from suite.bench.results import Record

from .answer_plots import jacobian_figure, strategy_cost_figure, throughput_figure
from .answers import is_unsettled
from .fmt import MISSING, fmt_bytes, fmt_ratio, fmt_time, fmt_verdict, md_escape
from .frontpage import render_front_page
from .inputs import Source
from .model import (
    GROUP_TITLES,
    STEP_PHASES,
    Baselines,
    Table,
    baseline_label,
    failing,
    failing_sizes,
    groups_present,
    headlines,
    is_baseline,
    main_table,
    not_measured,
    phase_rows,
    subject_of,
    subjects,
)
from .plots import phase_bars_figure, scaling_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SaveFigure = Callable[[str, "Figure | None"], "str | None"]

METHOD_HEADERS = {"strategy_step": "strategy", "jacobian": "method", "throughput": "operation"}
FIELD_HEADERS = {"dim": "d", "validate": "validation", "compiled": "compiled"}
ERROR_CHARS = 80
STATUS_PAGE = "status.md"
# The overview figure of a group's page; the 41 families of throughput get one bar chart, not a panel each.
GROUP_FIGURES = {"throughput": throughput_figure, "jacobian": jacobian_figure}


def page_name(group: str) -> str:
    return f"{group.replace('_', '-')}.md"

HOW_TO_READ = """\
Times are per call: the median over the timed rounds, with the interquartile range (IQR) as its spread;
the rounds are pooled from several timing passes over the run, minutes apart, each in its own process.
The median rests on the quiet passes: the fastest two whose medians agree within 5% and every pass that
agrees with them; the other passes (slowed by load on the host, or a lone pass nothing agreed with) are
set aside, kept in results.json, and the column `passes` reads "3 of 5" when two of five were. A ratio is this
configuration's median over its baseline's median in the same environment and configuration
(strategies against `rebuild_per_step`, Jacobian methods against `loop`, compiled throughput against
eager); below 1× is faster. Peak memory is tensor memory above the starting level,
measured in a pass of its own. The verdict is the correctness check of the same configuration:
✓ the results are right; **✗** they are wrong (for a strategy, `stale` means it trained on parameter
values that never changed), and its speed is then no advantage. An empty verdict means no check exists.
Cases that could not be measured (out of memory, past the time limit, unsupported, failed) are listed
under "Not measured" with the reason."""


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_size(size: int) -> str:
    exponent = len(str(size)) - 1
    return f"1e{exponent}" if size >= 1000 and size == 10 ** exponent else str(size)


def fmt_label(name: str, value: object) -> str:
    if value is None:
        return MISSING
    if name == "validate":
        return "on" if value else "off"
    if name == "compiled":
        return "yes" if value else "no"
    if name == "size":
        return fmt_size(value)
    return md_escape(str(value))


def field_header(group: str, name: str) -> str:
    if name == "method":
        return METHOD_HEADERS.get(group, "method")
    return FIELD_HEADERS.get(name, name)


def status_text(record: Record) -> str:
    if record.status == "oom":
        return "**out of memory**"
    if record.status == "unsupported":
        return "unsupported"
    if record.status == "timeout":
        return "**timed out**"
    error = (record.error or "").strip().splitlines()
    first = error[0] if error else ""
    if len(first) > ERROR_CHARS:
        first = first[:ERROR_CHARS - 1] + "…"
    return f"**{record.status}**" + (f": {md_escape(first)}" if first else "")


def slug(*parts: object) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(str(p) for p in parts if p not in (None, "")).lower()).strip("-")


def passes_text(record: Record) -> str:
    """How many timing passes the median rests on, and of how many when some were set aside."""
    if not record.passes:
        return ""
    unsettled = ", unsettled" if record.unsettled else ""
    if not record.set_aside_passes:
        return f"{record.passes}{unsettled}"
    return f"{record.passes} of {record.passes + record.set_aside_passes}{unsettled}"


def provenance_lines(sources: Sequence[Source]) -> list[str]:
    """Which tiers the records come from, when they were measured, and a warning for records measured
    under heavy load (suite.bench.load)."""
    records = [r for s in sources for r in s.results.records]
    tiers = Counter(r.tier for r in records if r.tier)
    dates = sorted({r.measured_at[:10] for r in records if r.measured_at})
    unrecorded = len(records) - sum(tiers.values())
    parts = [f"{n} of the {tier} tier" for tier, n in sorted(tiers.items())]
    if unrecorded:
        parts.append(f"{unrecorded} measured before records carried their tier and date")
    lines = ["Measurements: " + "; ".join(parts)
             + (f"; measured {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "") if dates else "") + "."]
    heavy = [r for r in records if r.cpu_share is not None and r.cpu_share < HEAVY_SHARE]
    if heavy:
        lines.append(f"**Measured under heavy load: {len(heavy)} of {len(records)} records** come from runs whose "
                     f"process got less than {HEAVY_SHARE:.0%} of a core (lowest "
                     f"{min(r.cpu_share for r in heavy):.0%}); their timings may be slow and noisy.")
    unsettled = sum(bool(r.unsettled) for r in records)
    if unsettled:
        lines.append(f"{unsettled} records are unsettled (their timing passes never agreed, or the time budget "
                     "ended them early): the passes column says so.")
    return lines


class ReportWriter:
    """Builds the Markdown of one report; figures go through `save`, which returns their relative path."""

    def __init__(self, sources: Sequence[Source], save: SaveFigure, findings_link: str | None):
        self.sources = list(sources)
        self.save = save
        self.findings_link = findings_link
        self.baselines = [Baselines(s.results.records) for s in self.sources]
        self.merged = len(self.sources) > 1

    def env_suffix(self, i: int) -> str:
        return f" ({self.sources[i].label})" if self.merged else ""

    def render(self) -> dict[str, str]:
        """The report's pages by file name: README.md (the answers), one page per group, status.md."""
        pages = {page_name(group): self.group_page(group) for group in groups_present(self.sources)}
        pages[STATUS_PAGE] = "\n\n".join(p for p in (
            "# Environments, wrong results and what was not measured", self.environments(),
            self.wrong_section(), self.failure_section(), self.headline_section(),
            f"## How to read the tables\n\n{HOW_TO_READ}") if p) + "\n"
        links = {group: page_name(group) for group in groups_present(self.sources)}
        pages["README.md"] = render_front_page(self.sources, self.findings_link, links, self.answer_figures(),
                                               self.details_index(), provenance_lines(self.sources))
        return pages

    def answer_figures(self) -> list[str]:
        figures = []
        for name, draw, group, title in (
                ("answer-strategies", strategy_cost_figure, "strategy_step", "Training step relative to rebuild"),
                ("answer-jacobian", jacobian_figure, "jacobian", "Jacobian methods relative to the fastest")):
            figures += self.figures(name, draw, lambda r, g=group: r.group == g, title, by_dim=False)
        return figures

    def details_index(self) -> str:
        rows = [f"- [{GROUP_TITLES.get(group, group)}]({page_name(group)})" for group in groups_present(self.sources)]
        n_wrong = sum(len(failing(s)) for s in self.sources)
        n_missing = sum(len(not_measured(s)) for s in self.sources)
        rows.append(f"- [Environments, wrong results ({n_wrong} configurations) and not measured ({n_missing})]"
                    f"({STATUS_PAGE}); how to read the tables")
        return "## Details\n\n" + "\n".join(rows) + "\n\n" + self.findings()

    def group_page(self, group: str) -> str:
        body = self.group_section(group)
        return (body.replace("## ", "# ", 1) + f"\n\n[How to read these tables]({STATUS_PAGE}#how-to-read-the-tables)"
                " · [back to the answers](README.md)\n")

    def environments(self) -> str:
        fields = list(asdict(self.sources[0].results.environment))
        headers = ["", *(s.label for s in self.sources)] if self.merged else ["", "value"]
        rows = []
        for name in fields:
            values = [getattr(s.results.environment, name) for s in self.sources]
            rows.append([name, *(md_escape(str(v)) if v is not None else MISSING for v in values)])
        return "## Environments\n\n" + table(headers, rows)

    def headline_section(self) -> str:
        per_env = [headlines(s) for s in self.sources]
        labels = list(dict.fromkeys(label for h in per_env for label in h))
        if not labels:
            return ""
        rows = []
        for label in sorted(labels):
            cells = []
            for h in per_env:
                item = h.get(label)
                cells.append(MISSING if item is None else
                             f"{fmt_ratio(item.mean)} ({fmt_ratio(item.low)}–{fmt_ratio(item.high)}, n={item.count})")
            rows.append([md_escape(label), *cells])
        headers = ["comparison", *(s.label for s in self.sources)] if self.merged else ["comparison", "ratio"]
        return ("## Headline ratios\n\nGeometric mean of the time ratio over every size and family measured, "
                "with its range and the number of configurations (whole calls only).\n\n" + table(headers, rows))

    def wrong_section(self) -> str:
        rows = []
        for i, source in enumerate(self.sources):
            for r in failing(source):
                sizes = ", ".join(fmt_size(size) for size in failing_sizes(source, r))
                rows.append([*([source.label] if self.merged else []), r.group, md_escape(r.family or MISSING),
                             MISSING if r.dim is None else str(r.dim), md_escape(r.method), sizes,
                             fmt_label("validate", r.validate), r.device, r.dtype, fmt_verdict(r.verdict)])
        if not rows:
            return ""
        headers = [*(["env"] if self.merged else []), "group", "family", "d", "strategy or method", "sizes",
                   "validation", "device", "dtype", "verdict"]
        return ("## Wrong results\n\nThese configurations fail their correctness check at every size listed; "
                "their timings on the detail pages carry the same mark.\n\n" + table(headers, rows))

    def failure_section(self) -> str:
        rows = []
        for source in self.sources:
            for r in not_measured(source):
                rows.append([*([source.label] if self.merged else []), md_escape(r.case_id),
                             md_escape(r.phase or MISSING), status_text(r)])
        if not rows:
            return ""
        headers = [*(["env"] if self.merged else []), "case", "phase", "status"]
        return "## Not measured\n\n" + table(headers, rows)

    def group_section(self, group: str) -> str:
        parts = [f"## {GROUP_TITLES.get(group, group)}"]
        draw = GROUP_FIGURES.get(group, scaling_figure)
        parts += self.figures(f"{draw.__name__.removesuffix('_figure')}-{group}", draw,
                              lambda r: r.group == group, GROUP_TITLES.get(group, group), by_dim=False)
        names = subjects(self.sources, group)
        for subject in names:
            parts.append(self.subject_section(group, subject, heading=names != ["all"]))
        return "\n\n".join(p for p in parts if p)

    def figures(self, name: str, draw: Callable[[list[Record], str], Figure | None],
                keep: Callable[[Record], bool], title: str, by_dim: bool) -> list[str]:
        """One figure per environment, device, dtype (and dim when asked); Markdown image links."""
        links = []
        for i, source in enumerate(self.sources):
            chosen = [r for r in source.results.records if keep(r)]
            combos = dict.fromkeys((r.device, r.dtype, r.dim if by_dim else None) for r in chosen)
            for device, dtype, dim in combos:
                part = [r for r in chosen if (r.device, r.dtype) == (device, dtype) and (not by_dim or r.dim == dim)]
                caption = ", ".join(p for p in (title if dim is None else f"{title} d={dim}", device, dtype,
                                                source.label) if p)
                path = self.save(slug(name, dim if by_dim else None, device, dtype, source.label) + ".svg",
                                 draw(part, caption))
                if path:
                    links.append(f"![{md_escape(caption)}]({path})")
        return links

    def subject_section(self, group: str, subject: str, heading: bool = True) -> str:
        main = main_table(self.sources, group, subject)
        parts = [f"### {md_escape(subject)}"] if heading else []
        if main.constants:
            parts.append(" · ".join(f"{field_header(group, k)} {fmt_label(k, v)}" for k, v in main.constants.items()))
        parts.append(self.main_markdown(main))
        phases = self.phase_markdown(group, subject, main)
        if phases:
            parts.append(phases)
            parts += self.figures(f"phases-{group}-{subject}", phase_bars_figure,
                                  lambda r: r.group == group and subject_of(r) == subject,
                                  f"{subject}: time per phase", by_dim=True)
        return "\n\n".join(parts)

    def measurement_columns(self, main: Table) -> list[str]:
        records = [r for row in main.rows for r in row.records]
        timed = any(r.median_s is not None or r.status != "ok" for r in records)
        columns = ["median", "IQR"] if timed else []
        if timed and baseline_label(main.group) and any(not is_baseline(r) for r in records):
            columns.append(f"vs {baseline_label(main.group)}")
        if any(r.peak_bytes is not None for r in records):
            columns.append("peak memory")
        if any(r.rounds for r in records):
            columns.append("rounds")
        if any(r.passes for r in records):
            columns.append("passes")
        if any(r.verdict is not None for r in records):
            columns.append("verdict")
        return columns

    def measurement_cells(self, record: Record | None, i: int, columns: Sequence[str]) -> dict[str, str]:
        if record is None:
            return {c: (MISSING if j == 0 else "") for j, c in enumerate(columns)}
        ok = record.status == "ok"
        ratio = self.baselines[i].ratio(record)
        values = {
            "median": (fmt_time(record.median_s) + (" ≈" if is_unsettled(record) else "")) if ok
            else status_text(record),
            "IQR": fmt_time(record.iqr_s) if ok and record.median_s is not None else "",
            "peak memory": fmt_bytes(record.peak_bytes) if record.peak_bytes is not None else "",
            "rounds": str(record.rounds) if record.rounds else "",
            "passes": passes_text(record),
            "verdict": fmt_verdict(record.verdict),
        }
        return {c: values.get(c, fmt_ratio(ratio) if ratio is not None else "") for c in columns}

    def merged_cell(self, cells: dict[str, str]) -> str:
        """Several measurement columns in one cell: 'median ± IQR · ratio · peak · verdict'."""
        parts = []
        for name, value in cells.items():
            if name in ("IQR", "rounds", "passes") or not value:
                continue
            parts.append(value + (f" ± {cells['IQR']}" if name == "median" and cells.get("IQR") else ""))
        return " · ".join(parts) or MISSING

    def main_markdown(self, main: Table) -> str:
        labels = [field_header(main.group, f) for f in main.label_fields]
        columns = self.measurement_columns(main)
        rows = []
        for row in main.rows:
            label_cells = [fmt_label(f, getattr(row.example, f)) for f in main.label_fields]
            if not self.merged:
                rows.append(label_cells + list(self.measurement_cells(row.cells[0], 0, columns).values()))
            else:
                rows.append(label_cells + [self.merged_cell(self.measurement_cells(record, i, columns))
                                           for i, record in enumerate(row.cells)])
        if not self.merged:
            return table(labels + columns, rows)
        shown = [("median ± IQR" if c == "median" else c) for c in columns if c not in ("IQR", "rounds", "passes")]
        return (f"Each cell: {' · '.join(shown)}.\n\n"
                + table(labels + [s.label for s in self.sources], rows))

    def phase_markdown(self, group: str, subject: str, main: Table) -> str:
        entries = phase_rows(self.sources, group, subject)
        if not entries:
            return ""
        present = [p for p in STEP_PHASES if any(p in cells for _, cells in entries)]
        label_fields = [f for f in main.label_fields if f != "phase"]
        rows = []
        for row, by_phase in entries:
            for i, source in enumerate(self.sources):
                records = {p: by_phase.get(p, [None] * len(self.sources))[i] for p in present}
                if not any(records.values()):
                    continue
                times = {p: r.median_s for p, r in records.items() if r and r.status == "ok" and r.median_s}
                whole = sum(times.values())
                cells = []
                for p in present:
                    r = records[p]
                    if r is None:
                        cells.append(MISSING)
                    elif r.status != "ok":
                        cells.append(status_text(r))
                    else:
                        share = f" ({100 * times[p] / whole:.0f}%)" if p in times and whole else ""
                        cells.append(fmt_time(r.median_s) + share)
                verdict = next((fmt_verdict(r.verdict) for r in records.values() if r and r.verdict), "")
                rows.append([fmt_label(f, getattr(row.example, f)) for f in label_fields]
                            + ([source.label] if self.merged else []) + cells + [verdict])
        headers = ([field_header(group, f) for f in label_fields] + (["env"] if self.merged else [])
                   + list(present) + ["verdict"])
        return "Time per phase of one call (median, share of the phases' sum):\n\n" + table(headers, rows)

    def findings(self) -> str:
        if self.findings_link:
            text = ("The torch disagreements the correctness suite found, by severity: "
                    f"[FINDINGS.md]({self.findings_link}).")
        else:
            text = "No findings document accompanies this report."
        return "## Findings\n\n" + text


def render_markdown(sources: Sequence[Source], save: SaveFigure, findings_link: str | None) -> dict[str, str]:
    return ReportWriter(sources, save, findings_link).render()
