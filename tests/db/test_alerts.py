"""Alerts: a citizen's «Có» reaches the managers above the counter the same day, by inbox and
e-mail; managers acknowledge and close them; admins tune the rules; all of it audit-logged."""

from __future__ import annotations

import email
import email.header
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import (
    Agency,
    Alert,
    AlertDelivery,
    AlertEvent,
    AlertRule,
    DossierVolume,
    Response,
    SurveyCode,
    User,
)
from survey_app.questionnaire import CURRENT
from survey_app.services import alerts, periods
from survey_app.services.recording import Sender, record_response
from survey_app.services.review import Outcome, flag_response, restore_response
from tests.factories import (
    PASSWORD,
    World,
    a_moment_later,
    add_code,
    audit_events,
    csrf_token,
    free_port,
    make_user,
    open_form,
    phone,
    record,
    sign_in,
    submit,
    text_of,
    words_of,
)

CITIZEN_COMMENT = "Cán bộ Nguyễn Văn X đòi 500.000 đồng bồi dưỡng"
INTEGRITY_YES = {
    "q1": "2", "q2": "2", "q3": "3", "q4": "na", "q5": "na", "q6": "2",
    "q7": "yes", "q8": [], "comment": CITIZEN_COMMENT, "dossier": "",
}  # fmt: skip


class Mailbox:
    """What a local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def alerts_of(app, **where: Any) -> list[Alert]:
    with app.app_context():
        query = select(Alert).order_by(Alert.id)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        found = list(db.session.scalars(query))
        for alert in found:
            db.session.expunge(alert)
        return found


def send_integrity_yes(app, world: World, answers: dict[str, Any] | None = None) -> Any:
    """A citizen opens commune A's form on a phone, answers «Có» to question 7, sends it."""
    return submit(phone(app), world.code_a, answers or INTEGRITY_YES)


def open_count_in_navigation(client) -> str | None:
    html = text_of(client.get("/manage/"))
    marker = 'data-open-alerts="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]


# Raising ---------------------------------------------------------------------------------


def test_a_citizens_yes_reaches_the_managers_of_the_commune_and_the_province(app, world):
    sent = send_integrity_yes(app, world)
    assert sent.status_code == 303  # the citizen is thanked as always

    [alert] = alerts_of(app)
    assert (alert.kind, alert.agency_id, alert.status) == ("integrity", world.a_id, "open")
    assert alert.counter_id == world.counter_a_id and alert.response_id is not None
    for persona in ("manager_a", "manager_province", "admin"):
        client = world.signed_in(persona)
        assert open_count_in_navigation(client) == "1", persona
        inbox = words_of(client.get("/alerts/"))
        assert "câu 7" in inbox and "Xã A" in inbox
        assert CITIZEN_COMMENT not in inbox
    # The other commune's manager sees neither the count nor the alert.
    make_user(app, "lanhdao.b@xa.example", "manager", "XA-B")
    other = sign_in(app.test_client(), "lanhdao.b@xa.example")
    assert open_count_in_navigation(other) is None
    assert "Xã A" not in words_of(other.get("/alerts/"))
    assert other.get(f"/alerts/{alert.id}").status_code == 403


def test_staff_see_no_alerts(app, world):
    send_integrity_yes(app, world)
    staff = world.signed_in("staff_a")
    assert open_count_in_navigation(staff) is None
    assert staff.get("/alerts/").status_code == 403


def test_a_replayed_form_raises_no_second_alert(app, world):
    client = phone(app)
    tokens = open_form(client, world.code_a)
    assert submit(client, world.code_a, INTEGRITY_YES, tokens).status_code == 303
    assert submit(client, world.code_a, INTEGRITY_YES, tokens).status_code == 303
    assert len(alerts_of(app)) == 1


def test_a_flagged_answer_raises_nothing(app, world):
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == world.code_a))
        response, _ = record_response(
            db.session, code, CURRENT, INTEGRITY_YES, "honeypot-nonce", "vi",
            sender=Sender(is_honeypot_filled=True))
        db.session.commit()
        assert response.status == "flagged"
    assert alerts_of(app) == []


def test_a_flagged_answer_restored_by_a_reviewer_raises_its_alert_once(app, world):
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == world.code_a))
        response, _ = record_response(
            db.session, code, CURRENT, INTEGRITY_YES, "honeypot-nonce", "vi",
            sender=Sender(is_honeypot_filled=True))
        db.session.commit()
        assert restore_response(db.session, response) == Outcome.CHANGED
        db.session.commit()
        flag_response(db.session, response, "other")
        assert restore_response(db.session, response) == Outcome.CHANGED
        db.session.commit()
        response_id = response.id
    raised = alerts_of(app)
    assert [(a.kind, a.response_id) for a in raised] == [("integrity", response_id)]


