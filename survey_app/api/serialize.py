"""Plain data for the API and the exports: filters from query parameters, figures, responses.

The API answers with these dicts as JSON and the exports write the same values as rows, so
a figure or a response reads the same wherever it is downloaded. Percentages are 0..100
and never rounded here: rounding is for display.
"""

from __future__ import annotations

from typing import Any

from survey_app import sipas
from survey_app.services.rates import ReceiptCounts
from survey_app.services.reports import Report, ScopeFigures, TargetCheck

# Figures ----------------------------------------------------------------------------------


def share_dict(share: sipas.Share) -> dict[str, Any]:
    return {
        "valid": share.valid,
        "satisfied": share.satisfied,
        "share": share.share,
        "ci_low": share.ci_low,
        "ci_high": share.ci_high,
    }


def target_dict(check: TargetCheck) -> dict[str, Any]:
    return {
        "metric": check.metric.value,
        "threshold": check.threshold,
        "status": check.judgement.status.value,
        "uncertain": check.judgement.uncertain,
        "scope": check.scope,
        "year": check.year,
    }


def scores_dict(scores: sipas.Scores) -> dict[str, Any]:
    """Return how many responses, their index with its interval and their overall share."""
    return {
        "responses": scores.responses,
        "sipas_index": scores.sipas_index,
        "sipas_ci_low": scores.sipas_low,
        "sipas_ci_high": scores.sipas_high,
        "overall": share_dict(scores.overall),
    }


def scope_dict(figures: ScopeFigures) -> dict[str, Any]:
    """Return every figure of one scope: counted and raw, index, shares, verdicts."""
    scores = figures.scores
    return {
        **scores_dict(scores),  # responses, the index and its interval, overall
        "not_counted": figures.not_counted,
        "flagged": figures.by_status.get("flagged", 0),
        "duplicate": figures.by_status.get("duplicate", 0),
        "by_status": dict(sorted(figures.by_status.items())),
        "elements": {key: share_dict(share) for key, share in scores.elements.items()},
        "integrity": share_dict(scores.integrity),
        "wish_respondents": scores.wish_respondents,
        "wishes": dict(sorted(scores.wishes.items())),
        "targets": [target_dict(check) for check in figures.targets],
        "raw": scores_dict(figures.raw_scores),
        **volumes_dict(figures),
    }


def volumes_dict(figures: ScopeFigures) -> dict[str, Any]:
    """Return a figure's responses by source, dossiers, response rate and weighted O and S."""
    weighted = figures.weighted
    return {
        "by_source": dict(sorted(figures.by_source.items())),
        "dossiers": figures.dossiers,
        "response_rate": figures.response_rate,
        "volumes_complete": figures.volumes_complete,
        "rate_flag": figures.rate_flag,
        "weighted": None if weighted is None else {
            indicator.value: value for indicator, value in weighted.items()
        },
    }


def receipts_dict(receipts: ReceiptCounts | None) -> dict[str, Any] | None:
    if receipts is None:
        return None
    return {"minted": receipts.minted, "answered": receipts.answered, "rate": receipts.rate}


def report_dict(report: Report) -> dict[str, Any]:
    """Return the figures of a period: the target scopes, and each sector counted in it."""
    return {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "target_year": report.target_year,
        "targets_borrowed": report.borrows_targets,
        "min_sample": report.min_sample,
        "scopes": {key: scope_dict(figures) for key, figures in report.scopes.items()},
        "sectors": {
            code: scope_dict(figures)
            for code, figures in report.sectors.items()
            if figures.responses > 0
        },
        "sources": {source: scope_dict(figures) for source, figures in report.sources.items()},
        "receipts": receipts_dict(report.receipts),
    }
