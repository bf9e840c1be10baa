"""Alerts that reach a manager the same day: the rules, raising them once, who receives
them, and acknowledging and closing them. Writes only flush; the caller commits.

Two rules are judged inside the transaction that records a response (a «Có» to the
integrity question; a run of «Rất không hài lòng» to question 6 at one counter in one
day), two by `flask alerts evaluate` (a counter or a sector whose recent counted answers lie
clearly below target; an implausible response rate). Only counted responses raise an alert:
a flagged one may be a machine's or a replay, and raising on it would let anyone fill a
manager's inbox; a manager who counts it again sees it in the figures.

An alert names its rule, agency and scope, never a citizen's words: the e-mail and the
inbox carry links, and the response itself stays behind the review pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from survey_app import sipas
from survey_app.models import (
    ALERT_DELIVERIES,
    ALERT_KINDS,
    ALERT_NOTE_MAX_LENGTH,
    Agency,
    Alert,
    AlertDelivery,
    AlertEvent,
    AlertPreference,
    AlertRule,
    Response,
    SurveyCode,
    User,
    utcnow,
)
from survey_app.questionnaire import INTEGRITY_KEY, OVERALL_KEY
from survey_app.services import audit
from survey_app.services.access import holds
from survey_app.services.periods import Period, deployment_zone, local_date, utc_bounds
from survey_app.services.reports import agency_figures, load_target_book
from survey_app.services.tallies import TallyFilter, answer_counts, tally_rows

INTEGRITY = "integrity"
DISSATISFIED_RUN = "dissatisfied_run"
BELOW_TARGET = "below_target"
IMPLAUSIBLE_RATE = "implausible_rate"
RAISED_ON_RESPONSE = (INTEGRITY, DISSATISFIED_RUN)
RAISED_BY_EVALUATION = (BELOW_TARGET, IMPLAUSIBLE_RATE)

# Each rule's parameters: default, and the range an admin may choose from.
PARAMETERS: dict[str, dict[str, tuple[int, int, int]]] = {
    INTEGRITY: {},
    DISSATISFIED_RUN: {"count": (3, 2, 50)},  # this many «Rất không hài lòng» in one day
    BELOW_TARGET: {"days": (30, 7, 365)},  # the recent window of counted answers
    IMPLAUSIBLE_RATE: {"days": (30, 7, 365)},
}
assert set(PARAMETERS) == set(ALERT_KINDS)
VERY_DISSATISFIED = 1
STATUSES = ("open", "acknowledged", "closed")
# A delivery that failed this many times stays in the outbox, unsent, for a person to see.
MAX_ATTEMPTS = 10
ERROR_MAX_LENGTH = 200


class AlertError(ValueError):
    """A step the alert's state does not allow (acknowledged twice, closed before read…)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Rules -----------------------------------------------------------------------------------


def default_parameters(kind: str) -> dict[str, int]:
    return {name: spec[0] for name, spec in PARAMETERS[kind].items()}


def parameters_of(rule: AlertRule | None, kind: str) -> dict[str, int]:
    """Return a rule's parameters, each the stored one when valid, else its default."""
    stored: Mapping[str, Any] = rule.parameters if rule is not None and rule.parameters else {}
    result: dict[str, int] = {}
    for name, (default, low, high) in PARAMETERS[kind].items():
        value = stored.get(name)
        valid = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        result[name] = value if valid and isinstance(value, int) else default
    return result


def list_rules(session: Session) -> list[AlertRule]:
    """Return every rule, in the order of ALERT_KINDS; a missing one is made, enabled."""
    rules = {r.kind: r for r in session.scalars(select(AlertRule))}
    for kind in ALERT_KINDS:
        if kind not in rules:
            rules[kind] = AlertRule(kind=kind, is_enabled=True,
                                    parameters=default_parameters(kind))
            session.add(rules[kind])
    session.flush()
    return [rules[kind] for kind in ALERT_KINDS]


def _enabled_rule(session: Session, kind: str) -> dict[str, int] | None:
    """Return the parameters of a rule when it is enabled (a missing rule is), else None."""
    rule = session.scalar(select(AlertRule).where(AlertRule.kind == kind))
    if rule is not None and not rule.is_enabled:
        return None
    return parameters_of(rule, kind)