def test_no_answer_or_a_no_raises_nothing(app, world):
    for q7 in ("no", "decline", ""):
        assert send_integrity_yes(app, world, {**INTEGRITY_YES, "q7": q7}).status_code == 303
    assert alerts_of(app) == []


def test_a_disabled_rule_raises_nothing(app, world):
    with app.app_context():
        rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == "integrity"))
        rule.is_enabled = False
        db.session.commit()
    send_integrity_yes(app, world)
    assert alerts_of(app) == []


def test_the_migration_seeds_every_rule_enabled_with_safe_defaults(app):
    with app.app_context():
        rules = {r.kind: (r.is_enabled, r.parameters)
                 for r in db.session.scalars(select(AlertRule))}
    assert rules == {
        "integrity": (True, {}),
        "dissatisfied_run": (True, {"count": 3}),
        "below_target": (True, {"days": 30}),
        "implausible_rate": (True, {"days": 30}),
    }


def test_a_run_of_very_dissatisfied_answers_at_one_counter_raises_once_a_day(app, world):
    with app.app_context():
        today = periods.local_date(a_moment_later())
        for _n in range(2):
            record(world.code_a, q6="1", q7="no")
        db.session.commit()
    assert alerts_of(app) == []
    with app.app_context():
        record(world.code_a, q6="1", q7="no")
        record(world.code_a, q6="1", q7="no")  # a fourth: the same alert
        db.session.commit()
    [alert] = alerts_of(app)
    assert (alert.kind, alert.counter_id, alert.day) == ("dissatisfied_run", world.counter_a_id,
                                                         today)
    assert alert.details == {"count": 3, "threshold": 3}


def test_very_dissatisfied_answers_at_other_counters_or_days_make_no_run(app, world):
    other = add_code(app, world.a_id, "Quầy 2", "DAT_DAI")
    yesterday = a_moment_later() - timedelta(days=1)
    with app.app_context():
        record(world.code_a, yesterday, q6="1", q7="no")
        record(world.code_a, q6="1", q7="no")
        record(other.code, q6="1", q7="no")
        record(world.code_a, q6="2", q7="no")
        db.session.commit()
    assert alerts_of(app) == []


# Handling --------------------------------------------------------------------------------


def test_a_manager_acknowledges_with_a_note_then_closes(app, world):
    send_integrity_yes(app, world)
    [alert] = alerts_of(app)
    client = world.signed_in("manager_a")
    token = csrf_token(client, f"/alerts/{alert.id}")

    refused = client.post(f"/alerts/{alert.id}/acknowledge",
                          data={"csrf_token": token, "note": "  \t\x00 "})
    assert refused.status_code == 400
    assert "Vui lòng ghi chú việc đã hoặc sẽ làm." in words_of(refused)
    early_close = client.post(f"/alerts/{alert.id}/close", data={"csrf_token": token},
                              follow_redirects=True)
    assert "Chỉ đóng được cảnh báo đã tiếp nhận" in words_of(early_close)

    done = client.post(f"/alerts/{alert.id}/acknowledge", follow_redirects=True,
                       data={"csrf_token": token, "note": "Đã gọi\x00 cán bộ quầy 1 lên làm việc"})
    page = words_of(done)
    assert "Đã tiếp nhận cảnh báo." in page and "Đã gọi cán bộ quầy 1 lên làm việc" in page
    assert open_count_in_navigation(client) is None
    again = client.post(f"/alerts/{alert.id}/acknowledge", follow_redirects=True,
                        data={"csrf_token": token, "note": "lần hai"})
    assert "đã được tiếp nhận trước đó" in words_of(again)

    closed = client.post(f"/alerts/{alert.id}/close", follow_redirects=True,
                         data={"csrf_token": token, "note": "Đã xử lý kỷ luật"})
    assert "Đã đóng cảnh báo." in words_of(closed)
    [alert] = alerts_of(app)
    assert alert.status == "closed"
    with app.app_context():
        history = [(e.action, e.note, e.actor_id) for e in db.session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id))]
    manager = world.user_ids["manager_a"]
    assert history == [("raised", None, None),
                       ("acknowledged", "Đã gọi cán bộ quầy 1 lên làm việc", manager),
                       ("closed", "Đã xử lý kỷ luật", manager)]
    logged = [(e.action, e.actor_id, e.details["note"]) for e in audit_events(app)
              if e.action.startswith("alert.")]
    assert logged == [("alert.acknowledged", manager, "Đã gọi cán bộ quầy 1 lên làm việc"),
                      ("alert.closed", manager, "Đã xử lý kỷ luật")]
    assert "Đã đóng" in words_of(client.get("/alerts/?status=closed"))


