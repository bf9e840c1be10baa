"""Receipt links: minted offline or by the API, answered once per dossier, refused clearly.

The token's test vectors are read from docs/receipts.md and checked against the app and
against the reference implementation printed there.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from survey_app.api import openapi
from survey_app.extensions import db
from survey_app.models import (
    Agency,
    AuditEvent,
    Counter,
    DossierDigest,
    MintedReceipt,
    ReceiptKey,
    Sector,
    SurveyCode,
    utcnow,
)
from survey_app.services import periods, receipts, tallies
from survey_app.services.periods import Period
from survey_app.services.recording import DUPLICATE_DOSSIER
from survey_app.services.tallies import TallyFilter
from survey_app.text import fold_dossier
from tests import oracle
from tests.factories import (
    VALID_ANSWERS,
    World,
    hidden_value,
    make_app,
    open_form,
    phone,
    responses,
    token_for_user,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "receipts.md"
RECEIPT_ANSWERS = {k: v for k, v in VALID_ANSWERS.items() if k != "dossier"}
DOCUMENT = openapi.document()


def text_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def today(app: Flask) -> date:
    with app.app_context():
        return periods.local_date(utcnow())


# The token, without an app ----------------------------------------------------------------


def doc_vectors() -> list[dict[str, str]]:
    """Return the test vectors of docs/receipts.md, one dict per ```vector block."""
    blocks = re.findall(r"```vector\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    vectors = [dict(re.split(r"\s{2,}", line.strip(), maxsplit=1)
                    for line in block.strip().splitlines()) for block in blocks]
    assert len(vectors) >= 3
    return vectors


def reference_implementation() -> dict[str, Any]:
    """Run the Python reference implementation printed in docs/receipts.md."""
    (source,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert 20 <= len(source.strip().splitlines()) <= 40
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)  # noqa: S102 - our own document
    return namespace


@pytest.mark.parametrize("vector", doc_vectors(), ids=lambda v: f"key-{v['key id']}")
def test_the_documented_vectors_hold_for_the_app_and_the_reference(vector):
    secret = bytes.fromhex(vector["secret"])
    ids = int(vector["key id"]), int(vector["agency id"]), int(vector["sector id"])
    issued_on = date.fromisoformat(vector["issued on"])
    dossier = json.loads(vector["dossier"])

    assert fold_dossier(dossier) == json.loads(vector["folded"])
    assert receipts.day_number(issued_on) == int(vector["day"])
    assert receipts.dossier_digest(secret, dossier).hex() == vector["digest"]
    token = receipts.mint_token(secret, *ids, issued_on, dossier)
    assert token == vector["token"]
    raw = base64.urlsafe_b64decode(token)
    assert raw[:21].hex() == vector["signed"].replace(" ", "")
    assert raw[21:].hex() == vector["tag"]
    assert "/r/" + token == vector["path"]

    reference = reference_implementation()
    assert reference["fold_dossier"](dossier) == json.loads(vector["folded"])
    assert reference["receipt_token"](vector["secret"], *ids, issued_on, dossier) == token
    link = reference["receipt_link"]("https://danhgia.example/", vector["secret"], *ids,
                                     issued_on, dossier)
    assert link == "https://danhgia.example" + vector["path"]

    read = receipts.read_token(token)
    assert (read.key_id, read.agency_id, read.sector_id, read.issued_on) == (*ids, issued_on)
    assert read.digest.hex() == vector["digest"] and read.is_signed_by(secret)


def test_a_token_is_44_characters_and_a_link_path_47():
    token = receipts.mint_token(b"k" * 32, 3, 12, 1, date(2026, 12, 5), "HS-1")
    assert len(token) == 44 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len("/r/" + token) == 47


def test_one_dossier_however_it_is_written():
    secret = b"s" * 32
    spellings = ["000.00.31.H45-261205-0001", "000 00 31 h45 261205 0001",
                 "０００.００.３１.Ｈ４５-２６１２０５-０００１", "000.00.31.H45\u200b-261205-0001"]
    tokens = {receipts.mint_token(secret, 1, 1, 1, date(2026, 1, 2), s) for s in spellings}
    assert len(tokens) == 1
    assert receipts.mint_token(secret, 1, 1, 1, date(2026, 1, 2), "000.00.31.H45-261205-0002") \
        not in tokens


