"""Two runs compared case by case; a change is flagged only when a Mann-Whitney U test on the samples says so.

Each case's per-round samples of the base and the new run are compared with a two-sided Mann-Whitney U
test (as asv does), and the p-values of all cases together are adjusted with Benjamini-Hochberg: among
the flagged changes, the expected fraction that are noise is at most `alpha` (for independent cases). A
regression is a significant change whose median is at least `1 + threshold` times the base median.

Machines drift: on a shared host every case of a second run can be several percent slower. With
`normalise` (the default) the host speed factor, the median new/base ratio over all tested cases, is
measured first and every case is tested relative to it, so a case is flagged only when it moved
differently from the rest. The factor itself is reported, and a factor beyond the threshold fails the
comparison as a global regression (it may be the host, or a change that slows everything).

Samples taken within one pass are not independent draws: a burst of load on a shared host moves a
whole pass. Where both records hold several timing passes (``passes``), a change beyond the
threshold is flagged only when it holds in every pass: each pass median of the new run is beyond the
threshold from the base run's median, and each pass median of the base run from the new run's
(relative to the host factor). Otherwise it is reported as "significant, not in every pass" and does
not fail the comparison. Likewise a change in a record that did not settle in one of the runs
(suite.bench.passes: its fastest pass was never confirmed by another, so its median is not a steady figure) is
"significant, unsettled", and a change in a stage (construct, log_prob, backward, optimizer_step) whose
whole step did not change the same way is "significant, stage only": the stage breakdown says where a
change of the whole step comes from, and on its own a stage moves with the cache state the stages leave
each other. Neither fails the comparison.

The comparison is a gate: it fails when NEW lacks cases that BASE measured (unless a subset is allowed,
`allow_subset`: a deliberate narrower run), as well as on regressions, cases that stopped running and
verdicts that broke. Its Markdown starts with a few lines that say whether it passed and why; the
per-case table lists only what changed unless every row is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from suite.bench import passes as P
from suite.bench.load import HEAVY_SHARE
from suite.bench.results import Environment, Record, Results, case_key

from .fmt import MISSING, fmt_ratio, fmt_time, fmt_verdict, md_escape, verdict_passes
from .markdown import table
from .model import RowKey, row_key, sort_key

ALPHA = 0.01
THRESHOLD = 0.10
MIN_CASES_FOR_HOST_FACTOR = 20
# The agreement line: whole measurements (not stages) with a median above this, within AGREEMENT of base.
AGREEMENT_MIN_MEDIAN_S = 1e-3
AGREEMENT = 0.10

REGRESSION = "regression"
IMPROVEMENT = "improvement"
SMALL = "significant, below threshold"
UNSTEADY = "significant, not in every pass"
UNSETTLED = "significant, unsettled"
STAGE_ONLY = "significant, stage only"
SAME = ""
FEW = "too few samples"
BROKEN = "broken"
FIXED = "fixed"
WRONG = "now wrong"
RIGHT = "now right"
MISSING_NEW = "not in new run"
ADDED = "only in new run"
UNTIMED = "no samples"
FAILING_FLAGS = frozenset({REGRESSION, BROKEN, WRONG, MISSING_NEW})
UNCHANGED_FLAGS = frozenset({SAME, UNTIMED, FEW})
_ORDER = (REGRESSION, BROKEN, WRONG, IMPROVEMENT, FIXED, RIGHT, UNSTEADY, UNSETTLED, STAGE_ONLY, SMALL, MISSING_NEW,
          ADDED, FEW, UNTIMED, SAME)


@dataclass(frozen=True)
class Change:
    key: RowKey
    base: Record | None
    new: Record | None
    flag: str
    ratio: float | None = None
    p_value: float | None = None
    q_value: float | None = None

    @property
    def record(self) -> Record:
        return self.new if self.new is not None else self.base


@dataclass
class Comparison:
    base_environment: Environment
    new_environment: Environment
    alpha: float
    threshold: float
    changes: list[Change] = field(default_factory=list)
    host_factor: float = 1.0
    allow_subset: bool = False

    @property
    def missing_cases(self) -> list[str]:
        """Cases of BASE with no record at all in NEW, in order."""
        in_new = {case_key(c.new.case_id) for c in self.changes if c.new is not None}
        return list(dict.fromkeys(c.base.case_id for c in self.changes
                                  if c.flag == MISSING_NEW and case_key(c.base.case_id) not in in_new))

    @property
    def global_regression(self) -> bool:
        return self.host_factor >= 1 + self.threshold

    @property
    def failures(self) -> list[Change]:
        """Significant regressions beyond the threshold, cases that stopped running, verdicts that broke, and
        records of BASE missing from NEW (unless a subset is allowed)."""
        return [c for c in self.changes if c.flag in FAILING_FLAGS and not (c.flag == MISSING_NEW
                                                                            and self.allow_subset)]

    @property
    def failed(self) -> bool:
        return bool(self.failures) or self.global_regression

    def count(self, flag: str) -> int:
        return sum(c.flag == flag for c in self.changes)

    def agreement(self, min_median_s: float = AGREEMENT_MIN_MEDIAN_S,
                  within: float = AGREEMENT) -> tuple[int, list[Change]]:
        """Of the whole measurements (phase `total` or none) timed in both runs with a median above
        min_median_s in either, how many have raw medians within `within` of each other, and the rest,
        furthest first."""
        timed = [c for c in self.changes if c.base is not None and c.new is not None and c.ratio
                 and c.record.phase in (None, "total") and c.base.status == c.new.status == "ok"
                 and max(_median(c.base) or 0, _median(c.new) or 0) > min_median_s]
        apart = sorted((c for c in timed if abs(math.log(c.ratio)) > math.log(1 + within)),
                       key=lambda c: -abs(math.log(c.ratio)))
        return len(timed), apart


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value a Mann-Whitney U test can give with these sample sizes."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))  # int / int: no float overflow for large samples


def _median(record: Record) -> float | None:
    if record.median_s is not None:
        return record.median_s
    return float(np.median(record.samples_s)) if record.samples_s else None


def holds_in_every_pass(base: Record, new: Record, host: float, threshold: float, slower: bool) -> bool:
    """Whether the change (new divided by the host factor, slower or faster) exceeds the threshold in every
    pass of each run against the other run's median; True when either record has a single pass."""
    base_medians = P.pass_medians(base.samples_s, base.passes or 1)
    new_medians = P.pass_medians(new.samples_s, new.passes or 1)
    if base_medians is None or new_medians is None:
        return True
    new_medians = [m / host for m in new_medians]
    base_centre, new_centre = _median(base), _median(new) / host
    if not slower:
        base_medians, new_medians, base_centre, new_centre = new_medians, base_medians, new_centre, base_centre
    return (min(new_medians) >= (1 + threshold) * base_centre
            and max(base_medians) * (1 + threshold) <= new_centre)