def test_a_huge_note_is_refused_and_nothing_changes(app, world):
    send_integrity_yes(app, world)
    [alert] = alerts_of(app)
    client = world.signed_in("manager_province")
    token = csrf_token(client, f"/alerts/{alert.id}")
    refused = client.post(f"/alerts/{alert.id}/acknowledge",
                          data={"csrf_token": token, "note": "x" * 5000})
    assert refused.status_code == 400 and "Ghi chú tối đa 1.000 ký tự." in words_of(refused)
    assert alerts_of(app)[0].status == "open"


def test_another_communes_manager_cannot_acknowledge(app, world):
    send_integrity_yes(app, world)
    [alert] = alerts_of(app)
    make_user(app, "lanhdao.b@xa.example", "manager", "XA-B")
    client = sign_in(app.test_client(), "lanhdao.b@xa.example", PASSWORD)
    token = csrf_token(client, "/alerts/")
    refused = client.post(f"/alerts/{alert.id}/acknowledge",
                          data={"csrf_token": token, "note": "không phải việc của tôi"})
    assert refused.status_code == 403
    assert alerts_of(app)[0].status == "open"


def test_acknowledging_needs_a_valid_csrf_token(app, world):
    send_integrity_yes(app, world)
    [alert] = alerts_of(app)
    client = world.signed_in("manager_a")
    refused = client.post(f"/alerts/{alert.id}/acknowledge", data={"note": "giả mạo"})
    assert refused.status_code == 400
    assert alerts_of(app)[0].status == "open"


def test_an_unknown_alert_is_not_found(app, world):
    assert world.signed_in("admin").get("/alerts/999999").status_code == 404


def test_the_inbox_ignores_an_unknown_status(app, world):
    send_integrity_yes(app, world)
    page = world.signed_in("manager_a").get("/alerts/?status=%00drop")
    assert page.status_code == 200 and "câu 7" in words_of(page)


# Rules and preferences -------------------------------------------------------------------


def test_an_admin_changes_a_rule_and_the_change_is_logged(app, world):
    client = world.signed_in("admin")
    token = csrf_token(client, "/alerts/rules")
    saved = client.post("/alerts/rules", follow_redirects=True, data={
        "csrf_token": token, "rule": "dissatisfied_run",
        "dissatisfied_run-is_enabled": "y", "dissatisfied_run-count": "5"})
    assert "Đã lưu quy tắc cảnh báo." in words_of(saved)
    with app.app_context():
        rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == "dissatisfied_run"))
        assert (rule.is_enabled, rule.parameters) == (True, {"count": 5})
    [event] = audit_events(app, "alert_rule.updated")
    assert event.details["changes"] == {"count": [3, 5]}

    turned_off = client.post("/alerts/rules", follow_redirects=True, data={
        "csrf_token": token, "rule": "integrity"})
    assert "Đã lưu quy tắc cảnh báo." in words_of(turned_off)
    send_integrity_yes(app, world)
    assert alerts_of(app) == []


@pytest.mark.parametrize("count", ["1", "51", "abc", "", "3\x00", str(10**30)])
def test_a_rule_refuses_values_out_of_range(app, world, count):
    client = world.signed_in("admin")
    token = csrf_token(client, "/alerts/rules")
    refused = client.post("/alerts/rules", data={
        "csrf_token": token, "rule": "dissatisfied_run",
        "dissatisfied_run-is_enabled": "y", "dissatisfied_run-count": count})
    assert refused.status_code == 400
    text = words_of(refused)
    assert "Cần từ 2 đến 50." in text or "Vui lòng nhập một số nguyên." in text
    with app.app_context():
        rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == "dissatisfied_run"))
        assert rule.parameters == {"count": 3}
    assert audit_events(app, "alert_rule.updated") == []


