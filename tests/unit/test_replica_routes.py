"""Which pages may read a replica: those that only read, and nothing a person lands on
after a change of theirs (docs/deployment.md, 11)."""

from __future__ import annotations

from survey_app import create_app

READ_FROM_REPLICA = {
    "dashboard.index", "dashboard.report", "dashboard.method",
    "api.me", "api.tallies", "api.responses",
    "exports.tallies", "exports.responses",
    "board.index", "board.agency",
    "seals.index", "seals.chain_json", "seals.day_json",
}


def test_only_the_read_only_pages_read_from_the_replica(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/r.db"})
    marked = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, "reads_from_replica", False)}
    assert marked == READ_FROM_REPLICA
    for rule in app.url_map.iter_rules():
        if rule.endpoint in marked:
            assert rule.methods is not None
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule

