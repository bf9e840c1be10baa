"""The commands an operator runs for accounts, agencies and API tokens."""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.security import check_password_hash

from survey_app.extensions import db
from survey_app.models import Agency, ApiToken, User, utcnow
from survey_app.services.accounts import token_hash, user_for_token
from tests.factories import audit_events, count_rows, create_agency, make_user

PASSWORD = "đúng-mật-khẩu-dài"


@pytest.fixture
def agency(app: Flask) -> str:
    """Return the code of a commune under a province, committed."""
    with app.app_context():
        province = create_agency("DEMO-TTHCC", "Trung tâm tỉnh")
        create_agency("DEMO-X-CUAVIET", "Xã Cửa Việt", "commune", parent=province)
        db.session.commit()
    return "DEMO-X-CUAVIET"


def get_user(app: Flask, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            _ = user.agency
        db.session.expunge_all()
        return user


def agencies(app: Flask) -> dict[str, tuple[str, str, str | None]]:
    """Return every agency as code -> (name, level, parent code)."""
    with app.app_context():
        return {a.code: (a.name, a.level, a.parent.code if a.parent else None)
                for a in db.session.scalars(select(Agency))}


def assert_fails(result: Any, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def write_csv(tmp_path: Path, text: str, name: str = "agencies.csv", bom: bool = False) -> str:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


# users ------------------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin(app, runner, agency):
    result = runner.invoke(
        args=["users", "create", "CB@Example.gov.vn", "--role", "manager", "--agency", agency,
              "--name", "Nguyễn Văn A", "--password-stdin"],
        input=PASSWORD + "\nignored second line\n",
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "created manager cb@example.gov.vn (agency DEMO-X-CUAVIET)\n"
        "the owner chooses a new password at the first sign-in\n"
    )
    user = get_user(app, "cb@example.gov.vn")
    assert user is not None
    assert user.must_change_password  # the operator chose it, not the owner
    assert check_password_hash(user.password_hash, PASSWORD)
    assert PASSWORD not in user.password_hash
    assert (user.role, user.agency.code, user.name, user.is_enabled) == (
        "manager", agency, "Nguyễn Văn A", True)
    assert [e.details["email"] for e in audit_events(app, "user.created")] == [
        "cb@example.gov.vn"]


def test_users_create_prompts_twice_for_a_hidden_password(app, runner):
    result = runner.invoke(args=["users", "create", "admin@example.gov.vn", "--role", "admin",
                                 "--own-password"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output
    assert result.stdout.endswith("created admin admin@example.gov.vn\n")
    user = get_user(app, "admin@example.gov.vn")
    assert user is not None and user.agency_id is None
    assert not user.must_change_password  # the operator's own account
    assert check_password_hash(user.password_hash, PASSWORD)


def test_users_create_keeps_asking_until_both_passwords_match(app, runner):
    result = runner.invoke(args=["users", "create", "a@example.gov.vn", "--role", "admin"],
                           input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert get_user(app, "a@example.gov.vn") is not None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "manager", "--agency", "NO-SUCH"], PASSWORD,
         "no agency with the code 'NO-SUCH'"),
        (["--role", "staff"], PASSWORD, "the role staff needs an agency"),
        (["--role", "manager"], PASSWORD, "the role manager needs an agency"),
        (["--role", "auditor", "--agency", "DEMO-X-CUAVIET"], PASSWORD,
         "role must be one of admin, manager, staff"),
        (["--role", "staff", "--agency", "DEMO-X-CUAVIET"], "short", "at least 10 characters"),
        (["--role", "admin"], "", "an administrator's password must have at least 12 characters"),
        (["--role", "admin"], "eleven-char", "at least 12 characters"),
    ],
)
def test_users_create_refuses_what_it_cannot_do(app, runner, agency, args, password, message):
    before = count_rows(app, User)
    result = runner.invoke(args=["users", "create", "new@example.gov.vn", *args,
                                 "--password-stdin"], input=password + "\n")

    assert_fails(result, message)
    assert count_rows(app, User) == before
    assert audit_events(app, "user.created") == []


def test_users_create_refuses_an_email_already_taken(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    result = runner.invoke(args=["users", "create", " CB@example.gov.vn", "--role", "admin",
                                 "--password-stdin"], input=PASSWORD + "\n")

    assert_fails(result, "already exists")
    assert count_rows(app, User) == 1


def test_users_create_refuses_a_bad_email_and_saves_nothing(app, runner):
    result = runner.invoke(args=["users", "create", "not-an-email", "--role", "admin",
                                 "--password-stdin"], input=PASSWORD + "\n")

    assert_fails(result, "not a valid email address")
    assert count_rows(app, User) == 0


def test_users_list_shows_each_account(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    make_user(app, "admin@example.gov.vn", "admin", is_enabled=False)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "cb@example.gov.vn"))
        user.last_login_at = utcnow()
        db.session.commit()

    result = runner.invoke(args=["users", "list"])

    assert result.exit_code == 0, result.output
    header, _rule, first, second = result.stdout.splitlines()
    assert header.split() == ["email", "role", "agency", "enabled", "second", "factor", "last",
                              "login"]
    assert first.split() == ["admin@example.gov.vn", "admin", "-", "no", "off", "never"]
    *cells, day, time, offset = second.split()
    assert cells == ["cb@example.gov.vn", "manager", agency, "yes", "off"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", f"{day} {time}")
    assert offset == "+0700"  # shown in the deployment's time zone


def test_users_list_says_when_there_is_nobody(runner):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert result.stdout == "no accounts yet\n"


def test_users_disable_stops_the_account_and_is_audited(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)

    result = runner.invoke(args=["users", "disable", "CB@example.gov.vn"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "disabled cb@example.gov.vn\n"
    user = get_user(app, "cb@example.gov.vn")
    assert user is not None and not user.is_enabled
    (event,) = audit_events(app, "user.updated")
    assert event.details["changes"] == {"is_enabled": [True, False]}
    assert event.actor_id is None

    again = runner.invoke(args=["users", "disable", "cb@example.gov.vn"])
    assert again.exit_code == 0
    assert "already disabled" in again.stdout
    assert len(audit_events(app, "user.updated")) == 1


def test_users_disable_refuses_an_unknown_email(runner):
    result = runner.invoke(args=["users", "disable", "nobody@example.gov.vn"])
    assert_fails(result, "no account with the email 'nobody@example.gov.vn'")


# agencies ---------------------------------------------------------------------------------

GOOD_CSV = """code,name,level,parent
X-CUAVIET,Xã Cửa Việt,commune,TTHCC
TTHCC,Trung tâm Phục vụ hành chính công tỉnh,province,
P-DONGHA,"Phường Đông Hà, thành phố",commune,TTHCC
"""


def test_agencies_import_creates_agencies_with_parents_defined_later(app, runner, tmp_path):
    result = runner.invoke(args=["agencies", "import", write_csv(tmp_path, GOOD_CSV)])

    assert result.exit_code == 0, result.output
    assert result.stdout == "3 created, 0 updated, 0 unchanged\n"
    assert agencies(app) == {
        "TTHCC": ("Trung tâm Phục vụ hành chính công tỉnh", "province", None),
        "X-CUAVIET": ("Xã Cửa Việt", "commune", "TTHCC"),
        "P-DONGHA": ("Phường Đông Hà, thành phố", "commune", "TTHCC"),
    }
    (event,) = audit_events(app, "agency.imported")
    assert event.actor_id is None
    assert event.details == {"file": "agencies.csv", "created": 3, "updated": 0,
                             "unchanged": 0, "operator": getpass.getuser()}


def test_agencies_import_twice_changes_nothing_the_second_time(app, runner, tmp_path):
    path = write_csv(tmp_path, GOOD_CSV)
    runner.invoke(args=["agencies", "import", path])
    before = agencies(app)

    result = runner.invoke(args=["agencies", "import", path])

    assert result.exit_code == 0, result.output
    assert result.stdout == "0 created, 0 updated, 3 unchanged\n"
    assert agencies(app) == before
    assert [e.details["unchanged"] for e in audit_events(app, "agency.imported")] == [0, 3]


def test_agencies_import_updates_what_differs(app, runner, tmp_path):
    with app.app_context():
        province = create_agency("TTHCC", "Old name")
        create_agency("X-CUAVIET", "Xã Cửa Việt", "commune")
        create_agency("P-DONGHA", "Phường Đông Hà, thành phố", "province", parent=province)
        db.session.commit()

    result = runner.invoke(args=["agencies", "import", write_csv(tmp_path, GOOD_CSV)])

    assert result.exit_code == 0, result.output
    assert result.stdout == "0 created, 3 updated, 0 unchanged\n"
    assert agencies(app)["TTHCC"] == ("Trung tâm Phục vụ hành chính công tỉnh", "province", None)
    assert agencies(app)["X-CUAVIET"][2] == "TTHCC"
    assert agencies(app)["P-DONGHA"][1:] == ("commune", "TTHCC")


def test_agencies_import_accepts_a_parent_already_in_the_database(app, runner, tmp_path):
    with app.app_context():
        create_agency("TTHCC")
        db.session.commit()
    path = write_csv(tmp_path, "code,name,level,parent\nX-A,Xã A,commune,tthcc\n")

    result = runner.invoke(args=["agencies", "import", path])

    assert result.exit_code == 0, result.output
    assert result.stdout == "1 created, 0 updated, 0 unchanged\n"
    assert agencies(app)["X-A"] == ("Xã A", "commune", "TTHCC")


def test_agencies_import_handles_a_bom_crlf_and_spaces(app, runner, tmp_path):
    text = ("Code, Name ,LEVEL,parent\r\n"
            "  tthcc , Trung tâm tỉnh , Province ,\r\n"
            "\r\n"
            "x_cua-viet,Xã Cửa Việt,commune,TTHCC\r\n")
    result = runner.invoke(args=["agencies", "import", write_csv(tmp_path, text, bom=True)])

    assert result.exit_code == 0, result.output
    assert agencies(app) == {"TTHCC": ("Trung tâm tỉnh", "province", None),
                             "X_CUA-VIET": ("Xã Cửa Việt", "commune", "TTHCC")}


def test_agencies_import_accepts_a_file_without_the_parent_column(app, runner, tmp_path):
    path = write_csv(tmp_path, "code,level,name\nTTHCC,province,Trung tâm tỉnh\n")
    result = runner.invoke(args=["agencies", "import", path])

    assert result.exit_code == 0, result.output
    assert agencies(app) == {"TTHCC": ("Trung tâm tỉnh", "province", None)}


def test_agencies_import_reports_every_bad_row_and_imports_nothing(app, runner, tmp_path):
    text = GOOD_CSV + "X-KHESANH,Xã Khe Sanh,district,TTHCC\nX-LAO,Xã Lao Bảo,commune,HUYEN-9\n"
    result = runner.invoke(args=["agencies", "import", write_csv(tmp_path, text)])

    assert_fails(result, "2 rows are wrong in agencies.csv; nothing was imported")
    assert "line 5: level 'district': expected province or commune" in result.stderr
    assert "line 6: unknown parent 'HUYEN-9'" in result.stderr
    assert result.stdout == ""
    assert count_rows(app, Agency) == 0
    assert audit_events(app, "agency.imported") == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (",Không mã,province,", "line 2: missing code"),
        ("A1,,province,", "line 2: missing name"),
        ("A1,   ,province,", "line 2: missing name"),
        ("A1,Tên,,", "line 2: missing level: expected province or commune"),
        ("A1,Tên,huyện,", "line 2: level 'huyện': expected province or commune"),
        ("A1,Tên,commune,NOWHERE", "line 2: unknown parent 'NOWHERE'"),
        ("A1,Tên,province,\nB2,Tên,province,\na1,Khác,commune,",
         "line 4: duplicate code 'A1' (first on line 2)"),
        ("A1,Tên,province,A1", "line 2: parent cycle A1 -> A1"),
        ("A1,Tên,commune,B2\nB2,Tên,commune,C3\nC3,Tên,commune,A1",
         "line 3: parent cycle B2 -> C3 -> A1 -> B2"),
        ("A" * 41 + ",Tên,province,", "line 2: code is longer than 40 characters"),
        ("XÃ-1,Tên,province,", "line 2: code 'XÃ-1' may hold only letters A-Z"),
        ("A 1,Tên,province,", "line 2: code 'A 1' may hold only"),
        ("A.1,Tên,province,", "line 2: code 'A.1' may hold only"),
        ("A1," + "n" * 201 + ",province,", "line 2: name is longer than 200 characters"),
        ("A1,Tên,province,,extra", "line 2: 5 fields where the header has 4"),
    ],
)
def test_agencies_import_says_what_is_wrong_with_a_row(app, runner, tmp_path, rows, message):
    path = write_csv(tmp_path, f"code,name,level,parent\n{rows}\n")
    result = runner.invoke(args=["agencies", "import", path])

    assert_fails(result, message)
    assert count_rows(app, Agency) == 0


def test_agencies_import_accepts_the_longest_code_and_name(app, runner, tmp_path):
    code, name = "A" * 40, "n" * 200
    path = write_csv(tmp_path, f"code,name,level,parent\n{code},{name},province,\n")
    result = runner.invoke(args=["agencies", "import", path])

    assert result.exit_code == 0, result.output
    assert agencies(app) == {code: (name, "province", None)}


def test_agencies_import_refuses_a_cycle_through_the_database(app, runner, tmp_path):
    with app.app_context():
        create_agency("B2", parent=create_agency("A1"))
        db.session.commit()
    path = write_csv(tmp_path, "code,name,level,parent\nA1,Tên,province,B2\n")

    result = runner.invoke(args=["agencies", "import", path])

    assert_fails(result, "line 2: parent cycle A1 -> B2 -> A1")
    assert agencies(app)["A1"][2] is None


def test_agencies_import_counts_line_numbers_of_multiline_fields(app, runner, tmp_path):
    text = 'code,name,level,parent\nA1,"Tên\ntrên hai dòng",province,\nB2,Tên,tỉnh,\n'
    result = runner.invoke(args=["agencies", "import", write_csv(tmp_path, text)])

    assert_fails(result, "line 4: level 'tỉnh'")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: line 1 must be the header code,name,level,parent"),
        (b"TTHCC,Trung tam,province,\n", "line 1 must be the header code,name,level,parent"),
        (b"code,name,parnet\n", "line 1 must be the header"),
        ("code,name,level\nA1,Tên,province\n".encode("cp1258"), "is not UTF-8 text"),
    ],
)
def test_agencies_import_refuses_a_file_it_cannot_read(app, runner, tmp_path, content, message):
    path = tmp_path / "agencies.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["agencies", "import", str(path)])

    assert_fails(result, message)
    assert count_rows(app, Agency) == 0