@pytest.mark.parametrize("text", [
    "",
    "A" * 43,
    "A" * 45,
    "A" * 10_000,
    "AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4=",  # padding
    "AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z+M95SIN4E",  # the other base64 alphabet
    "AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4\x00",
    "AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4\t",
    " AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4",
    "AgAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4E",  # version 2
    None,
    12,
])
def test_what_is_no_token_is_refused_as_unreadable(text):
    with pytest.raises(receipts.ReceiptError) as refused:
        receipts.read_token(text)
    assert refused.value.reason == receipts.MALFORMED


# Keys and links in a database -------------------------------------------------------------


@dataclass
class Key:
    id: int
    secret: str
    agency_id: int

    def link(self, sector_id: int, dossier: str, issued_on: date,
             agency_id: int | None = None, key_id: int | None = None) -> str:
        """Return the token the one-stop system mints offline with this key."""
        return receipts.mint_token(
            bytes.fromhex(self.secret), key_id or self.id, agency_id or self.agency_id,
            sector_id, issued_on, dossier,
        )


def create_key(app: Flask, agency_id: int) -> Key:
    with app.app_context():
        key = receipts.create_key(db.session, db.session.get_one(Agency, agency_id))
        db.session.commit()
        return Key(key.id, key.secret, agency_id)


def sector_id(app: Flask, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Sector.id).where(Sector.code == code))


@pytest.fixture
def key_a(app: Flask, world: World) -> Key:
    return create_key(app, world.a_id)


def open_receipt(client: FlaskClient, token: str) -> dict[str, str]:
    """Load a receipt link's form as a phone would; return its CSRF and submit tokens."""
    page = client.get(f"/r/{token}")
    assert page.status_code == 200, text_of(page)
    html = text_of(page)
    return {"csrf_token": hidden_value(html, "csrf_token"),
            "submit_token": hidden_value(html, "submit_token")}


def answer(client: FlaskClient, token: str, tokens: dict[str, str] | None = None,
           **overrides: Any) -> Any:
    data: dict[str, Any] = {**RECEIPT_ANSWERS, **(tokens or open_receipt(client, token))}
    data.update(overrides)
    return client.post(f"/r/{token}", data=data)


def walk_in(client: FlaskClient, code: str, dossier: str) -> Any:
    data = {**VALID_ANSWERS, **open_form(client, code), "dossier": dossier}
    result = client.post(f"/s/{code}", data=data)
    assert result.status_code == 303
    return result