def update_rule(session: Session, rule: AlertRule, is_enabled: bool,
                parameters: Mapping[str, int]) -> dict[str, list[Any]]:
    """Change a rule; return {field: [old, new]} of what changed, audit-logged."""
    wanted = {name: int(parameters[name]) for name in PARAMETERS[rule.kind]}
    for name, value in wanted.items():
        _default, low, high = PARAMETERS[rule.kind][name]
        if not low <= value <= high:
            raise AlertError(f"{name} out of range")
    old = parameters_of(rule, rule.kind)
    changes: dict[str, list[Any]] = {}
    if rule.is_enabled != is_enabled:
        changes["is_enabled"] = [rule.is_enabled, is_enabled]
    changes.update({name: [old[name], value] for name, value in wanted.items()
                    if old[name] != value})
    if changes:
        rule.is_enabled = is_enabled
        rule.parameters = wanted
        session.flush()
        audit.record(session, "alert_rule.updated", target=rule, rule=rule.kind,
                     changes=changes)
    return changes


# Raising ---------------------------------------------------------------------------------


def raise_alert(session: Session, kind: str, agency_id: int, day: date, dedupe_key: str, *,
                counter_id: int | None = None, survey_code_id: int | None = None,
                sector_id: int | None = None, response_id: int | None = None,
                details: Mapping[str, Any] | None = None,
                now: datetime | None = None) -> Alert | None:
    """Raise an alert unless its rule already raised it for this scope and window.

    Returns the new alert, or None when it exists. A concurrent twin loses on the unique
    dedupe key inside a savepoint, so the transaction around it (a citizen's answer) goes on.
    """
    if session.scalar(select(Alert.id).where(Alert.dedupe_key == dedupe_key)) is not None:
        return None
    now = now or utcnow()
    alert = Alert(kind=kind, agency_id=agency_id, counter_id=counter_id,
                  survey_code_id=survey_code_id, sector_id=sector_id, day=day,
                  response_id=response_id, details=dict(details or {}),
                  dedupe_key=dedupe_key, status="open", created_at=now)
    alert.events = [AlertEvent(action="raised", at=now)]
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    _queue_mail(session, alert, now)
    return alert


def on_response(session: Session, response: Response) -> list[Alert]:
    """Raise the alerts a newly recorded response calls for (in its own transaction)."""
    if not response.is_counted:
        return []
    raised = []
    if response.answer(INTEGRITY_KEY) == "yes" and _enabled_rule(session, INTEGRITY) is not None:
        day = local_date(response.created_at)
        alert = raise_alert(
            session, INTEGRITY, response.agency_id, day, f"{INTEGRITY}:{response.id}",
            counter_id=response.counter_id, survey_code_id=response.survey_code_id,
            sector_id=response.sector_id, response_id=response.id, now=response.created_at)
        if alert is not None:
            raised.append(alert)
    if response.answer(OVERALL_KEY) == VERY_DISSATISFIED:
        alert = _dissatisfied_run(session, response)
        if alert is not None:
            raised.append(alert)
    return raised


def _dissatisfied_run(session: Session, response: Response) -> Alert | None:
    parameters = _enabled_rule(session, DISSATISFIED_RUN)
    if parameters is None:
        return None
    day = local_date(response.created_at)
    start, end = utc_bounds(Period(day, day), deployment_zone())
    run = session.scalar(
        select(func.count()).select_from(Response).where(
            Response.agency_id == response.agency_id,
            Response.counter_id == response.counter_id,
            Response.created_at >= start,
            Response.created_at < end,
            Response.status == "counted",
            Response.answer_column(OVERALL_KEY) == VERY_DISSATISFIED,
        )
    ) or 0
    if run < parameters["count"]:
        return None
    return raise_alert(
        session, DISSATISFIED_RUN, response.agency_id, day,
        f"{DISSATISFIED_RUN}:{response.counter_id}:{day.isoformat()}",
        counter_id=response.counter_id, response_id=None,
        details={"count": run, "threshold": parameters["count"]}, now=response.created_at)


