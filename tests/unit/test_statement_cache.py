"""psycopg keeps its parse of the longest statement a submission sends."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from survey_app.extensions import LONGEST_STATEMENT, MOST_PARAMETERS
from survey_app.services import recording


def test_the_insert_that_counts_a_response_fits_psycopgs_statement_cache():
    compiled = recording._insert_statement(True).compile(dialect=postgresql.dialect())
    assert len(str(compiled)) <= LONGEST_STATEMENT
    assert len(compiled.params) <= MOST_PARAMETERS
