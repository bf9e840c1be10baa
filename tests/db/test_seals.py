"""Sealed daily totals: `flask seals close` seals each finished day once, a flag or restore
of a sealed day appends a correction, `flask seals verify` finds a rollup or a seal edited
behind the application's back, and the published JSON recomputes to the same digests."""

from __future__ import annotations

import hashlib
import json
from collections import Counter as Tally
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from survey_app.extensions import db
from survey_app.models import Agency, DaySeal, Response, Sector, tally_days, utcnow
from survey_app.services import board, seals
from survey_app.services.periods import local_date
from survey_app.services.purge import purge
from survey_app.services.review import flag_response, restore_response
from tests import databases
from tests.factories import (
    audit_events,
    create_agency,
    create_code,
    local_time,
    record,
    words_of,
)

MARCH_3, MARCH_4, MARCH_5 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)


def answers(q6: str, comment: str | None = None) -> dict[str, Any]:
    return {"q1": "5", "q2": "4", "q3": "3", "q4": "na", "q5": "2", "q6": q6, "q7": "no",
            "q8": ["speed"], "comment": comment, "dossier": None}


@pytest.fixture
def days(app: Flask) -> dict[str, Any]:
    """Responses on 3 March 2025 (province: land and civil status; commune: land, one of
    them flagged when stored) and on 5 March; none on 4 March. Committed, not sealed."""
    with app.app_context():
        province = create_agency("TINH", "Trung tâm Phục vụ hành chính công tỉnh")
        commune = create_agency("XA-A", "Xã A", "commune", province)
        # Both on the public board: their sealed figures are shown in clear.
        board.publish(db.session, province)
        board.publish(db.session, commune)
        land = create_code(province, "Quầy 1", "DAT_DAI")
        civil = create_code(province, "Quầy 2", "HO_TICH")
        commune_land = create_code(commune, "Quầy 1", "DAT_DAI")
        ids = []
        for n, (code, q6) in enumerate([(land, "5"), (land, "4"), (civil, "2"),
                                        (commune_land, "5"), (commune_land, "1")]):
            ids.append(record(code, local_time(2025, 3, 3, 8 + n), f"m3-{n}",
                              answers=answers(q6, comment=f"Ý kiến {n}")).id)
        # 00:30 local on the 5th is still the 4th in UTC: it belongs to the 5th, and the
        # 4th stays empty. 23:50 local on the 3rd is 16:50 UTC the same day.
        ids.append(record(land, local_time(2025, 3, 5, 0, 30), "m5-0", answers=answers("3")).id)
        late = record(commune_land, local_time(2025, 3, 3, 23, 50), "m3-late",
                      answers=answers("4"))
        ids.append(late.id)
        flag_response(db.session, db.session.get(Response, ids[4]), "test")
        db.session.commit()
        land_id = db.session.scalar(select(Sector.id).where(Sector.code == "DAT_DAI"))
        return {"province": province.id, "commune": commune.id, "ids": ids,
                "land": land_id, "late": late.id}


def close(runner: Any, until: date = MARCH_5) -> Any:
    return runner.invoke(args=["seals", "close", "--until", until.isoformat()])


def verify(runner: Any) -> Any:
    return runner.invoke(args=["seals", "verify"])


def all_seals(app: Flask) -> list[DaySeal]:
    with app.app_context():
        rows = list(db.session.scalars(select(DaySeal).order_by(DaySeal.sequence)))
        db.session.expunge_all()
        return rows


def counted_by_place(app: Flask, day: date) -> dict[tuple[int, int], Tally[str]]:
    """Count the counted responses of a local day per agency and sector, from the responses
    themselves: how many, and their answers to q6."""
    zone = app.config["TIMEZONE"]
    from zoneinfo import ZoneInfo

    found: dict[tuple[int, int], Tally[str]] = {}
    with app.app_context():
        for response in db.session.scalars(select(Response)):
            if response.created_at.astimezone(ZoneInfo(zone)).date() != day:
                continue
            tally = found.setdefault((response.agency_id, response.sector_id), Tally())
            if response.status == "counted":
                tally["responses"] += 1
                tally[f"q6_{response.q6}"] += 1
            else:
                tally[f"responses_{response.status}"] += 1
    return found


