"""Run the Alembic migrations of migrations/ against the app's database."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection

# The project's migrations/ folder, beside the survey_app package.
MIGRATIONS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migrations"
)


def alembic_config(url: str, connection: Connection | None = None) -> AlembicConfig:
    """Return an Alembic configuration for a database URL (or an open connection)."""
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    # ConfigParser treats % as interpolation; URLs may hold %-escaped passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", connection: Connection | None = None) -> None:
    """Create or upgrade the schema to `revision`."""
    command.upgrade(alembic_config(url, connection), revision)