def digests_of(app: Flask, response_id: int) -> set[tuple[int, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(DossierDigest).where(DossierDigest.response_id == response_id))
        return {(row.key_id, row.digest) for row in rows}


def figures(app: Flask, agency_id: int) -> tuple[int, dict[str, int]]:
    """Return (counted responses, stored by status) of an agency, from the rollups,
    after checking them against a naive recount of the responses."""
    with app.app_context():
        day = periods.local_date(utcnow())
        flt = TallyFilter(Period(day - timedelta(days=2), day + timedelta(days=2)),
                          frozenset({agency_id}))
        counted = tallies.count_answers(db.session, flt)[None]
        assert counted == oracle.naive_recount(db.session, flt)
        return counted.responses, tallies.count_by_status(db.session, flt).get(None, {})


def audit_actions(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return events


# Opening and answering a link -------------------------------------------------------------


def test_a_link_minted_offline_opens_the_form_without_the_dossier_field(app, client, world,
                                                                        key_a):
    day = today(app)
    token = key_a.link(sector_id(app, "DAT_DAI"), "000.00.31.H45-261205-0001", day)
    page = client.get(f"/r/{token}")
    html = text_of(page)

    assert page.status_code == 200
    assert "Xã A" in html
    assert f"Hồ sơ tiếp nhận ngày {day:%d/%m/%Y} · Đất đai" in html
    assert 'name="dossier"' not in html and "Mã hồ sơ" not in html
    # Answered days later: the lead-in speaks of this dossier, not of today.
    assert "khi làm thủ tục tại Xã A với hồ sơ này. Với mỗi nội dung dưới đây" in html
    assert "tại Xã A hôm nay" not in html
    assert f'action="/r/{token}"' in html
    for name in ("q1", "q4", "q6", "comment", "csrf_token", "submit_token", "website"):
        assert f'name="{name}"' in html
    assert "· Land" in text_of(client.get(f"/r/{token}?lang=en"))


def test_an_answer_through_a_link_is_counted_under_the_agency_s_receipt_code(app, client, world,
                                                                          key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    result = answer(client, token, q4="5", dossier="SOMETHING-ELSE")

    assert result.status_code == 303
    assert result.headers["Location"].endswith(f"/r/{token}/thanks")
    thanks = client.get(result.headers["Location"])
    assert thanks.status_code == 200 and "Cảm ơn Ông/Bà đã đánh giá" in text_of(thanks)
    assert "<form" not in text_of(thanks)

    [stored] = responses(app)
    assert (stored.status, stored.q4) == ("counted", 5)
    assert stored.dossier_hash is None  # the typed dossier of a link's form is not read
    assert stored.survey_code.kind == "receipt"
    assert (stored.agency_id, stored.sector_id) == (world.a_id, sector_id(app, "DAT_DAI"))
    with app.app_context():
        counter = db.session.get_one(Counter, stored.counter_id)
        assert counter.name == "Biên nhận hồ sơ" and counter.agency_id == world.a_id
        digest = receipts.dossier_digest(bytes.fromhex(key_a.secret), "HS-2026/0001").hex()
    assert digests_of(app, stored.id) == {(key_a.id, digest)}
    assert figures(app, world.a_id) == (1, {"counted": 1})


def test_after_yes_a_link_s_thanks_name_the_agency_s_hotline(app, client, world, key_a):
    with app.app_context():
        db.session.get_one(Agency, world.a_id).hotline = "1022"
        db.session.commit()
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0002", today(app))
    result = answer(client, token, q7="yes")
    assert result.headers["Location"].endswith(f"/r/{token}/thanks")
    html = text_of(client.get(result.headers["Location"]))
    assert "Gọi đường dây nóng của Xã A:" in html and 'href="tel:1022"' in html
    assert 'href="https://dichvucong.gov.vn"' in html
    # Another phone opening the same address sees the thanks alone.
    assert "dichvucong" not in text_of(app.test_client().get(f"/r/{token}/thanks"))


def test_each_sector_s_answers_go_to_one_receipt_code(app, client, world, key_a):
    for n, sector in enumerate(["DAT_DAI", "DAT_DAI", "HO_TICH"]):
        token = key_a.link(sector_id(app, sector), f"HS-{n}", today(app))
        assert answer(app.test_client(), token).status_code == 303
    stored = responses(app)
    assert len(stored) == 3
    assert stored[0].survey_code_id == stored[1].survey_code_id != stored[2].survey_code_id
    assert stored[0].counter_id == stored[2].counter_id


def test_answering_twice_shows_the_thanks_and_stores_nothing_new(app, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    phone, laptop = app.test_client(), app.test_client()
    second_form = open_receipt(laptop, token)  # opened before the first answer was sent
    assert answer(phone, token).status_code == 303

    again = phone.post(f"/r/{token}", data={**RECEIPT_ANSWERS, "q1": "1"})  # any post
    late = answer(laptop, token, second_form, q1="1")  # a form opened earlier, elsewhere
    reopened = phone.get(f"/r/{token}")
    for result in (again, late, reopened):
        assert result.status_code == 200
        assert "Cảm ơn Ông/Bà đã đánh giá" in text_of(result)
        assert "Phiếu đánh giá của hồ sơ này đã được ghi nhận." in text_of(result)
        assert "<form" not in text_of(result)
    [stored] = responses(app)
    assert stored.q1 == 5


def test_a_replayed_post_stores_one_answer(app, client, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    tokens = open_receipt(client, token)
    results = [answer(client, token, tokens) for _ in range(3)]
    assert results[0].status_code == 303
    assert all("Cảm ơn Ông/Bà" in text_of(r) or r.status_code == 303 for r in results)
    assert len(responses(app)) == 1


def test_a_post_from_a_new_cookie_jar_is_refused_with_the_answers_kept(app, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    tokens = open_receipt(app.test_client(), token)
    stranger = app.test_client()  # no session cookie: a scripted or cross-site post
    result = answer(stranger, token, tokens, comment="Giữ lại")
    assert result.status_code == 400
    assert "Trang đã mở quá lâu nên phiếu chưa gửi được" in text_of(result)
    assert "Giữ lại" in text_of(result) and 'name="dossier"' not in text_of(result)
    assert responses(app) == []


def test_a_submit_token_of_another_link_or_code_is_refused(app, client, world, key_a):
    sector = sector_id(app, "DAT_DAI")
    token = key_a.link(sector, "HS-1", today(app))
    other = key_a.link(sector, "HS-2", today(app))
    tokens = open_receipt(client, token)
    for foreign in (open_receipt(client, other)["submit_token"],
                    open_form(client, world.code_a)["submit_token"]):
        result = answer(client, token, {**tokens, "submit_token": foreign})
        assert result.status_code == 400
        assert "Trang đã mở quá lâu nên phiếu chưa gửi được" in text_of(result)
    assert responses(app) == []


def test_a_missing_answer_is_named_and_the_form_still_asks_for_no_dossier(app, client, world,
                                                                         key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    data = {**RECEIPT_ANSWERS, **open_receipt(client, token)}
    del data["q3"]
    result = client.post(f"/r/{token}", data=data)
    assert result.status_code == 422
    assert "Vui lòng trả lời các câu còn thiếu" in text_of(result)
    assert 'name="dossier"' not in text_of(result)
    assert responses(app) == []


# Refusals ---------------------------------------------------------------------------------


def refused(app: Flask, token: str, status: int, title: str) -> None:
    """Open and post to a link; both must give the page, and nothing may be stored."""
    client = app.test_client()
    for result in (client.get(f"/r/{token}"),
                   client.post(f"/r/{token}", data=RECEIPT_ANSWERS),
                   client.get(f"/r/{token}/thanks")):
        html = text_of(result)
        assert result.status_code == status, (token, html)
        assert title in html
        assert "<form" not in html
    assert responses(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyCode)
                                 .where(SurveyCode.kind == "receipt")) == 0


def test_a_changed_character_is_refused_as_altered(app, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    last = "A" if token[-1] != "A" else "B"
    for forged in (token[:-1] + last, token[:20] + token[20].swapcase() + token[21:]):
        if forged != token:
            refused(app, forged, 404, "Liên kết đánh giá đã bị sửa đổi")


def test_a_link_signed_with_another_agency_s_secret_is_forged(app, world, key_a):
    key_b = create_key(app, world.b_id)
    # Key A's id and agency, signed with key B's secret: B's holder forging A's links.
    forged = key_b.link(sector_id(app, "DAT_DAI"), "HS-1", today(app),
                        agency_id=world.a_id, key_id=key_a.id)
    refused(app, forged, 404, "Liên kết đánh giá đã bị sửa đổi")


def test_a_genuine_tag_for_another_agency_is_refused(app, world, key_a):
    # Signed with A's key but naming commune B: a one-stop system with the wrong setting.
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app), agency_id=world.b_id)
    refused(app, token, 404, "Liên kết đánh giá ghi sai đơn vị")


def test_an_unknown_key_is_refused(app, world, key_a):
    for key_id in (key_a.id + 1000, 2**31, 2**32 - 1):
        token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app), key_id=key_id)
        refused(app, token, 404, "Liên kết đánh giá không hợp lệ")


def test_a_forged_sector_id_is_refused(app, world, key_a):
    refused(app, key_a.link(65535, "HS-1", today(app)), 404, "Liên kết đánh giá ghi sai lĩnh vực")


def test_a_link_from_the_future_is_refused_beyond_a_day(app, client, world, key_a):
    sector = sector_id(app, "DAT_DAI")
    refused(app, key_a.link(sector, "HS-1", today(app) + timedelta(days=2)), 404,
            "Liên kết đánh giá chưa có hiệu lực")
    tomorrow = key_a.link(sector, "HS-2", today(app) + timedelta(days=1))  # clock skew
    assert client.get(f"/r/{tomorrow}").status_code == 200


def test_a_link_expires_after_the_valid_days(app, client, world, key_a):
    sector = sector_id(app, "DAT_DAI")
    refused(app, key_a.link(sector, "HS-1", today(app) - timedelta(days=91)), 410,
            "Liên kết đánh giá đã hết hạn")
    assert "trong 90 ngày" in text_of(
        client.get(f"/r/{key_a.link(sector, 'HS-1', today(app) - timedelta(days=91))}"))
    last_day = key_a.link(sector, "HS-2", today(app) - timedelta(days=90))
    assert client.get(f"/r/{last_day}").status_code == 200

    app.config["RECEIPT_VALID_DAYS"] = 30
    refused(app, key_a.link(sector, "HS-3", today(app) - timedelta(days=31)), 410,
            "Liên kết đánh giá đã hết hạn")


def test_a_retired_key_s_links_are_refused_and_another_key_s_still_open(app, client, world,
                                                                       key_a):
    sector = sector_id(app, "DAT_DAI")
    newer = create_key(app, world.a_id)
    old_link, new_link = key_a.link(sector, "HS-1", today(app)), newer.link(sector, "HS-2",
                                                                          today(app))
    tokens = open_receipt(client, old_link)  # a form open when the key is retired
    with app.app_context():
        receipts.retire_key(db.session, db.session.get_one(ReceiptKey, key_a.id))
        db.session.commit()

    assert answer(client, old_link, tokens).status_code == 410
    refused(app, old_link, 410, "Liên kết đánh giá đã ngừng sử dụng")
    assert client.get(f"/r/{new_link}").status_code == 200


@pytest.mark.parametrize("path", [
    "/r/" + "A" * 10_000,
    "/r/AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4%00",
    "/r/AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SI%09E",
    "/r/%00",
    "/r/AQAAAAEAAAABAAEmazwARZmkDR1CXFOnP9z-M95SIN4E%20",
])
def test_nul_tab_and_overlong_paths_are_unreadable_and_cost_no_query(app, client, path):
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        for method in (client.get, client.post):
            result = method(path)
            assert result.status_code == 404
            assert "Không đọc được liên kết đánh giá" in text_of(result)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert statements == []


def test_a_token_is_case_sensitive(app, client, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    assert client.get(f"/r/{token.swapcase()}").status_code == 404
    assert client.get(f"/r/{token}").status_code == 200


# One dossier, two paths -------------------------------------------------------------------


def test_a_receipt_answer_makes_the_earlier_walk_in_answer_a_duplicate(app, client, world,
                                                                       key_a):
    walk_in(client, world.code_a, "hs-2026/0001")
    assert figures(app, world.a_id) == (1, {"counted": 1})
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS 2026 0001", today(app))
    assert answer(app.test_client(), token).status_code == 303

    earlier, through_link = responses(app)
    assert (earlier.status, earlier.status_reason) == ("duplicate", DUPLICATE_DOSSIER)
    assert (through_link.status, through_link.survey_code.kind) == ("counted", "receipt")
    assert figures(app, world.a_id) == (1, {"counted": 1, "duplicate": 1})


def test_a_walk_in_answer_after_the_receipt_answer_is_the_duplicate(app, client, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    assert answer(client, token).status_code == 303
    walk_in(app.test_client(), world.code_a, "hs.2026.0001")

    through_link, later = responses(app)
    assert through_link.status == "counted"
    assert (later.status, later.status_reason) == ("duplicate", DUPLICATE_DOSSIER)
    assert figures(app, world.a_id) == (1, {"counted": 1, "duplicate": 1})


def test_another_dossier_or_another_agency_is_not_a_duplicate(app, client, world, key_a):
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-2026/0001", today(app))
    create_key(app, world.b_id)
    assert answer(client, token).status_code == 303
    walk_in(app.test_client(), world.code_a, "HS-2026/0002")
    walk_in(app.test_client(), world.code_b, "HS-2026/0001")  # commune B's own dossier
    assert [r.status for r in responses(app)] == ["counted", "counted", "counted"]


def test_a_walk_in_answer_keeps_the_digest_under_every_key_of_its_agency(app, client, world,
                                                                         key_a):
    newer = create_key(app, world.a_id)
    create_key(app, world.b_id)
    with app.app_context():
        receipts.retire_key(db.session, db.session.get_one(ReceiptKey, key_a.id))
        db.session.commit()
    walk_in(client, world.code_a, "HS-9")
    walk_in(app.test_client(), world.code_a, "")
    with_dossier, without = responses(app)
    expected = {(key.id, receipts.dossier_digest(bytes.fromhex(key.secret), "HS-9").hex())
                for key in (key_a, newer)}
    assert digests_of(app, with_dossier.id) == expected
    assert digests_of(app, without.id) == set()


def test_a_flagged_receipt_answer_neither_counts_nor_blocks(app, client, world, key_a):
    walk_in(client, world.code_a, "HS-7")
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-7", today(app))
    assert answer(app.test_client(), token, website="http://spam.example").status_code == 303
    walk_in_answer, flagged = responses(app)
    assert walk_in_answer.status == "counted"  # a flagged answer verifies nothing
    assert (flagged.status, flagged.status_reason) == ("flagged", "honeypot")
    assert app.test_client().get(f"/r/{token}").status_code == 200  # still open to answer


# Receipt codes stay hidden ----------------------------------------------------------------


@pytest.fixture
def receipt_code(app: Flask, client: FlaskClient, world: World, key_a: Key) -> str:
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    assert answer(client, token).status_code == 303
    [stored] = responses(app)
    return stored.survey_code.code


def test_a_receipt_code_is_never_served_at_its_code_address(app, world, receipt_code):
    client = app.test_client()
    for result in (client.get(f"/s/{receipt_code}"),
                   client.post(f"/s/{receipt_code}", data=VALID_ANSWERS),
                   client.get(f"/s/{receipt_code}/thanks"),
                   client.get(f"/s/{receipt_code}/qr.png"),
                   client.get(f"/s/{receipt_code}/qr.svg")):
        assert result.status_code == 404
    assert "Không tìm thấy mã đánh giá" in text_of(client.get(f"/s/{receipt_code}"))
    assert len(responses(app)) == 1


def test_a_receipt_code_is_not_listed_printed_or_revoked(app, runner, world, receipt_code):
    staff = world.login(app.test_client(), "staff_a")
    page = text_of(staff.get(f"/manage/agencies/{world.a_id}"))
    assert world.code_a in page
    assert receipt_code not in page and "Biên nhận hồ sơ" not in page
    sheet = text_of(staff.get(f"/agencies/{world.a_id}/codes/sheet?code={receipt_code}"))
    assert f"card-code\">{receipt_code}<" not in sheet
    assert "1 mã không thuộc đơn vị này hoặc không tồn tại nên không được in." in sheet
    assert receipt_code not in text_of(staff.get(f"/agencies/{world.a_id}/codes/sheet"))
    for path in ("poster", "tent", "revoke", "replace"):
        assert staff.get(f"/codes/{receipt_code}/{path}").status_code == 404
    listed = runner.invoke(args=["codes", "list", "--all", "--json"])
    assert receipt_code not in listed.output and world.code_a in listed.output
    revoked = runner.invoke(args=["codes", "revoke", receipt_code, "--by", world.emails["admin"]])
    assert revoked.exit_code != 0 and "no survey code" in revoked.output
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == receipt_code))
        assert code.revoked_at is None


def test_the_overview_counts_only_the_counters_codes(app, world, receipt_code):
    from survey_app.services.agencies import agency_overview

    with app.app_context():
        rows = {row.agency.id: row for row in agency_overview(db.session, {world.a_id})}
    assert rows[world.a_id].active_codes == 1


# flask receipts ---------------------------------------------------------------------------


def test_key_create_shows_the_secret_once_with_the_ids_and_list_never(app, runner, world):
    created = runner.invoke(args=["receipts", "key", "create", "--agency", "xa-a"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert f"agency id: {world.a_id}" in created.output
    assert re.search(rf"^\s+{sector_id(app, 'DAT_DAI')}\s+DAT_DAI\s+Đất đai$", created.output,
                     re.M)

    listed = runner.invoke(args=["receipts", "key", "list", "--agency", "XA-A"])
    assert listed.exit_code == 0
    assert secret not in listed.output
    assert f"agency XA-A (agency id {world.a_id})" in listed.output
    assert re.search(r"key id\s+\d+\s+active", listed.output)
    assert "DAT_DAI" in listed.output

    [event] = [e for e in audit_actions(app) if e.action == "receipt_key.created"]
    assert event.details == {"agency": "XA-A"} and secret not in json.dumps(event.details)


def test_key_retire_needs_the_agency_s_own_key_and_retires_once(app, runner, world, key_a):
    other = runner.invoke(args=["receipts", "key", "retire", "--agency", "XA-B",
                                "--key", str(key_a.id)])
    assert other.exit_code != 0 and "XA-B has no receipt key" in other.output
    retired = runner.invoke(args=["receipts", "key", "retire", "--agency", "XA-A",
                                  "--key", str(key_a.id)])
    assert retired.exit_code == 0, retired.output
    again = runner.invoke(args=["receipts", "key", "retire", "--agency", "XA-A",
                                "--key", str(key_a.id)])
    assert again.exit_code != 0 and "already retired" in again.output
    assert "retired" in runner.invoke(args=["receipts", "key", "list"]).output
    assert [e.action for e in audit_actions(app)].count("receipt_key.retired") == 1


def test_mint_prints_the_link_last_and_writes_its_qr(app, runner, world, key_a, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    png = tmp_path / "receipt.png"
    result = runner.invoke(args=["receipts", "mint", "--agency", "XA-A", "--sector", "DAT_DAI",
                                 "--dossier", "000.00.31.H45-261205-0001", "--png", str(png)])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    expected = key_a.link(sector_id(app, "DAT_DAI"), "000.00.31.H45-261205-0001", today(app))
    assert url == f"http://survey.test/r/{expected}"
    [decoded] = zxingcpp.read_barcodes(Image.open(png).convert("L"))
    assert decoded.text == url

    with app.app_context():
        [minted] = db.session.scalars(select(MintedReceipt))
        assert (minted.key_id, minted.agency_id, minted.issued_on) == (key_a.id, world.a_id,
                                                                      today(app))
    [event] = [e for e in audit_actions(app) if e.action == "receipts.minted"]
    assert event.details["via"] == "cli" and event.details["links"] == 1
    assert "261205" not in json.dumps(event.details)


def test_mint_refuses_an_agency_without_an_active_key(app, runner, world, key_a):
    result = runner.invoke(args=["receipts", "mint", "--agency", "XA-B", "--sector", "DAT_DAI",
                                 "--dossier", "HS-1"])
    assert result.exit_code != 0
    assert "flask receipts key create --agency XA-B" in result.output
    bad = runner.invoke(args=["receipts", "mint", "--agency", "XA-A", "--sector", "NOPE",
                              "--dossier", "HS-1"])
    assert bad.exit_code != 0 and "no sector" in bad.output
    empty = runner.invoke(args=["receipts", "mint", "--agency", "XA-A", "--sector", "DAT_DAI",
                                "--dossier", "--/"])
    assert empty.exit_code != 0 and "letter or digit" in empty.output


# POST /api/v1/receipts --------------------------------------------------------------------


def mint(client: FlaskClient, token: str | None, body: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    result = client.post("/api/v1/receipts", json=body, headers=headers)
    check_against_document(result.status_code, result.get_json())
    return result.status_code, result.get_json()


def check_against_document(status: int, body: Any) -> None:
    operation = DOCUMENT["paths"]["/receipts"]["post"]
    assert str(status) in operation["responses"], f"{status} is not documented"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": DOCUMENT["components"]},
                   format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)


def test_the_api_mints_links_that_open_their_forms(app, client, world, key_a):
    token = token_for_user(app, world.user_ids["manager_a"])
    dossiers = ["000.00.31.H45-261205-0001", "hs 2", "HS-2"]
    status, body = mint(client, token, {"agency": "xa-a", "sector": "DAT_DAI",
                                        "dossiers": dossiers})
    assert status == 200, body
    assert [link["dossier"] for link in body["links"]] == dossiers
    sector = sector_id(app, "DAT_DAI")
    for link, dossier in zip(body["links"], dossiers, strict=True):
        assert link["url"] == f"http://survey.test/r/{key_a.link(sector, dossier, today(app))}"
    assert body["links"][1]["url"] == body["links"][2]["url"]  # one dossier, one link
    assert client.get(body["links"][0]["url"].removeprefix("http://survey.test")).status_code \
        == 200

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MintedReceipt)) == 2
    status, _again = mint(client, token, {"agency": "XA-A", "sector": "DAT_DAI",
                                          "dossiers": dossiers[:1]})
    assert status == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MintedReceipt)) == 2
    events = [e for e in audit_actions(app) if e.action == "receipts.minted"]
    assert [e.details["links"] for e in events] == [3, 1]
    assert {e.actor_email for e in events} == {world.emails["manager_a"]}


def test_the_api_mints_only_within_the_token_s_scope(app, client, world, key_a):
    create_key(app, world.b_id)
    body = {"agency": "XA-B", "sector": "HO_TICH", "dossiers": ["HS-1"]}
    assert mint(client, token_for_user(app, world.user_ids["manager_a"]), body)[0] == 403
    assert mint(client, token_for_user(app, world.user_ids["manager_province"]), body)[0] == 200
    assert mint(client, token_for_user(app, world.user_ids["admin"]), body)[0] == 200
    assert mint(client, None, body)[0] == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MintedReceipt)) == 1