def _pair_flag(base: Record, new: Record, alpha: float) -> str | None:
    """A flag decided without a test, or None when the samples are to be tested."""
    base_ok, new_ok = base.status == "ok", new.status == "ok"
    if base_ok and not new_ok:
        return BROKEN
    if new_ok and not base_ok:
        return FIXED
    if not base_ok:
        return SAME
    if verdict_passes(base.verdict) and verdict_passes(new.verdict) is False:
        return WRONG
    if verdict_passes(base.verdict) is False and verdict_passes(new.verdict):
        return RIGHT
    if not base.samples_s or not new.samples_s:
        return UNTIMED
    if smallest_p(len(base.samples_s), len(new.samples_s)) >= alpha:
        return FEW
    return None


def compare(base: Results, new: Results, alpha: float = ALPHA, threshold: float = THRESHOLD,
            normalise: bool = True, allow_subset: bool = False) -> Comparison:
    """Every case of either run, matched by (case_id, phase), with its flag (relative to the host speed
    factor when `normalise`). With `allow_subset`, records of BASE missing from NEW do not fail it."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    base_by = {_matching_key(r): r for r in base.records}
    new_by = {_matching_key(r): r for r in new.records}
    decided: list[Change] = []
    tested: list[tuple[RowKey, Record, Record, float | None]] = []
    for key in dict.fromkeys([*base_by, *new_by]):
        b, n = base_by.get(key), new_by.get(key)
        if b is None or n is None:
            decided.append(Change(key, b, n, ADDED if b is None else MISSING_NEW))
            continue
        mb, mn = _median(b), _median(n)
        ratio = mn / mb if mb and mn is not None else None
        flag = _pair_flag(b, n, alpha)
        if flag is not None:
            decided.append(Change(key, b, n, flag, ratio))
            continue
        tested.append((key, b, n, ratio))
    ratios = [t[3] for t in tested if t[3] is not None and t[3] > 0]
    host = float(np.median(ratios)) if normalise and len(ratios) >= MIN_CASES_FOR_HOST_FACTOR else 1.0
    p_values = []
    for _, b, n, _ in tested:
        p = stats.mannwhitneyu(b.samples_s, np.asarray(n.samples_s) / host, alternative="two-sided").pvalue
        p_values.append(1.0 if math.isnan(p) else float(p))
    q_values = stats.false_discovery_control(p_values, method="bh") if tested else []
    for (key, b, n, ratio), p, q in zip(tested, p_values, q_values):
        flag = SAME
        relative = ratio / host if ratio is not None else None
        if q < alpha and relative is not None:
            flag = (REGRESSION if relative >= 1 + threshold else
                    IMPROVEMENT if relative <= 1 / (1 + threshold) else SMALL)
            if flag in (REGRESSION, IMPROVEMENT) and not holds_in_every_pass(b, n, host, threshold,
                                                                               flag == REGRESSION):
                flag = UNSTEADY
            if flag in (REGRESSION, IMPROVEMENT) and not (P.settled(b.samples_s, b.passes or 1)
                                                          and P.settled(n.samples_s, n.passes or 1)):
                flag = UNSETTLED
        decided.append(Change(key, b, n, flag, ratio, p, float(q)))
    whole = {(c.key, c.flag) for c in decided if c.record.phase in (None, "total")}
    decided = [c if c.flag not in (REGRESSION, IMPROVEMENT) or c.record.phase in (None, "total")
               or (_whole_key(c), c.flag) in whole else replace(c, flag=STAGE_ONLY) for c in decided]
    decided.sort(key=lambda c: (_ORDER.index(c.flag), sort_key(c.record)))
    return Comparison(base.environment, new.environment, alpha, threshold, decided, host, allow_subset)


def _matching_key(record: Record) -> RowKey:
    """The row key with the case named as results.case_key names it: a case whose file moved between
    folders is the same case."""
    return row_key(replace(record, case_id=case_key(record.case_id)))


def _whole_key(change: Change) -> RowKey:
    """The row key of the whole measurement ('total') that a stage record belongs to."""
    return _matching_key(replace(change.record, phase="total"))


def _flag_cell(flag: str, allow_subset: bool = False) -> str:
    failing = flag in FAILING_FLAGS and not (flag == MISSING_NEW and allow_subset)
    return f"**{flag} ✗**" if failing else flag


def _time_cell(record: Record | None) -> str:
    if record is None:
        return MISSING
    return fmt_time(_median(record)) if record.status == "ok" else record.status


def _environment_line(name: str, env: Environment) -> str:
    return f"{name}: `{md_escape(env.id)}` ({md_escape(env.date)}, commit {env.distsuite_commit or MISSING})"


def summary_lines(comparison: Comparison) -> list[str]:
    """A few short lines: whether the gate passed, and each reason it failed."""
    c = comparison
    reasons = []
    if c.count(REGRESSION):
        reasons.append(f"{c.count(REGRESSION)} significant regressions beyond {100 * c.threshold:g}%")
    if c.global_regression:
        reasons.append(f"everything {fmt_ratio(c.host_factor)} slower (global regression)")
    if c.count(BROKEN):
        reasons.append(f"{c.count(BROKEN)} measurements that stopped running")
    if c.count(WRONG):
        reasons.append(f"{c.count(WRONG)} verdicts now wrong")
    missing = c.missing_cases
    if missing and not c.allow_subset:
        reasons.append(f"{len(missing)} cases of BASE missing from NEW (--allow-subset if deliberate)")
    elif c.count(MISSING_NEW) and not c.allow_subset:
        reasons.append(f"{c.count(MISSING_NEW)} records (stages) of BASE missing from NEW")
    lines = [f"**{'FAIL ✗' if c.failed else 'pass'}**: " + ("; ".join(reasons) if reasons else
                                                              "no significant regression, nothing missing")]
    for name, side in (("BASE", "base"), ("NEW", "new")):
        shares = [getattr(ch, side).cpu_share for ch in c.changes
                  if getattr(ch, side) is not None and getattr(ch, side).cpu_share is not None]
        if shares and min(shares) < HEAVY_SHARE:
            lines.append(f"{name} was measured under heavy load (its process got as little as {min(shares):.0%} "
                         "of a core): a change may come from the host.")
    base_cases = len({case_key(ch.base.case_id) for ch in c.changes if ch.base is not None})
    lines.append(f"{base_cases - len(missing)} of the {base_cases} cases of BASE measured in NEW"
                 + (f" ({len(missing)} missing, allowed: --allow-subset)" if missing and c.allow_subset else "")
                 + f"; {c.count(IMPROVEMENT)} improvements, {c.count(ADDED)} records only in NEW.")
    return lines


def to_markdown(comparison: Comparison, show_all: bool = False) -> str:
    c = comparison
    lines = ["**distsuite comparison**", "  \n".join(summary_lines(c)),
             _environment_line("base", c.base_environment) + "  \n" + _environment_line("new", c.new_environment)]
    if c.base_environment.id != c.new_environment.id:
        lines.append("The two runs come from different environments: a change may come from the machine.")
    tested = sum(ch.p_value is not None for ch in c.changes)
    if c.host_factor != 1.0:
        lines.append(
            f"Host speed factor: the median new/base ratio over the tested cases is {fmt_ratio(c.host_factor)}; "
            "each case is tested and flagged relative to it (`--no-normalise` tests raw times)."
            + (f" **global regression ✗**: everything is at least {100 * c.threshold:g}% slower (the host, or a "
               "change that slows every case)." if c.global_regression else ""))
    lines.append(
        f"{len(c.changes)} cases, {tested} tested with a two-sided Mann-Whitney U test on the stored samples "
        f"(Benjamini-Hochberg adjusted p < {c.alpha:g}). A regression is significant and at least "
        f"{100 * c.threshold:g}% slower than the host factor. {c.count(REGRESSION)} regressions, "
        f"{c.count(IMPROVEMENT)} improvements, "
        f"{c.count(UNSTEADY)} beyond it but not in every timing pass, "
        f"{c.count(UNSETTLED)} beyond it in a record that did not settle (its fastest pass unconfirmed), "
        f"{c.count(STAGE_ONLY)} beyond it in a stage whose whole step did not change so, "
        f"{c.count(SMALL)} significant changes below the threshold, {c.count(BROKEN)} broken, "
        f"{c.count(WRONG)} now wrong.")
    measured, apart = c.agreement()
    if measured:
        furthest = ", ".join(f"{fmt_ratio(ch.ratio)} `{md_escape(ch.record.case_id)}`" for ch in apart[:5])
        lines.append(f"Agreement: {measured - len(apart)} of the {measured} whole measurements with a median above "
                     f"{fmt_time(AGREEMENT_MIN_MEDIAN_S)} are within {100 * AGREEMENT:g}% of base (raw medians)"
                     + (f"; furthest apart: {furthest}" if apart else "") + ".")
    rows = []
    for ch in c.changes:
        if not show_all and ch.flag in UNCHANGED_FLAGS:
            continue
        r = ch.record
        verdict = fmt_verdict(ch.new.verdict if ch.new is not None else None)
        rows.append([_flag_cell(ch.flag, c.allow_subset), md_escape(r.case_id), md_escape(r.phase or MISSING),
                     _time_cell(ch.base), _time_cell(ch.new), fmt_ratio(ch.ratio),
                     f"{ch.q_value:.2g}" if ch.q_value is not None else MISSING, verdict])
    if rows:
        shown = "every case (--all)" if show_all else "what changed (--all lists every case)"
        lines.append(f"Cases: {shown}.\n\n" + table(["change", "case", "phase", "base median", "new median",
                                                       "new / base", "adjusted p", "verdict (new)"], rows))
    return "\n\n".join(lines) + "\n"