# Sealing ---------------------------------------------------------------------------------


def test_close_seals_every_finished_day_once_empty_days_included(app, runner, days):
    result = close(runner)
    assert result.exit_code == 0, result.output
    assert "sealed 3 days, 2025-03-03 to 2025-03-05" in result.output
    sealed = all_seals(app)
    assert [(s.sequence, s.day, s.kind, s.revision) for s in sealed] == [
        (1, MARCH_3, "day", 0), (2, MARCH_4, "day", 0), (3, MARCH_5, "day", 0)]
    assert sealed[0].previous_digest == "0" * 64
    assert [s.previous_digest for s in sealed[1:]] == [s.digest for s in sealed[:-1]]
    assert sealed[1].totals == {}  # 4 March: nobody answered, sealed empty
    # The totals are the counted ones per agency and sector, counters summed.
    for day, seal in ((MARCH_3, sealed[0]), (MARCH_5, sealed[2])):
        expected = counted_by_place(app, day)
        got = {(int(a), int(s)): counts for a, entry in seal.totals.items()
               for s, counts in entry["sectors"].items()}
        assert set(got) == set(expected)
        for place, tally in expected.items():
            for column, n in tally.items():
                assert got[place][column] == n, (day, place, column)
    land_of_commune = sealed[0].totals[str(days["commune"])]["sectors"][str(days["land"])]
    assert land_of_commune["responses"] == 2  # 8:00 and 23:50 local; the 12:00 one flagged
    assert land_of_commune["responses_flagged"] == 1
    assert "q6_1" not in land_of_commune  # zero counts are left out


def test_close_again_seals_nothing_twice_and_later_only_the_new_days(app, runner, days):
    assert close(runner, MARCH_4).exit_code == 0
    again = close(runner, MARCH_4)
    assert again.exit_code == 0 and "nothing to seal" in again.output
    assert [s.day for s in all_seals(app)] == [MARCH_3, MARCH_4]
    assert close(runner, MARCH_5).exit_code == 0
    assert [s.day for s in all_seals(app)] == [MARCH_3, MARCH_4, MARCH_5]
    # Each run leaves one anchor in the audit log: the newest seal and its digest.
    anchors = [e.details for e in audit_events(app, "seals.appended")]
    assert [(a["sequence"], a["digest"]) for a in anchors] == [
        (2, all_seals(app)[1].digest), (3, all_seals(app)[2].digest)]


def test_close_up_to_yesterday_by_default_and_never_today(app, runner, days):
    result = runner.invoke(args=["seals", "close"])
    assert result.exit_code == 0, result.output
    sealed = all_seals(app)
    with app.app_context():
        today = local_date(utcnow())
    assert sealed[-1].day == today - timedelta(days=1)
    assert len(sealed) == (today - MARCH_3).days
    refused = close(runner, today)
    assert refused.exit_code != 0 and "not over yet" in refused.output


def test_nothing_to_seal_without_any_response(app, runner):
    result = runner.invoke(args=["seals", "close"])
    assert result.exit_code == 0 and "nothing to seal" in result.output
    assert all_seals(app) == []
    assert verify(runner).exit_code == 0


def test_the_database_refuses_a_second_seal_of_a_day_or_of_a_sequence(app, runner, days):
    """What keeps two closes running at once from sealing a day twice."""
    assert close(runner, MARCH_3).exit_code == 0
    first = all_seals(app)[0]
    base = {"day": MARCH_3, "kind": "day", "revision": 0, "reason": None,
            "sealed_at": first.sealed_at, "totals": {}, "content_digest": "a" * 64,
            "previous_digest": first.digest, "digest": "b" * 64}
    with app.app_context():
        for clash in ({"sequence": 2}, {"sequence": 1, "day": MARCH_4}):
            with pytest.raises(IntegrityError), db.session.begin_nested():
                db.session.add(DaySeal(**{**base, **clash}))
                db.session.flush()
        # A correction always has a reason, a day seal never.
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(DaySeal(**{**base, "sequence": 2, "day": MARCH_4, "reason": "x"}))
            db.session.flush()


# Corrections -----------------------------------------------------------------------------