@pytest.mark.parametrize(("body", "status"), [
    (None, 400),
    ([], 400),
    ({"agency": "XA-A", "sector": "DAT_DAI"}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["HS-1"], "issued_on": "2020-01-01"},
     400),
    ({"agency": 1, "sector": "DAT_DAI", "dossiers": ["HS-1"]}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": "HS-1"}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": []}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["HS-1", ""]}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["- / ."]}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["H" * 41]}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": [1]}, 400),
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["㎏" * 30]}, 400),  # 60 once cleaned
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": [f"HS-{n}" for n in range(501)]}, 400),
    ({"agency": "NOPE", "sector": "DAT_DAI", "dossiers": ["HS-1"]}, 404),
    ({"agency": "XA-A", "sector": "NOPE", "dossiers": ["HS-1"]}, 404),
    ({"agency": "XA-B", "sector": "DAT_DAI", "dossiers": ["HS-1"]}, 409),  # B has no key
    ({"agency": "XA-A", "sector": "DAT_DAI", "dossiers": ["H" * 40] * 2000}, 413),  # 86 kB
])
def test_the_api_refuses_a_bad_request_with_a_json_error(app, client, world, key_a, body,
                                                         status):
    token = token_for_user(app, world.user_ids["admin"])
    got, answer_body = mint(client, token, body)
    assert got == status, answer_body
    assert answer_body["error"]["status"] == status and answer_body["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MintedReceipt)) == 0


def test_the_api_takes_500_dossiers_at_once(app, client, world, key_a):
    token = token_for_user(app, world.user_ids["admin"])
    dossiers = [f"000.00.31.H45-261205-{n:04d}" for n in range(500)]
    status, body = mint(client, token, {"agency": "XA-A", "sector": "DAT_DAI",
                                        "dossiers": dossiers})
    assert status == 200 and len({link["url"] for link in body["links"]}) == 500


def test_the_purge_deletes_the_digests_of_old_answers(app, runner, world, key_a):
    from survey_app.questionnaire import CURRENT
    from survey_app.services.recording import record_response

    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == world.code_a))
        for n, days in enumerate((800, 1)):
            record_response(db.session, code, CURRENT, {**VALID_ANSWERS, "dossier": f"HS-{n}"},
                            f"purge-{n}", "vi", now=utcnow() - timedelta(days=days))
        db.session.commit()
    old, recent = responses(app)
    assert digests_of(app, old.id) and digests_of(app, recent.id)

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "dossier_digests: 1 cleared" in result.output
    assert digests_of(app, old.id) == set() and digests_of(app, recent.id)