def _window(today: date, days: int) -> tuple[Period, date]:
    """Return the recent window ending today, and the start of the fixed block of `days`
    days holding today: a scope is alerted at most once per block."""
    block = date.fromordinal(today.toordinal() - today.toordinal() % days)
    return Period(today - timedelta(days=days - 1), today), block


def evaluate(session: Session, today: date | None = None) -> list[Alert]:
    """Judge the rules that look at recent figures; return the alerts newly raised."""
    today = today or local_date(utcnow())
    raised: list[Alert] = []
    below = _enabled_rule(session, BELOW_TARGET)
    if below is not None:
        raised += _below_target(session, today, below["days"])
    rate = _enabled_rule(session, IMPLAUSIBLE_RATE)
    if rate is not None:
        raised += _implausible_rates(session, today, rate["days"])
    return raised


def _below_target(session: Session, today: date, days: int) -> list[Alert]:
    """Raise for each counter, and each sector of an agency, whose counted answers of the
    window lie, interval and all, below its target (reports.TargetBook judges)."""
    period, block = _window(today, days)
    book = load_target_book(session)
    rows = tally_rows(session, TallyFilter(period), ["agency", "counter", "sector"])
    by_counter: dict[tuple[int, int], list[tuple[int, sipas.AnswerCounts]]] = {}
    by_sector: dict[tuple[int, int], list[sipas.AnswerCounts]] = {}
    for row in rows:
        if not row["responses"]:
            continue
        counts = answer_counts(row)
        agency_id, counter_id, sector_id = row["agency"], row["counter"], row["sector"]
        by_counter.setdefault((agency_id, counter_id), []).append((sector_id, counts))
        by_sector.setdefault((agency_id, sector_id), []).append(counts)
    raised = []
    scopes: list[tuple[str, int, int | None, int | None, set[int], sipas.AnswerCounts]] = [
        ("counter", agency_id, counter_id, None, {s for s, _c in parts},
         sipas.pool(c for _s, c in parts))
        for (agency_id, counter_id), parts in sorted(by_counter.items())
    ] + [
        ("sector", agency_id, None, sector_id, {sector_id}, sipas.pool(parts))
        for (agency_id, sector_id), parts in sorted(by_sector.items())
    ]
    for scope, agency_id, counter_id, sector_id, sector_ids, counts in scopes:
        scores = sipas.score(counts)
        for check in book.checks_for_sectors(scores, today.year, sector_ids):
            if check.judgement.status is not sipas.Status.BELOW or check.judgement.uncertain:
                continue
            value, interval = _value_and_interval(scores, check.metric)
            if interval is None or interval[1] >= check.threshold:
                continue
            where = counter_id if scope == "counter" else sector_id
            alert = raise_alert(
                session, BELOW_TARGET, agency_id, today,
                f"{BELOW_TARGET}:{scope}:{agency_id}:{where}:{check.metric.value}:"
                f"{block.isoformat()}",
                counter_id=counter_id, sector_id=sector_id,
                details={"indicator": check.metric.value, "value": round(value or 0, 1),
                         "low": round(interval[0], 1), "high": round(interval[1], 1),
                         "threshold": check.threshold, "responses": scores.responses,
                         "from": period.start.isoformat(), "to": period.end.isoformat()})
            if alert is not None:
                raised.append(alert)
    return raised


def _value_and_interval(scores: sipas.Scores, indicator: sipas.Indicator
                        ) -> tuple[float | None, tuple[float, float] | None]:
    if indicator is sipas.Indicator.OVERALL:
        return scores.overall.share, scores.overall.interval
    return scores.sipas_index, scores.sipas_interval


def _implausible_rates(session: Session, today: date, days: int) -> list[Alert]:
    """Raise for each agency whose own response rate the reports mark as implausible."""
    period, block = _window(today, days)
    agencies = session.scalars(select(Agency).order_by(Agency.id)).all()
    if not agencies:
        return []
    rows = agency_figures(session, TallyFilter(period), agencies, load_target_book(session))
    raised = []
    for row in rows:
        flag = row.own.rate_flag
        if flag is None:
            continue
        alert = raise_alert(
            session, IMPLAUSIBLE_RATE, row.agency.id, today,
            f"{IMPLAUSIBLE_RATE}:{row.agency.id}:{flag}:{block.isoformat()}",
            details={"flag": flag, "rate": round(row.own.response_rate or 0, 1),
                     "responses": row.own.responses, "dossiers": row.own.dossiers,
                     "from": period.start.isoformat(), "to": period.end.isoformat()})
        if alert is not None:
            raised.append(alert)
    return raised