def test_a_forged_rule_name_changes_nothing(app, world):
    client = world.signed_in("admin")
    token = csrf_token(client, "/alerts/rules")
    answer = client.post("/alerts/rules", follow_redirects=True,
                         data={"csrf_token": token, "rule": "<script>", "x-count": "9"})
    assert "Không rõ quy tắc cần lưu." in words_of(answer)
    assert audit_events(app, "alert_rule.updated") == []


def test_a_stored_parameter_out_of_range_falls_back_to_its_default(app):
    assert alerts.parameters_of(AlertRule(kind="dissatisfied_run", parameters={"count": 0}),
                                "dissatisfied_run") == {"count": 3}
    assert alerts.parameters_of(AlertRule(kind="below_target", parameters={"days": True}),
                                "below_target") == {"days": 30}


def test_a_manager_chooses_the_daily_digest(app, world):
    client = world.signed_in("manager_a")
    token = csrf_token(client, "/alerts/preferences")
    saved = client.post("/alerts/preferences", follow_redirects=True,
                        data={"csrf_token": token, "delivery": "digest"})
    assert "Đã lưu cách nhận cảnh báo." in words_of(saved)
    with app.app_context():
        assert alerts.delivery_of(db.session, world.user_ids["manager_a"]) == "digest"
    [event] = audit_events(app, "alert_preference.updated")
    assert event.details["changes"] == {"delivery": ["each", "digest"]}
    forged = client.post("/alerts/preferences", data={"csrf_token": token, "delivery": "all"})
    assert forged.status_code == 400
    with app.app_context():
        assert alerts.delivery_of(db.session, world.user_ids["manager_a"]) == "digest"


# E-mail ------------------------------------------------------------------------------------


def test_each_alert_is_mailed_with_a_link_and_never_the_citizens_words(app, world, runner,
                                                                        mailbox):
    box, port = mailbox
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    app.config["MAIL_FROM"] = "canhbao@tinh.example"
    send_integrity_yes(app, world)
    [alert] = alerts_of(app)

    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert "e-mails sent: 2" in result.output
    for persona in ("manager_a", "manager_province"):
        [message] = box.to(world.emails[persona])
        body = body_of(message)
        assert f"http://survey.test/alerts/{alert.id}" in body
        assert "Xã A" in body and "Quầy 1" in body
        assert CITIZEN_COMMENT not in body and CITIZEN_COMMENT not in message["Subject"]
        assert message["From"] == "canhbao@tinh.example"
    # Admins and staff receive none; a second run sends nothing again.
    assert box.to(world.emails["admin"]) == [] and box.to(world.emails["staff_a"]) == []
    again = runner.invoke(args=["alerts", "send"])
    assert "e-mails sent: 0" in again.output and len(box.messages) == 2


def test_a_failed_send_loses_neither_the_answer_nor_the_mail(app, world, runner, mailbox):
    box, port = mailbox
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    assert send_integrity_yes(app, world).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    failed = runner.invoke(args=["alerts", "send"])
    assert failed.exit_code == 1 and "failed, kept to try again: 2" in failed.output
    with app.app_context():
        rows = db.session.scalars(select(AlertDelivery)).all()
        assert [(r.sent_at, r.attempts) for r in rows] == [(None, 1), (None, 1)]
        assert all(r.last_error for r in rows)
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    retried = runner.invoke(args=["alerts", "send"])
    assert retried.exit_code == 0 and "e-mails sent: 2" in retried.output
    assert len(box.messages) == 2


def test_the_digest_brings_a_days_alerts_in_one_mail(app, world, runner, mailbox):
    box, port = mailbox
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    with app.app_context():
        manager = db.session.get(User, world.user_ids["manager_province"])
        alerts.set_delivery(db.session, manager, "digest")
        db.session.commit()
    send_integrity_yes(app, world)
    send_integrity_yes(app, world)
    runner.invoke(args=["alerts", "send"])
    assert box.to(world.emails["manager_province"]) == []
    assert len(box.to(world.emails["manager_a"])) == 2
    result = runner.invoke(args=["alerts", "digest"])
    assert "e-mails sent: 1" in result.output
    [digest] = box.to(world.emails["manager_province"])
    assert "2 cảnh báo mới" in str(email.header.make_header(
        email.header.decode_header(digest["Subject"])))
    assert body_of(digest).count("http://survey.test/alerts/") == 3  # two alerts, one settings


