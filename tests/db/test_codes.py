"""Counter staff create, replace and revoke the codes of their agency; the CLI does the same."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, AuditEvent, Counter, Response, SurveyCode, User
from survey_app.services.access import can
from tests.factories import (
    VALID_ANSWERS,
    audit_actions,
    csrf_token,
    hidden_value,
    open_form,
    sector_id,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")


def codes_of(app, agency_id: int) -> list[SurveyCode]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(SurveyCode).where(SurveyCode.agency_id == agency_id).order_by(SurveyCode.id)))
        for row in rows:
            _ = row.counter.name, row.sector.code
        db.session.expunge_all()
        return rows


def create(client, world, agency_id, **data):
    page = f"/manage/agencies/{agency_id}"
    form = {"csrf_token": csrf_token(client, page), **data}
    return client.post(f"/agencies/{agency_id}/codes", data=form)


def test_staff_creates_codes_for_three_sectors_of_a_counter(app, world):
    client = world.login(app.test_client(), "staff_a")
    for sector in ("XAY_DUNG", "DAU_TU", "HO_TICH"):
        result = create(client, world, world.a_id, counter=str(world.counter_a_id),
                        sector=str(sector_id(app, sector)))
        assert result.status_code == 302
    page = client.get(result.headers["Location"]).get_data(as_text=True)
    assert "Đã tạo mã" in page

    codes = codes_of(app, world.a_id)
    assert [c.sector.code for c in codes] == ["DAT_DAI", "XAY_DUNG", "DAU_TU", "HO_TICH"]
    assert {c.counter.name for c in codes} == {"Quầy 1"}
    for code in codes:
        assert len(code.code) == 8
        assert not set(code.code) & set("01OIL")
        assert code.code in page
    assert audit_actions(app).count("code.created") == 3


def test_a_new_counter_can_be_named_while_creating_a_code(app, world):
    client = world.login(app.test_client(), "staff_a")
    result = create(client, world, world.a_id, counter="new", new_counter_name=" Quầy 7 ",
                    sector=str(sector_id(app, "DAT_DAI")))
    assert result.status_code == 302
    with app.app_context():
        names = set(db.session.scalars(
            select(Counter.name).where(Counter.agency_id == world.a_id)))
    assert names == {"Quầy 1", "Quầy 7"}


def test_creating_without_a_new_counter_name_says_so_and_stores_nothing(app, world):
    client = world.login(app.test_client(), "staff_a")
    before = len(codes_of(app, world.a_id))
    result = create(client, world, world.a_id, counter="new", new_counter_name="",
                    sector=str(sector_id(app, "DAT_DAI")))
    assert result.status_code == 400
    assert "Vui lòng nhập tên quầy mới." in result.get_data(as_text=True)
    assert len(codes_of(app, world.a_id)) == before


def test_a_counter_of_another_agency_is_not_a_valid_choice(app, world):
    client = world.login(app.test_client(), "staff_a")
    result = create(client, world, world.a_id, counter=str(world.counter_b_id),
                    sector=str(sector_id(app, "DAT_DAI")))
    assert result.status_code == 400
    assert "Vui lòng chọn quầy trong danh sách." in result.get_data(as_text=True)


def test_staff_of_another_agency_and_managers_cannot_change_codes(app, world):
    for persona in ("staff_b", "manager_a", "manager_province"):
        client = world.login(app.test_client(), persona)
        app.config["WTF_CSRF_ENABLED"] = False
        assert client.post(f"/agencies/{world.a_id}/codes", data={
            "counter": str(world.counter_a_id), "sector": str(sector_id(app, "DAU_TU"))
        }).status_code == 403
        assert client.post(f"/codes/{world.code_a}/revoke").status_code == 403
        assert client.post(f"/codes/{world.code_a}/replace").status_code == 403
        app.config["WTF_CSRF_ENABLED"] = True
    assert [c.is_active for c in codes_of(app, world.a_id)] == [True]


def test_managers_see_codes_but_not_the_code_form(app, world):
    manager = world.login(app.test_client(), "manager_a")
    page = manager.get(f"/manage/agencies/{world.a_id}").get_data(as_text=True)
    assert world.code_a in page
    assert "Tạo mã QR mới" not in page and "Thu hồi" not in page.split("<tbody>")[1]
    staff = world.login(app.test_client(), "staff_a")
    assert "Tạo mã QR mới" in staff.get(f"/manage/agencies/{world.a_id}").get_data(as_text=True)


def test_revoking_asks_first_then_closes_the_form_and_keeps_the_responses(app, world):
    citizen = app.test_client()
    citizen.post(f"/s/{world.code_a}", data={**VALID_ANSWERS, **open_form(citizen, world.code_a)})

    client = world.login(app.test_client(), "staff_a")
    confirm = client.get(f"/codes/{world.code_a}/revoke")
    assert confirm.status_code == 200
    assert f"Thu hồi mã {world.code_a}?" in confirm.get_data(as_text=True)
    assert codes_of(app, world.a_id)[0].is_active  # asking changed nothing

    token = hidden_value(confirm.get_data(as_text=True), "csrf_token")
    revoked = client.post(f"/codes/{world.code_a}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302

    assert citizen.get(f"/s/{world.code_a}").status_code == 410
    [code] = codes_of(app, world.a_id)
    assert not code.is_active
    with app.app_context():
        assert db.session.scalar(select(Response.survey_code_id)) == code.id
    assert "code.revoked" in audit_actions(app)
    # Revoking twice is not possible: the code's pages answer 410.
    assert client.get(f"/codes/{world.code_a}/revoke").status_code == 410


def test_replacing_revokes_the_old_code_and_issues_one_for_the_same_counter_and_sector(
    app, world
):
    client = world.login(app.test_client(), "staff_a")
    token = csrf_token(client, f"/codes/{world.code_a}/replace")
    result = client.post(f"/codes/{world.code_a}/replace", data={"csrf_token": token})
    assert result.status_code == 302

    old, new = codes_of(app, world.a_id)
    assert old.code == world.code_a and not old.is_active
    assert new.is_active and new.code != old.code
    assert (new.counter_id, new.sector_id) == (old.counter_id, old.sector_id)
    assert f"code-{new.code}" in result.headers["Location"]
    with app.app_context():
        revoked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "code.revoked"))
        assert revoked.details["replaced_by"] == new.code
    assert app.test_client().get(f"/s/{new.code}").status_code == 200
    assert app.test_client().get(f"/s/{old.code}").status_code == 410


def test_admin_manages_codes_of_any_agency(app, world):
    client = world.login(app.test_client(), "admin")
    result = create(client, world, world.b_id, counter=str(world.counter_b_id),
                    sector=str(sector_id(app, "DAT_DAI")))
    assert result.status_code == 302
    assert len(codes_of(app, world.b_id)) == 2


def test_codes_page_shows_recent_responses_per_code(app, world):
    citizen = app.test_client()
    for _ in range(2):
        tokens = open_form(citizen, world.code_a)
        citizen.post(f"/s/{world.code_a}", data={**VALID_ANSWERS, **tokens})
    client = world.login(app.test_client(), "staff_a")
    page = client.get(f"/manage/agencies/{world.a_id}").get_data(as_text=True)
    row = page.split(f'id="code-{world.code_a}"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0].strip() for c in row.split("<td")[1:]]
    assert cells[4].endswith(">2") and cells[5].endswith(">2")  # 7 and 30 days
    assert "Chưa có" not in cells[6]


# Commands ------------------------------------------------------------------------------


def test_cli_creates_a_code_and_a_missing_counter_and_prints_the_url_last(app, runner, world):
    result = runner.invoke(args=["codes", "create", "--agency", "XA-A", "--counter", "Quầy 9",
                                 "--sector", "dau_tu", "--by", world.emails["staff_a"]])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith("http://survey.test/s/")
    code = url.rsplit("/", 1)[1]
    assert app.test_client().get(f"/s/{code}").status_code == 200
    created = [c for c in codes_of(app, world.a_id) if c.code == code][0]
    assert (created.counter.name, created.sector.code) == ("Quầy 9", "DAU_TU")


def test_cli_lists_codes_as_json(app, runner, world):
    result = runner.invoke(args=["codes", "list", "--agency", "XA-A", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert items == [{
        **items[0],
        "code": world.code_a, "url": f"http://survey.test/s/{world.code_a}", "agency": "XA-A",
        "counter": "Quầy 1", "sector": "DAT_DAI", "active": True,
    }]
    everything = json.loads(runner.invoke(args=["codes", "list", "--json"]).output)
    assert {i["code"] for i in everything} == {world.code_a, world.code_b}


def test_cli_revokes_and_reports_errors_without_a_traceback(app, runner, world):
    staff_a = world.emails["staff_a"]
    assert runner.invoke(args=["codes", "revoke", world.code_a.lower(), "--by", staff_a]
                         ).exit_code == 0
    assert app.test_client().get(f"/s/{world.code_a}").status_code == 410
    listed = json.loads(runner.invoke(args=["codes", "list", "--json"]).output)
    assert world.code_a not in {i["code"] for i in listed}

    for args in (["codes", "revoke", world.code_a, "--by", staff_a],
                 ["codes", "revoke", "NOPE2222", "--by", staff_a],
                 ["codes", "revoke", world.code_b, "--by", "nobody@xa.example"],
                 ["codes", "create", "--agency", "NOPE", "--counter", "Q", "--sector", "DAT_DAI",
                  "--by", staff_a],
                 ["codes", "create", "--agency", "XA-A", "--counter", "Q", "--sector", "NOPE",
                  "--by", staff_a]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert "Error:" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("persona", ["staff_a", "staff_b", "manager_a", "manager_province",
                                     "admin"])
def test_cli_changes_a_code_only_for_whom_the_permission_table_allows(app, runner, world,
                                                                      persona):
    """The command asks the same table as the pages: commune A's staff and admins only."""
    email = world.emails[persona]
    with app.app_context():
        agency = db.session.get(Agency, world.a_id)
        user = db.session.scalar(select(User).where(User.email == email))
        allowed = {action: can(user, action, agency)
                   for action in ("code.create", "code.replace", "code.revoke")}
    assert allowed["code.revoke"] == (persona in ("staff_a", "admin"))

    created = runner.invoke(args=["codes", "create", "--agency", "XA-A", "--counter", "Quầy 5",
                                  "--sector", "DAT_DAI", "--by", email])
    replaced = runner.invoke(args=["codes", "replace", world.code_a, "--by", email])
    for result, action in ((created, "code.create"), (replaced, "code.replace")):
        if allowed[action]:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code == 1
            assert f"may not {action} at XA-A" in result.output
    new_code = replaced.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    target = new_code if allowed["code.replace"] else world.code_a
    revoked = runner.invoke(args=["codes", "revoke", target, "--by", email])
    if allowed["code.revoke"]:
        assert revoked.exit_code == 0, revoked.output
        assert app.test_client().get(f"/s/{target}").status_code == 410
        with app.app_context():
            event = db.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "code.revoked").order_by(AuditEvent.id.desc())).first()
            assert event is not None and event.actor_email == email
    else:
        assert revoked.exit_code == 1 and "may not code.revoke at XA-A" in revoked.output
        assert app.test_client().get(f"/s/{world.code_a}").status_code == 200