def test_flag_and_restore_of_a_sealed_day_append_corrections_with_their_reason(
    app, runner, days
):
    assert close(runner).exit_code == 0
    original = all_seals(app)[0]
    target = days["ids"][0]  # province, land, 3 March
    with app.app_context():
        response = db.session.get(Response, target)
        assert flag_response(db.session, response, "abuse").value == "changed"
        db.session.commit()
    sealed = all_seals(app)
    assert len(sealed) == 4
    flagged = sealed[3]
    assert (flagged.day, flagged.kind, flagged.revision) == (MARCH_3, "correction", 1)
    assert flagged.reason == f"gắn cờ phản hồi #{target}"
    assert flagged.previous_digest == sealed[2].digest
    place = flagged.totals[str(days["province"])]["sectors"][str(days["land"])]
    before = original.totals[str(days["province"])]["sectors"][str(days["land"])]
    assert place["responses"] == before["responses"] - 1
    assert place.get("responses_flagged", 0) == before.get("responses_flagged", 0) + 1
    assert place.get("q6_5", 0) == before["q6_5"] - 1
    # The other agency's figures are carried over as they were.
    assert flagged.totals[str(days["commune"])]["sectors"] == (
        original.totals[str(days["commune"])]["sectors"])
    assert verify(runner).exit_code == 0

    with app.app_context():
        assert restore_response(db.session, db.session.get(Response, target)).value == "changed"
        db.session.commit()
    restored = all_seals(app)[4]
    assert (restored.kind, restored.revision) == ("correction", 2)
    assert restored.reason == f"khôi phục phản hồi #{target}"
    assert {a: e["sectors"] for a, e in restored.totals.items()} == {
        a: e["sectors"] for a, e in original.totals.items()}
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "ok: 5 seals over 3 days" in result.output


def test_flag_through_the_review_page_appends_the_correction_in_the_same_request(
    app, runner, days
):
    from survey_app.services.accounts import create_user
    from tests.factories import PASSWORD, sign_in

    assert close(runner).exit_code == 0
    with app.app_context():
        from survey_app.models import Agency

        create_user(db.session, "lanhdao@tinh.example", PASSWORD, "manager",
                    db.session.get(Agency, days["province"]))
        db.session.commit()
    client = sign_in(app.test_client(), "lanhdao@tinh.example")
    app.config["WTF_CSRF_ENABLED"] = False
    target = days["ids"][2]
    answer = client.post(f"/review/responses/{target}/flag", data={"reason": "test"})
    assert answer.status_code == 303
    last = all_seals(app)[-1]
    assert (last.kind, last.reason) == ("correction", f"gắn cờ phản hồi #{target}")
    assert verify(runner).exit_code == 0


def test_a_receipt_answer_that_makes_a_sealed_walk_in_a_duplicate_appends_a_correction(
    app, runner, days
):
    """The walk-in answer of 3 March gave its dossier; the receipt link of the same dossier
    is answered today: the walk-in stops counting, and its sealed day is corrected."""
    from survey_app.models import Agency
    from survey_app.services import receipts
    from tests.factories import VALID_ANSWERS, hidden_value

    with app.app_context():
        province = db.session.get(Agency, days["province"])
        key = receipts.create_key(db.session, province)
        land = create_code(province, "Quầy 1", "DAT_DAI")
        walk_in = record(land, local_time(2025, 3, 3, 15), "walk-in",
                         answers=answers("5"), dossier="HS-2025/0042")
        db.session.commit()
        walk_in_id, secret, key_id = walk_in.id, key.secret, key.id
        today = local_date(utcnow())
    assert close(runner).exit_code == 0
    token = receipts.mint_token(bytes.fromhex(secret), key_id, days["province"],
                                days["land"], today, "HS-2025/0042")
    phone = app.test_client()
    page = phone.get(f"/r/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = {**{k: v for k, v in VALID_ANSWERS.items() if k != "dossier"},
            "csrf_token": hidden_value(html, "csrf_token"),
            "submit_token": hidden_value(html, "submit_token")}
    assert phone.post(f"/r/{token}", data=data).status_code == 303
    last = all_seals(app)[-1]
    assert (last.day, last.kind) == (MARCH_3, "correction")
    assert last.reason.startswith(f"phản hồi #{walk_in_id} trùng hồ sơ với phản hồi #")
    assert verify(runner).exit_code == 0