# Recipients and mail ---------------------------------------------------------------------


def _agency_and_above(session: Session, agency_id: int) -> Any:
    """Return a select of the agency's id and the ids of every agency above it."""
    chain = select(Agency.id, Agency.parent_id).where(Agency.id == agency_id).cte(
        "chain", recursive=True)
    chain = chain.union_all(
        select(Agency.id, Agency.parent_id).where(Agency.id == chain.c.parent_id))
    return select(chain.c.id)


def recipients(session: Session, agency_id: int) -> list[User]:
    """Return the enabled managers of the agency and of every agency above it.

    Admins run the service; they read every alert in the inbox but receive no mail.
    """
    return list(session.scalars(
        select(User).where(User.role == "manager", User.is_enabled.is_(True),
                           User.agency_id.in_(_agency_and_above(session, agency_id)))
        .order_by(User.id)
    ))


def delivery_of(session: Session, user_id: int) -> str:
    """Return how a person wants alerts by e-mail (each, digest or none)."""
    chosen = session.get(AlertPreference, user_id)
    return chosen.delivery if chosen is not None else "each"


def set_delivery(session: Session, user: User, delivery: str) -> bool:
    """Record how a person wants alerts by e-mail; return whether it changed (audit-logged)."""
    if delivery not in ALERT_DELIVERIES:
        raise AlertError("unknown delivery")
    old = delivery_of(session, user.id)
    if old == delivery:
        return False
    chosen = session.get(AlertPreference, user.id)
    if chosen is None:
        session.add(AlertPreference(user_id=user.id, delivery=delivery))
    else:
        chosen.delivery = delivery
    session.flush()
    audit.record(session, "alert_preference.updated", target=user,
                 changes={"delivery": [old, delivery]})
    return True


def _queue_mail(session: Session, alert: Alert, now: datetime) -> None:
    """Put the alert in the outbox of each recipient who wants mail (when mail is set up)."""
    if not current_app.config.get("SMTP_URL"):
        return
    people = recipients(session, alert.agency_id)
    if not people:
        return
    chosen = dict(session.execute(
        select(AlertPreference.user_id, AlertPreference.delivery)
        .where(AlertPreference.user_id.in_([p.id for p in people]))).all())
    session.add_all(
        AlertDelivery(alert_id=alert.id, user_id=p.id, mode=chosen.get(p.id, "each"),
                      created_at=now)
        for p in people if chosen.get(p.id, "each") != "none"
    )
    session.flush()


@dataclass(frozen=True)
class Outgoing:
    """One e-mail to write: to whom, and which alerts (one, or a day's digest)."""

    user: User
    deliveries: list[AlertDelivery]

    @property
    def alerts(self) -> list[Alert]:
        return [d.alert for d in self.deliveries]


def pending_mail(session: Session, mode: str) -> list[Outgoing]:
    """Return the unsent mail of a mode: one per alert ("each"), one per person ("digest").

    A person disabled since, or who chose no mail since, gets none: their rows are dropped.
    """
    rows = session.scalars(
        select(AlertDelivery)
        .options(joinedload(AlertDelivery.user), joinedload(AlertDelivery.alert))
        .where(AlertDelivery.mode == mode, AlertDelivery.sent_at.is_(None),
               AlertDelivery.attempts < MAX_ATTEMPTS)
        .order_by(AlertDelivery.user_id, AlertDelivery.alert_id)
    ).all()
    outgoing: dict[Any, Outgoing] = {}
    for row in rows:
        if not row.user.is_enabled or delivery_of(session, row.user_id) == "none":
            session.delete(row)
            continue
        key = (row.user_id, row.alert_id) if mode == "each" else row.user_id
        outgoing.setdefault(key, Outgoing(row.user, [])).deliveries.append(row)
    session.flush()
    return list(outgoing.values())