# Limits and outages -----------------------------------------------------------------------


def test_a_phone_over_its_limit_keeps_its_answers_on_the_link_s_form(app, world, key_a):

    limited = make_app(app, RATELIMIT_PER_DEVICE="1 per hour")
    sector = sector_id(app, "DAT_DAI")
    first, second = (key_a.link(sector, dossier, today(app)) for dossier in ("HS-1", "HS-2"))
    citizen = phone(limited)
    assert answer(citizen, first).status_code == 303
    refused_post = answer(citizen, second, comment="Giữ lại câu trả lời")
    html = text_of(refused_post)

    assert refused_post.status_code == 429 and int(refused_post.headers["Retry-After"]) > 0
    assert "Phiếu của Ông/Bà chưa được gửi" in html
    assert "Giữ lại câu trả lời" in html and f'action="/r/{second}"' in html
    assert 'name="dossier"' not in html
    assert len(responses(app)) == 1


def test_junk_posts_to_a_link_never_use_its_allowance(app, world, key_a):

    limited = make_app(app, RATELIMIT_PER_CODE="1 per hour",
                       RATELIMIT_JUNK_PER_ADDRESS="3 per hour")
    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    for _ in range(3):
        assert phone(limited).post(f"/r/{token}", data=RECEIPT_ANSWERS).status_code == 400
    assert phone(limited).post(f"/r/{token}", data=RECEIPT_ANSWERS).status_code == 429
    assert answer(phone(limited, "198.51.100.1"), token).status_code == 303


def test_answers_sent_while_the_database_is_away_come_back_unsaved(app, client, world, key_a,
                                                                   monkeypatch):
    from sqlalchemy.exc import OperationalError

    token = key_a.link(sector_id(app, "DAT_DAI"), "HS-1", today(app))
    tokens = open_receipt(client, token)

    def away(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(receipts, "verify", away)
    result = answer(client, token, tokens, comment="Đừng mất")
    html = text_of(result)
    assert result.status_code == 503 and result.headers["Retry-After"]
    assert "chưa được lưu" in html and "Đừng mất" in html
    assert f"Hồ sơ tiếp nhận ngày {today(app):%d/%m/%Y}" in html
    assert 'name="dossier"' not in html and f'action="/r/{token}"' in html
    monkeypatch.undo()
    assert answer(client, token, {**tokens, "csrf_token": hidden_value(html, "csrf_token"),
                                  "submit_token": hidden_value(html, "submit_token")}
                  ).status_code == 303
    assert len(responses(app)) == 1