def test_no_correction_for_a_day_not_sealed_yet(app, runner, days):
    assert close(runner, MARCH_4).exit_code == 0
    on_the_5th = days["ids"][5]
    with app.app_context():
        flag_response(db.session, db.session.get(Response, on_the_5th), "test")
        db.session.commit()
    assert [s.kind for s in all_seals(app)] == ["day", "day"]
    # Sealed later, the 5th holds the flag as it now stands.
    assert close(runner).exit_code == 0
    fifth = all_seals(app)[-1]
    assert fifth.day == MARCH_5
    entry = fifth.totals[str(days["province"])]["sectors"][str(days["land"])]
    assert entry == {"responses_flagged": 1}
    assert verify(runner).exit_code == 0


def test_flagging_an_already_flagged_response_appends_nothing(app, runner, days):
    assert close(runner).exit_code == 0
    with app.app_context():
        flag_response(db.session, db.session.get(Response, days["ids"][4]), "other")
        db.session.commit()
    assert len(all_seals(app)) == 3


def test_purge_of_a_sealed_day_changes_no_total_and_appends_nothing(app, runner, days):
    """The purge clears comments and hashes only: a sealed day's totals stay the same, so
    the chain has nothing to correct and still verifies."""
    assert close(runner).exit_code == 0
    with app.app_context():
        result = purge(db.session, 30)
        db.session.commit()
        assert result.cleared["comment"] == 5
        assert db.session.scalar(select(Response.comment).where(
            Response.id == days["ids"][0])) is None
    assert len(all_seals(app)) == 3
    assert verify(runner).exit_code == 0


# Verifying -------------------------------------------------------------------------------


def test_verify_holds_on_an_untouched_chain(app, runner, days):
    assert close(runner).exit_code == 0
    result = verify(runner)
    assert result.exit_code == 0
    assert result.output.strip() == (
        "ok: 3 seals over 3 days; every link and every sealed day matches the rollups")


def test_verify_fails_on_a_rollup_edited_with_a_raw_update_naming_day_agency_sector(
    app, runner, days
):
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(text(
            "UPDATE tally_days SET responses = responses + 3, q6_5 = q6_5 + 3 "
            "WHERE day = :day AND agency_id = :agency AND sector_id = :sector "
            "AND status = 'counted'"
        ), {"day": MARCH_3, "agency": days["commune"], "sector": days["land"]})
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("2025-")]
    assert lines == [
        f"2025-03-03: agency XA-A (#{days['commune']}), sector DAT_DAI (#{days['land']}): "
        "the rollups no longer match seal #1: q6_5 1 -> 4, responses 2 -> 5"
    ]
    assert "1 problem in 3 seals over 3 days" in result.output


def test_verify_fails_on_a_rollup_row_inserted_into_an_empty_sealed_day(app, runner, days):
    assert close(runner).exit_code == 0
    with app.app_context():
        row = db.session.execute(select(tally_days).where(
            tally_days.c.day == MARCH_3, tally_days.c.status == "counted")).mappings().first()
        db.session.execute(tally_days.insert().values(
            {**row, "day": MARCH_4, "survey_code_id": row["survey_code_id"]}))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert "2025-03-04: agency" in result.output


def test_a_correction_never_launders_an_edited_rollup(app, runner, days):
    """A flag after a rollup was edited moves only its own response: the edit still shows."""
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(
            update(tally_days)
            .where(tally_days.c.day == MARCH_3, tally_days.c.agency_id == days["province"],
                   tally_days.c.status == "counted", tally_days.c.sector_id == days["land"])
            .values(q6_4=tally_days.c.q6_4 + 7)
        )
        flag_response(db.session, db.session.get(Response, days["ids"][1]), "abuse")
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert "2025-03-03: agency TINH" in result.output and "seal #4" in result.output


