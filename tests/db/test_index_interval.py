"""The 95% interval of the index S agrees with a bootstrap over the stored responses.

Real answers are correlated: someone happy with the clerk is usually happy with the result.
The interval the app reads from its rollups (pair counts and the delta method) must match
what resampling whole responses gives, on every database.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.services.periods import Period
from survey_app.services.reports import build_report
from survey_app.services.rollups import rebuild
from survey_app.services.tallies import TallyFilter
from tests.factories import create_agency, create_code

ELEMENTS = sipas.ELEMENT_KEYS
RESPONSES = 600
RESAMPLES = 2000


def _answer(rng: random.Random, mood: float, cut: float) -> int:
    """Return a 1..5 answer: a shared mood plus this element's own noise."""
    felt = mood + rng.gauss(0, 0.7) + cut
    return 5 if felt > 1.2 else 4 if felt > 0 else 3 if felt > -0.6 else 2 if felt > -1.4 else 1


def correlated_answers(seed: int = 20261205) -> list[dict[str, int | None]]:
    """Draw responses whose elements share one mood per person; q4 and q5 often N/A."""
    rng = random.Random(seed)
    cuts = {"q1": 1.0, "q2": 0.9, "q3": 1.3, "q4": 0.8, "q5": 0.4}
    not_applicable = {"q4": 0.35, "q5": 0.75}
    answers = []
    for _ in range(RESPONSES):
        mood = rng.gauss(0, 1)
        row: dict[str, int | None] = {}
        for key in ELEMENTS:
            row[key] = None if rng.random() < not_applicable.get(key, 0) else _answer(
                rng, mood, cuts[key])
        row["q6"] = _answer(rng, mood, 1.0)
        answers.append(row)
    return answers


def index_of(patterns: Counter[tuple[int | None, ...]]) -> float:
    """Return S: the mean of the element shares of some responses (None: N/A)."""
    shares = []
    for k in range(len(ELEMENTS)):
        valid = sum(n for p, n in patterns.items() if p[k] is not None)
        satisfied = sum(n for p, n in patterns.items() if p[k] == 1)
        if valid:
            shares.append(100 * satisfied / valid)
    return sum(shares) / len(shares)


def bootstrap_interval(rows: list[tuple[int | None, ...]]) -> tuple[float, float]:
    """Return the 2.5th and 97.5th percentiles of S over resamples of whole responses."""
    rng = random.Random(7)
    kinds = Counter(rows)
    patterns, weights = list(kinds), list(kinds.values())
    estimates = sorted(
        index_of(Counter(rng.choices(patterns, weights=weights, k=len(rows))))
        for _ in range(RESAMPLES)
    )
    return estimates[int(0.025 * RESAMPLES)], estimates[int(0.975 * RESAMPLES) - 1]


def test_interval_of_the_index_matches_a_bootstrap_over_stored_responses(app):
    with app.app_context():
        code = create_code(create_agency(), "Quầy 1", "DAT_DAI")
        moment = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
        db.session.add_all(
            Response(survey_code_id=code.id, agency_id=code.agency_id,
                     counter_id=code.counter_id, sector_id=code.sector_id,
                     questionnaire_version="sipas-2025-short", language="vi",
                     created_at=moment, **answers)
            for answers in correlated_answers()
        )
        db.session.flush()
        rebuild(db.session)
        report = build_report(db.session, TallyFilter(Period(date(2026, 3, 1),
                                                             date(2026, 3, 31))))
        stored = [
            tuple(None if v is None else int(v in sipas.SATISFIED_VALUES) for v in row)
            for row in db.session.execute(
                select(*(getattr(Response, key) for key in ELEMENTS))
            )
        ]
    figures = report.scopes["all"]
    low, high = figures.scores.sipas_interval or (0.0, 0.0)
    expected_low, expected_high = bootstrap_interval(stored)

    assert figures.responses == RESPONSES
    assert figures.scores.sipas_index == pytest.approx(index_of(Counter(stored)), abs=1e-9)
    assert abs(low - expected_low) < 0.5, (low, expected_low)
    assert abs(high - expected_high) < 0.5, (high, expected_high)
    # The mean of the element bounds, the old rule, is far wider than the truth here.
    elements = [s for s in figures.scores.elements.values() if s.valid]
    old_width = sum((s.ci_high or 0) - (s.ci_low or 0) for s in elements) / len(elements)
    assert high - low < old_width - 1.0