def test_agencies_import_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["agencies", "import", str(tmp_path / "nope.csv")])
    assert_fails(result, "cannot read")


def test_agencies_list_shows_code_level_parent_and_name(runner, agency):
    result = runner.invoke(args=["agencies", "list"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["code", "level", "parent", "name"]
    assert lines[2].split() == ["DEMO-TTHCC", "province", "-", "Trung", "tâm", "tỉnh"]
    assert lines[3].split() == ["DEMO-X-CUAVIET", "commune", "DEMO-TTHCC", "Xã", "Cửa", "Việt"]


# tokens -----------------------------------------------------------------------------------


def create_token_by_cli(runner: Any, email: str, label: str = "") -> str:
    result = runner.invoke(args=["tokens", "create", email, "--label", label])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[-1]


def owner_of(app: Flask, secret: str) -> str | None:
    with app.app_context():
        user = user_for_token(db.session, secret)
        return user.email if user else None


def test_tokens_create_prints_a_working_token_once_and_stores_its_hash(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)

    result = runner.invoke(args=["tokens", "create", "cb@example.gov.vn",
                                 "--label", "báo cáo tháng"])

    assert result.exit_code == 0, result.output
    *before, secret = result.stdout.splitlines()
    assert "only time the token is shown" in before[-1]
    assert secret.startswith("sat_") and len(secret) > 40 and " " not in secret
    assert result.stdout.count(secret) == 1
    assert owner_of(app, secret) == "cb@example.gov.vn"
    with app.app_context():
        (token,) = db.session.scalars(select(ApiToken))
        assert token.token_hash == token_hash(secret)
        assert secret not in (token.token_hash, token.prefix, token.label)
        assert secret.startswith(token.prefix)
        assert token.label == "báo cáo tháng"
    assert len(audit_events(app, "token.created")) == 1


def test_tokens_revoke_stops_the_token(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    secret = create_token_by_cli(runner, "cb@example.gov.vn")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))

    result = runner.invoke(args=["tokens", "revoke", str(token_id)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"revoked token {token_id} of cb@example.gov.vn\n"
    assert owner_of(app, secret) is None
    assert len(audit_events(app, "token.revoked")) == 1

    again = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert again.exit_code == 0
    assert "already revoked" in again.stdout
    assert len(audit_events(app, "token.revoked")) == 1


def test_tokens_create_works_for_an_admin(app, runner):
    make_user(app, "admin@example.gov.vn", "admin")
    assert owner_of(app, create_token_by_cli(runner, "admin@example.gov.vn")) == (
        "admin@example.gov.vn")


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.gov.vn", "no account with the email 'nobody@example.gov.vn'"),
        ("staff@example.gov.vn", "API tokens are for managers and admins"),
        ("gone@example.gov.vn", "the account is disabled"),
    ],
)
def test_tokens_create_refuses_whom_it_must(app, runner, agency, email, message):
    make_user(app, "staff@example.gov.vn", "staff", agency)
    make_user(app, "gone@example.gov.vn", "manager", agency, is_enabled=False)

    result = runner.invoke(args=["tokens", "create", email])

    assert_fails(result, message)
    assert result.stdout == ""
    assert count_rows(app, ApiToken) == 0


def test_tokens_create_refuses_a_label_too_long(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    result = runner.invoke(args=["tokens", "create", "cb@example.gov.vn", "--label", "x" * 101])

    assert_fails(result, "label is longer than 100 characters")
    assert count_rows(app, ApiToken) == 0


def test_tokens_list_shows_tokens_but_never_their_secret(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    make_user(app, "admin@example.gov.vn", "admin")
    first = create_token_by_cli(runner, "cb@example.gov.vn", "báo cáo")
    second = create_token_by_cli(runner, "admin@example.gov.vn")
    with app.app_context():
        first_id, second_id = db.session.scalars(select(ApiToken.id).order_by(ApiToken.id))
    runner.invoke(args=["tokens", "revoke", str(first_id)])

    result = runner.invoke(args=["tokens", "list"])

    assert result.exit_code == 0, result.output
    assert first not in result.stdout and second not in result.stdout
    header, _rule, row1, row2 = result.stdout.splitlines()
    assert header.split() == ["id", "owner", "prefix", "label", "created", "expires", "last",
                              "used", "status"]
    assert row1.split()[:5] == [str(first_id), "cb@example.gov.vn", first[:12], "báo", "cáo"]
    assert "never" in row1 and "revoked" in row1
    assert row2.split()[:4] == [str(second_id), "admin@example.gov.vn", second[:12], "-"]
    assert row2.endswith("active")

    mine = runner.invoke(args=["tokens", "list", "admin@example.gov.vn"])
    assert mine.exit_code == 0
    assert len(mine.stdout.splitlines()) == 3 and "admin@example.gov.vn" in mine.stdout


def test_tokens_list_shows_when_a_token_was_last_used(app, runner, agency):
    make_user(app, "cb@example.gov.vn", "manager", agency)
    secret = create_token_by_cli(runner, "cb@example.gov.vn")
    with app.app_context():
        user_for_token(db.session, secret)
        db.session.commit()

    result = runner.invoke(args=["tokens", "list"])

    assert "never" not in result.stdout.splitlines()[2]


def test_tokens_list_refuses_an_unknown_email(runner):
    result = runner.invoke(args=["tokens", "list", "nobody@example.gov.vn"])
    assert_fails(result, "no account with the email")


@pytest.mark.parametrize("token_id", ["999", "abc", "1.5"])
def test_tokens_revoke_refuses_an_unknown_id(runner, token_id):
    result = runner.invoke(args=["tokens", "revoke", token_id])
    assert_fails(result, f"no API token with the id '{token_id}'")