def test_verify_fails_on_a_seal_row_edited_naming_its_sequence(app, runner, days):
    assert close(runner).exit_code == 0
    first = all_seals(app)[0]
    # The figures raised in the rollups and in the seal alike, as an insider would.
    totals = json.loads(json.dumps(first.totals))
    totals[str(days["province"])]["sectors"][str(days["land"])]["responses"] += 10
    with app.app_context():
        db.session.execute(text(
            "UPDATE tally_days SET responses = responses + 10 WHERE day = :day "
            "AND agency_id = :agency AND sector_id = :sector AND status = 'counted'"
        ), {"day": MARCH_3, "agency": days["province"], "sector": days["land"]})
        db.session.execute(update(DaySeal).where(DaySeal.sequence == 1).values(totals=totals))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert ("seal #1 (2025-03-03): edited in the database: its content no longer hashes to "
            "its digest") in result.output
    assert "2025-03-03: agency" not in result.output  # the rollups match the edited seal


def test_verify_fails_on_a_reason_or_time_edited(app, runner, days):
    assert close(runner).exit_code == 0
    later = all_seals(app)[1].sealed_at + timedelta(hours=1)
    with app.app_context():
        flag_response(db.session, db.session.get(Response, days["ids"][0]), "abuse")
        db.session.execute(update(DaySeal).where(DaySeal.sequence == 4)
                           .values(reason="khôi phục dữ liệu"))
        db.session.execute(update(DaySeal).where(DaySeal.sequence == 2)
                           .values(sealed_at=later))
        db.session.commit()
    output = verify(runner).output
    assert "seal #4 (2025-03-03): edited" in output
    assert "seal #2 (2025-03-04): edited" in output


def test_verify_fails_on_a_seal_row_deleted_naming_its_sequence(app, runner, days):
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(delete(DaySeal).where(DaySeal.sequence == 2))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert "seal #2 is missing: deleted from the database" in result.output
    assert "2025-03-04: no seal for this day" in result.output


def test_verify_fails_when_the_newest_seal_is_deleted(app, runner, days):
    """Nothing follows the last seal; the audit log's anchor names it."""
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(delete(DaySeal).where(DaySeal.sequence == 3))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert "seal #3, noted in the audit log on " in result.output
    assert "is missing: deleted from the database" in result.output


def test_verify_fails_when_the_chain_is_rewritten_whole_from_an_edited_seal(
    app, runner, days
):
    """Recomputing every digest after an edit leaves the chain consistent in itself; the
    append-only audit log still holds the digest the last seal had."""
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(text(
            "UPDATE tally_days SET responses = responses + 1 WHERE day = :day "
            "AND status = 'counted' AND agency_id = :agency"
        ), {"day": MARCH_5, "agency": days["province"]})
        previous = seals.GENESIS
        for seal in db.session.scalars(select(DaySeal).order_by(DaySeal.sequence)):
            totals = json.loads(json.dumps(seal.totals))
            if seal.day == MARCH_5:
                totals[str(days["province"])]["sectors"][str(days["land"])]["responses"] += 1
            seal.totals = totals
            db.session.flush()
            content = seals.content_digest(seals.leaves_of(seal))
            seal.content_digest, seal.previous_digest = content, previous
            seal.digest = seals.seal_digest(
                sequence=seal.sequence, day=seal.day, kind=seal.kind, reason=seal.reason,
                sealed_at=seal.sealed_at, previous=previous, content=content)
            previous = seal.digest
        db.session.commit()
    result = verify(runner)
    assert result.exit_code != 0
    assert "seal #3 (2025-03-05): its digest is not the one the audit log recorded" in (
        result.output)


def test_verify_reports_unreadable_totals_instead_of_failing(app, runner, days):
    assert close(runner).exit_code == 0
    with app.app_context():
        db.session.execute(update(DaySeal).where(DaySeal.sequence == 1)
                           .values(totals={"x": {"sectors": {"1": {"responses": "ba"}}}}))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "seal #1 (2025-03-03): its stored totals cannot be read" in result.output


# The public page and its JSON ------------------------------------------------------------