def mark_sent(session: Session, outgoing: Outgoing, now: datetime | None = None) -> None:
    for row in outgoing.deliveries:
        row.sent_at = now or utcnow()
        row.attempts += 1
        row.last_error = None
    session.flush()


def mark_failed(session: Session, outgoing: Outgoing, error: str) -> None:
    """Keep the mail in the outbox with why it failed; the next run tries again."""
    for row in outgoing.deliveries:
        row.attempts += 1
        row.last_error = error[:ERROR_MAX_LENGTH]
    session.flush()


# Reading and handling --------------------------------------------------------------------


def _visible(session: Session, user: User, query: Any) -> Any:
    """Narrow a query of alerts to the agencies where the user may read them."""
    if user.role == "admin":
        return query
    if user.agency_id is None:
        return query.where(Alert.id.is_(None))
    tree = select(Agency.id).where(Agency.id == user.agency_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Agency.id).where(Agency.parent_id == tree.c.id))
    return query.where(Alert.agency_id.in_(select(tree.c.id)))


def open_count(session: Session, user: User | None) -> int:
    """Count the open alerts a user may read, in one query (the navigation shows it)."""
    if user is None or not holds(user, "alerts.read"):
        return 0
    query = select(func.count()).select_from(Alert).where(Alert.status == "open")
    return session.scalar(_visible(session, user, query)) or 0


def list_alerts(session: Session, user: User, status: str | None,
                limit: int = 200) -> list[Alert]:
    """Return the newest alerts the user may read, of one status (None: all)."""
    query = (select(Alert)
             .options(joinedload(Alert.agency), joinedload(Alert.counter),
                      joinedload(Alert.sector))
             .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit))
    if status is not None:
        query = query.where(Alert.status == status)
    return list(session.scalars(_visible(session, user, query)).unique())


def count_by_status(session: Session, user: User) -> dict[str, int]:
    query = select(Alert.status, func.count()).group_by(Alert.status)
    counted = dict(session.execute(_visible(session, user, query)).all())
    return {status: counted.get(status, 0) for status in STATUSES}


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > ALERT_NOTE_MAX_LENGTH:
        raise AlertError("note too long")
    return note or None


# Written out, so that the audit log's words can be checked against every action logged.
ALERT_AUDIT_ACTIONS = {"acknowledged": "alert.acknowledged", "closed": "alert.closed"}


def _move(session: Session, alert: Alert, user: User, source: str, target: str,
          action: str, note: str | None) -> None:
    # One conditional update: of two managers acting at once, one moves it, the other hears.
    result: Any = session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.status == source)
        .values(status=target).execution_options(synchronize_session=False)
    )
    moved = result.rowcount
    if moved != 1:
        session.refresh(alert)
        raise AlertError(f"not {source}")
    session.refresh(alert)
    session.add(AlertEvent(alert_id=alert.id, action=action, actor_id=user.id, note=note,
                           at=utcnow()))
    session.flush()
    audit.record(session, ALERT_AUDIT_ACTIONS[action], actor=user, target=alert, rule=alert.kind,
                 agency=alert.agency.code, note=note)


def acknowledge(session: Session, alert: Alert, user: User, note: str | None) -> None:
    """Acknowledge an open alert with a note saying what is being done."""
    cleaned = _clean_note(note)
    if cleaned is None:
        raise AlertError("note required")
    _move(session, alert, user, "open", "acknowledged", "acknowledged", cleaned)


def close(session: Session, alert: Alert, user: User, note: str | None) -> None:
    """Close an acknowledged alert, with an optional last note."""
    _move(session, alert, user, "acknowledged", "closed", "closed", _clean_note(note))


def events_of(session: Session, alert: Alert) -> list[AlertEvent]:
    return list(session.scalars(
        select(AlertEvent).options(joinedload(AlertEvent.actor))
        .where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)))


def alert_code(session: Session, alert: Alert) -> str | None:
    """Return the survey code an alert came through, if any."""
    if alert.survey_code_id is None:
        return None
    return session.scalar(select(SurveyCode.code).where(SurveyCode.id == alert.survey_code_id))
