"""Figures in words and numbers of the page's language: percentages, counts, dates, verdicts.

Figures are computed unrounded (sipas.py) and rounded only here, to one decimal. Every
figure shown with a verdict is a `Measure`; its verdict is the one label of
`labels.verdict_label`, with a mark that tells a certain verdict from an uncertain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _

from survey_app import sipas
from survey_app.services.reports import (
    ScopeFigures,
    TargetCheck,
)
from survey_app.sipas import Indicator
from survey_app.web.labels import (  # noqa: F401 (the figures' wording is shared with the board)
    DASH,
    INDICATOR_LABELS,
    answers_text,
    dossiers_text,
    interval_text,
    number,
    percent,
    rate_flag_label,
    responses_text,
    target_label,
    target_text,
    verdict_label,
)

OVERALL, INDEX = Indicator.OVERALL, Indicator.SIPAS_INDEX
# Sorting by a verdict puts the figures that need attention first.
VERDICT_RANK = {
    (sipas.Status.BELOW, False): 0,
    (sipas.Status.BELOW, True): 1,
    (sipas.Status.MET, True): 2,
    (sipas.Status.MET, False): 3,
    (sipas.Status.INSUFFICIENT, False): 4,
}
NOT_JUDGED_RANK = 5


def day(value: date) -> str:
    return format_date(value, "dd/MM/yyyy")


def month(value: date) -> str:
    return format_date(value, "MM/yyyy")


def period_text(start: date, end: date) -> str:
    return _("%(start)s – %(end)s", start=day(start), end=day(end))


def indicator_label(indicator: Indicator) -> str:
    return str(INDICATOR_LABELS[indicator.value])


def css_key(code: str) -> str:
    """Return a scope code as a class name: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower())


@dataclass(frozen=True)
class Verdict:
    """A verdict in one label, with the mark and class that set it apart.

    A certain verdict wears ✓ or ✗; an uncertain one, met or below, «?» and an amber style,
    so it never looks like a certain one; a sample too small to judge «…».
    """

    key: str  # met, below, uncertain, insufficient: the class and the mark
    text: str
    symbol: str
    rank: int

    @property
    def css(self) -> str:
        return f"status status-{self.key}"


SYMBOLS = {"met": "✓", "below": "✗", "uncertain": "?", "insufficient": "…"}


def verdict_of(check: TargetCheck | None) -> Verdict | None:
    """Return the verdict of a target check, or None when the figure has no target."""
    if check is None:
        return None
    judgement = check.judgement
    key = "uncertain" if judgement.uncertain else judgement.status.value
    return Verdict(key, verdict_label(judgement), SYMBOLS[key],
                   VERDICT_RANK[(judgement.status, judgement.uncertain)])


@dataclass(frozen=True)
class Measure:
    """One indicator of one figure: value, n, interval, its own target and verdict."""

    indicator: str  # overall, sipas_index
    label: str
    value: float | None
    count: int  # the n the verdict is judged on
    n: str
    interval: str
    target: str  # «Chỉ tiêu tối thiểu 90%», «Chưa có chỉ tiêu»
    threshold: str  # «tối thiểu 90%», or empty
    verdict: Verdict | None
    # The same indicator with each sector weighted by its dossiers (never judged), or None.
    weighted: float | None = None

    @property
    def value_text(self) -> str:
        return percent(self.value)

    @property
    def rank(self) -> int:
        return self.verdict.rank if self.verdict else NOT_JUDGED_RANK

    @property
    def weighted_text(self) -> str:
        return "" if self.weighted is None else percent(self.weighted)


def measure(figures: ScopeFigures, indicator: Indicator) -> Measure:
    """Return one indicator of a figure over its counted responses, judged.

    Beside it, the same with each sector weighted by its dossiers, where defined and where
    it pools several sectors (for one sector the two are the same).
    """
    shown = _measure(figures.scores, indicator, figures.target(indicator))
    if figures.weighted is None or figures.pooled_sectors < 2:
        return shown
    return replace(shown, weighted=figures.weighted.get(indicator))


def raw_measure(figures: ScopeFigures, indicator: Indicator) -> Measure:
    """Return one indicator over every stored response: shown beside, never judged."""
    return _measure(figures.raw_scores, indicator, None)


@dataclass(frozen=True)
class Rate:
    """A response rate: counted responses per 100 dossiers received, and whether to look.

    «Cần xem lại» (needs a review) marks a rate above 100%, or far above the others: the
    usual sign of staff answering for citizens. A rate on volumes that miss some of the
    figure's responses is shown with a note, and never marked.
    """

    value: float | None
    dossiers: int | None
    flag: str | None
    is_complete: bool

    @property
    def text(self) -> str:
        return percent(self.value)

    @property
    def dossiers_text(self) -> str:
        return DASH if self.dossiers is None else number(self.dossiers)

    @property
    def needs_review(self) -> bool:
        return self.flag is not None

    @property
    def reason(self) -> str:
        return rate_flag_label(self.flag)

    @property
    def note(self) -> str:
        """Return «Thiếu số hồ sơ của một số tháng, lĩnh vực» when the volumes miss responses."""
        if self.dossiers is None or self.is_complete:
            return ""
        return _("Thiếu số hồ sơ của một số đơn vị, lĩnh vực hoặc tháng có phiếu")


def rate_of(figures: ScopeFigures) -> Rate:
    return Rate(figures.response_rate, figures.dossiers, figures.rate_flag,
                figures.volumes_complete)


def _measure(scores: sipas.Scores, indicator: Indicator, check: TargetCheck | None) -> Measure:
    # O's n is the valid answers to question 6, S's the responses: each is judged on its own.
    is_overall = indicator is OVERALL
    count = scores.overall.valid if is_overall else scores.responses
    return Measure(
        indicator=indicator.value,
        label=indicator_label(indicator),
        value=sipas.indicator_value(scores, indicator),
        count=count,
        n=answers_text(count) if is_overall else responses_text(count),
        interval=interval_text(scores.overall.interval if is_overall else scores.sipas_interval),
        target=target_label(check.threshold if check else None),
        threshold=target_text(check.threshold) if check else "",
        verdict=verdict_of(check),
    )