def recompute_leaf(day: str, leaf: dict[str, Any]) -> str:
    """The leaf of one agency, recomputed as docs/seals.md says, with the stdlib alone."""
    body = {"agency": leaf["agency"], "day": day, "salt": leaf["salt"],
            "sectors": leaf["sectors"]}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def recompute_digest(seal: dict[str, Any], content: str) -> str:
    body = {"content": content, "day": seal["day"], "kind": seal["kind"],
            "previous": seal["previous"], "reason": seal["reason"],
            "sealed_at": seal["sealed_at"], "sequence": seal["sequence"], "version": 1}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def test_the_published_json_recomputes_to_every_digest(app, runner, client, days):
    assert close(runner).exit_code == 0
    with app.app_context():
        flag_response(db.session, db.session.get(Response, days["ids"][0]), "abuse")
        db.session.commit()
    chain = client.get("/cong-khai/niem-phong.json")
    assert chain.status_code == 200 and chain.headers["Cache-Control"].startswith("public")
    published = chain.get_json()
    previous = "0" * 64
    for seal in published["seals"]:
        assert seal["previous"] == previous
        assert recompute_digest(seal, seal["content"]) == seal["digest"]
        previous = seal["digest"]
    assert [s["sequence"] for s in published["seals"]] == [1, 2, 3, 4]

    day = client.get("/cong-khai/niem-phong/2025-03-03.json").get_json()
    assert [s["kind"] for s in day["seals"]] == ["day", "correction"]
    for seal in day["seals"]:
        leaves = [[leaf["agency"], leaf["leaf"]] for leaf in seal["leaves"]]
        assert leaves == sorted(leaves)
        content = hashlib.sha256(json.dumps(leaves, separators=(",", ":")).encode()).hexdigest()
        assert content == seal["content"]
        assert recompute_digest(seal, content) == seal["digest"]
        assert seal in [{**s, "leaves": seal["leaves"]} for s in published["seals"]]
        for leaf in seal["leaves"]:
            assert recompute_leaf(day["day"], leaf) == leaf["leaf"]
    # The figures in clear agree with a count of the responses themselves (after the flag).
    shown = {(leaf["agency"], int(s)): counts for leaf in day["seals"][-1]["leaves"]
             for s, counts in leaf["sectors"].items()}
    for place, tally in counted_by_place(app, MARCH_3).items():
        assert {c: shown[place].get(c, 0) for c in tally} == dict(tally)
    # Agency and sector only: no counter, no code, no comment.
    raw = json.dumps(day, ensure_ascii=False)
    for word in ("counter", "Quầy", "survey_code", "Ý kiến"):
        assert word not in raw


def test_an_agency_not_shown_publishes_its_leaf_only_and_the_day_still_checks(app, runner,
                                                                             days):
    assert close(runner).exit_code == 0
    with app.app_context():
        body = seals.public_day(db.session, MARCH_3, frozenset({days["province"]}))
    assert body is not None
    seal = body["seals"][0]
    hidden = next(leaf for leaf in seal["leaves"] if leaf["agency"] == days["commune"])
    assert set(hidden) == {"agency", "leaf"}
    leaves = [[leaf["agency"], leaf["leaf"]] for leaf in seal["leaves"]]
    content = hashlib.sha256(json.dumps(leaves, separators=(",", ":")).encode()).hexdigest()
    assert content == seal["content"] and recompute_digest(seal, content) == seal["digest"]
    shown = next(leaf for leaf in seal["leaves"] if leaf["agency"] == days["province"])
    assert recompute_leaf(body["day"], shown) == shown["leaf"]
    assert shown["agency_code"] == "TINH" and shown["sector_codes"][str(days["land"])] == "DAT_DAI"


def test_only_the_agencies_published_on_the_board_are_shown_in_clear(app, runner, client,
                                                                    days):
    with app.app_context():
        board.unpublish(db.session, db.session.get(Agency, days["commune"]))
        db.session.commit()
    assert close(runner).exit_code == 0
    day = client.get("/cong-khai/niem-phong/2025-03-03.json").get_json()
    leaves = {leaf["agency"]: leaf for leaf in day["seals"][0]["leaves"]}
    assert set(leaves[days["commune"]]) == {"agency", "leaf"}
    assert leaves[days["province"]]["agency_code"] == "TINH"
    assert "XA-A" not in json.dumps(day, ensure_ascii=False)