def test_a_manager_who_wants_no_mail_gets_none(app, world, runner, mailbox):
    box, port = mailbox
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    client = world.signed_in("manager_a")
    client.post("/alerts/preferences", data={
        "csrf_token": csrf_token(client, "/alerts/preferences"), "delivery": "none"})
    send_integrity_yes(app, world)
    runner.invoke(args=["alerts", "send"])
    assert box.to(world.emails["manager_a"]) == []
    assert len(box.to(world.emails["manager_province"])) == 1


def test_without_smtp_nothing_is_queued_and_the_command_says_so(app, world, runner):
    send_integrity_yes(app, world)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertDelivery)) == 0
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0 and "SMTP_URL is not set" in result.output


# Evaluated rules ---------------------------------------------------------------------------


def test_a_counter_clearly_below_target_is_alerted_once(app, world, runner):
    start = a_moment_later() - timedelta(days=3)
    with app.app_context():
        today = periods.local_date(a_moment_later())
        for n in range(40):
            record(world.code_a, start + timedelta(minutes=n), q6="2" if n % 4 else "5",
                   q7="no")
        db.session.commit()
    result = runner.invoke(args=["alerts", "evaluate"])
    assert result.exit_code == 0, result.output
    below = alerts_of(app, kind="below_target")
    scopes = {("counter" if a.counter_id else "sector", a.details["indicator"]) for a in below}
    assert ("counter", "overall") in scopes and ("sector", "overall") in scopes
    counter_alert = next(a for a in below if a.counter_id == world.counter_a_id
                         and a.details["indicator"] == "overall")
    assert counter_alert.details["high"] < counter_alert.details["threshold"]
    assert counter_alert.day == today
    again = runner.invoke(args=["alerts", "evaluate"])
    assert "alerts raised: 0" in again.output


def test_a_counter_whose_interval_reaches_the_target_is_not_alerted(app, world):
    start = a_moment_later() - timedelta(days=2)
    with app.app_context():
        # 10 answers, 8 satisfied: 80% below 90%, but the interval reaches above it.
        for n in range(10):
            record(world.code_a, start + timedelta(minutes=n), q6="4" if n < 8 else "2",
                   q7="no", q1="5", q2="5", q3="5", q5="5")
        db.session.commit()
        assert alerts.evaluate(db.session) == []


def test_a_rate_above_the_dossiers_received_is_alerted(app, world):
    moment = a_moment_later()
    with app.app_context():
        today = periods.local_date(moment)
        for n in range(3):
            record(world.code_a, moment - timedelta(minutes=n), q7="no")
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == world.code_a))
        db.session.add(DossierVolume(agency_id=world.a_id, sector_id=code.sector_id,
                                     day=today.replace(day=1), received=1))
        db.session.commit()
        raised = [a.kind for a in alerts.evaluate(db.session, today)]
        db.session.commit()
    rates = [a for a in alerts_of(app) if a.kind == "implausible_rate"]
    assert [(a.agency_id, a.details["flag"]) for a in rates] == [(world.a_id, "above_100")]
    assert raised.count("implausible_rate") == 1


def test_the_window_blocks_start_on_fixed_days(app):
    with app.app_context():
        period, block = alerts._window(date(2026, 3, 15), 30)
        assert (period.start, period.end) == (date(2026, 2, 14), date(2026, 3, 15))
        assert block <= date(2026, 3, 15) and (date(2026, 3, 15) - block).days < 30
        assert alerts._window(block, 30)[1] == block


def test_recipients_are_the_enabled_managers_of_the_agency_and_above(app, world):
    make_user(app, "cu.lanhdao@tinh.example", "manager", "TINH", is_enabled=False)
    with app.app_context():
        got = {u.email for u in alerts.recipients(db.session, world.a_id)}
        assert got == {world.emails["manager_a"], world.emails["manager_province"]}
        province = db.session.scalar(select(Agency).where(Agency.code == "TINH"))
        assert {u.email for u in alerts.recipients(db.session, province.id)} == {
            world.emails["manager_province"]}


# A local test server without TLS: the sign-in goes in clear on the loopback only.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_a_percent_encoded_sign_in_reaches_the_mail_server(app, world, runner):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box, port, seen = Mailbox(), free_port(), []

    def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"m@t khau:1")

    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        app.config["SMTP_URL"] = f"smtp://canh%40bao:m%40t%20khau%3A1@127.0.0.1:{port}"
        send_integrity_yes(app, world)
        result = runner.invoke(args=["alerts", "send"])
    finally:
        controller.stop()
    assert "e-mails sent: 2" in result.output, result.output
    assert seen and set(seen) == {("canh@bao", "m@t khau:1")}
    assert len(box.messages) == 2