def test_the_board_shows_the_latest_seal_and_links_to_every_day(app, runner, client, days):
    assert "Chưa có ngày nào được niêm phong" in client.get("/cong-khai/").get_data(True)
    assert close(runner).exit_code == 0
    with app.app_context():
        newest = seals.latest_seal(db.session)
        assert newest is not None
    for address in ("/cong-khai/", "/cong-khai/TINH?quy=2025-Q1"):
        html = client.get(address).get_data(as_text=True)
        assert newest.digest in html and "05/03/2025" in html
        assert 'href="/cong-khai/niem-phong"' in html
        assert 'href="/cong-khai/niem-phong.json"' in html


def test_the_page_shows_the_latest_seal_and_each_day_with_its_corrections(
    app, runner, client, days
):
    empty = client.get("/cong-khai/niem-phong")
    assert empty.status_code == 200
    assert "Chưa có ngày nào được niêm phong." in words_of(empty)
    assert close(runner).exit_code == 0
    with app.app_context():
        flag_response(db.session, db.session.get(Response, days["ids"][0]), "abuse")
        db.session.commit()
    sealed = all_seals(app)
    page = client.get("/cong-khai/niem-phong")
    words = words_of(page)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lần niêm phong gần nhất" in words
    assert f'<code class="digest" data-digest>{sealed[-1].digest}</code>' in html
    for seal in sealed:
        assert seal.digest in html
    assert f"#4 · Đính chính: gắn cờ phản hồi #{days['ids'][0]}" in words
    for day in ("03/03/2025", "04/03/2025", "05/03/2025"):
        assert day in words
    assert "/cong-khai/niem-phong/2025-03-04.json" in html
    assert "/cong-khai/niem-phong.json" in html


def test_the_page_goes_back_a_month_at_a_time(app, runner, client, days):
    assert close(runner, date(2025, 4, 30)).exit_code == 0
    first = client.get("/cong-khai/niem-phong")
    words = words_of(first)
    assert "30/04/2025" in words and "31/03/2025" in words and "30/03/2025" not in words
    assert "?truoc=2025-03-31" in first.get_data(as_text=True)
    older = words_of(client.get("/cong-khai/niem-phong?truoc=2025-03-31"))
    assert "30/03/2025" in older and "03/03/2025" in older and "31/03/2025" not in older
    none = client.get("/cong-khai/niem-phong?truoc=2025-03-03")
    assert none.status_code == 200
    assert "Không có ngày nào đã niêm phong trước ngày này." in words_of(none)


@pytest.mark.parametrize("value", ["hôm-qua", "2025-02-30", "2025-3-4", "2025-03-04\x00",
                                   "9" * 5000, "2025-03-04T00:00"])
def test_a_bad_day_gets_a_clear_message_never_an_error(app, client, value):
    page = client.get("/cong-khai/niem-phong", query_string={"truoc": value})
    assert page.status_code == 400
    assert "Ngày trong địa chỉ chưa đúng" in words_of(page)


@pytest.mark.parametrize("path", ["2025-02-30", "hom-qua", "2025-03-04%00",
                                  "20250304", "9999-12-31"])
def test_a_bad_or_unsealed_day_in_the_json_gets_a_json_error(app, runner, client, days, path):
    assert close(runner).exit_code == 0
    answer = client.get(f"/cong-khai/niem-phong/{path}.json")
    assert answer.status_code == 404
    body = answer.get_json()
    assert body["error"] in ("invalid_day", "not_sealed") and body["message"]


def test_the_public_pages_take_only_get(app, client):
    assert client.post("/cong-khai/niem-phong").status_code == 405
    assert client.post("/cong-khai/niem-phong.json").status_code == 405


def test_the_check_in_docs_seals_md_holds_on_the_published_json(app, runner, client, days,
                                                               monkeypatch, capsys):
    """The documented stdlib snippet, run as written against this app's JSON."""
    import io
    import re
    import urllib.request
    from pathlib import Path

    assert close(runner).exit_code == 0
    with app.app_context():
        flag_response(db.session, db.session.get(Response, days["ids"][3]), "abuse")
        db.session.commit()
    document = (Path(__file__).parents[2] / "docs" / "seals.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", document, re.S)
    assert snippet is not None
    base = re.search(r'BASE = "([^"]+)"', snippet.group(1))
    assert base is not None

    def urlopen(url: str) -> io.BytesIO:
        answer = client.get(url.removeprefix(base.group(1)))
        assert answer.status_code == 200, url
        return io.BytesIO(answer.data)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    exec(compile(snippet.group(1), "docs/seals.md", "exec"), {})  # noqa: S102
    printed = capsys.readouterr().out
    assert f"chain holds: 4 seals; latest {all_seals(app)[-1].digest}" in printed
    assert "2025-03-03 holds" in printed

    # The same check fails on a seal edited in the database.
    with app.app_context():
        db.session.execute(update(DaySeal).where(DaySeal.sequence == 2)
                           .values(content_digest=seals.content_digest([(1, "0" * 64)])))
        db.session.commit()
    with pytest.raises(AssertionError, match="seal #2 does not hash to its digest"):
        exec(compile(snippet.group(1), "docs/seals.md", "exec"), {})  # noqa: S102


@pytest.mark.skipif(not databases.POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_at_once_two_closes_seal_each_day_once_and_a_flag_is_never_missed():
    """On a database of its own, committed: one close holds the chain while a second close
    and a flag of a day it is sealing wait; then the second finds nothing left to seal and
    the flag appends its correction. The chain verifies."""
    import threading
    import time

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from survey_app import create_app, normalise_database_url
    from tests.factories import seeded_app

    base = make_url(normalise_database_url(databases.POSTGRES_URL or ""))
    name = f"{base.database}_race{databases.worker()}"[:databases.MAX_NAME_LENGTH]
    server = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        app = seeded_app(url)
        with app.app_context():
            code = create_code(create_agency("TINH", "Tỉnh"), "Quầy 1", "DAT_DAI")
            ids = [record(code, local_time(2025, 3, day, 9), f"race-{day}",
                          answers=answers("5")).id for day in (3, 4, 5)]
            db.session.commit()
            today = local_date(utcnow())
        outcomes: dict[str, Any] = {}

        def first_close() -> None:
            with create_app({"DATABASE_URL": url}).app_context():
                outcomes["first"] = len(seals.close(db.session, today, MARCH_5))
                outcomes["first_done"] = time.monotonic()
                time.sleep(1.0)  # holding the chain, uncommitted
                db.session.commit()
                outcomes["first_committed"] = time.monotonic()

        def second_close() -> None:
            with create_app({"DATABASE_URL": url}).app_context():
                outcomes["second"] = len(seals.close(db.session, today, MARCH_5))
                db.session.commit()

        def flag_the_4th() -> None:
            with create_app({"DATABASE_URL": url}).app_context():
                flag_response(db.session, db.session.get(Response, ids[1]), "test")
                db.session.commit()
                outcomes["flagged"] = time.monotonic()

        threads = [threading.Thread(target=first_close)]
        threads[0].start()
        while "first_done" not in outcomes and threads[0].is_alive():
            time.sleep(0.01)
        threads += [threading.Thread(target=second_close), threading.Thread(target=flag_the_4th)]
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert (outcomes["first"], outcomes["second"]) == (3, 0)
        assert outcomes["flagged"] >= outcomes["first_committed"]  # it waited
        with app.app_context():
            chain = [(s.sequence, s.day, s.kind) for s in
                     db.session.scalars(select(DaySeal).order_by(DaySeal.sequence))]
            assert chain == [(1, MARCH_3, "day"), (2, MARCH_4, "day"), (3, MARCH_5, "day"),
                             (4, MARCH_4, "correction")]
            assert seals.verify(db.session).problems == []
            db.session.rollback()
        db.engine_for(app).dispose()
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def test_the_audit_log_names_each_close_in_words(app, runner, days):
    from tests.factories import make_user, sign_in

    assert close(runner).exit_code == 0
    make_user(app, "quantri@tinh.example", "admin", None)
    page = sign_in(app.test_client(), "quantri@tinh.example").get("/admin/audit")
    assert page.status_code == 200
    words = words_of(page)
    assert "Niêm phong số liệu ngày" in words
    assert f"Số thứ tự: 3; Ngày: 2025-03-05; Mã băm: {all_seals(app)[-1].digest}" in words
