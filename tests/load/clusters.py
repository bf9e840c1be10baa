"""Throw-away PostgreSQL clusters for the tests that stop a database under the app (the
outage test) or run a primary with its streaming replica (the replica test).

Each cluster lives in a temporary directory under /tmp, listens on a free port of the
loopback only, and is removed at the end; the shared server and TEST_DATABASE_URL are
never touched. As root, the clusters run as the postgres account (PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STEP_TIMEOUT = 30  # seconds for initdb or pg_ctl; each takes about one on an idle machine


def _postgres_bin() -> Path | None:
    """Return the directory of initdb and pg_ctl: on the PATH, or Debian's newest.

    A link on the PATH is followed to the folder of the server's other programs.
    """
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = [Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [folder for folder in found if folder.parent.name.isdigit()]
    return max(found, key=lambda folder: int(folder.parent.name), default=None)


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


POSTGRES_BIN = _postgres_bin()
RUNS_AS_ROOT = os.geteuid() == 0
# PostgreSQL refuses to run as root: as root, the cluster is run by the postgres account.
AS_OWNER: list[str] = ["runuser", "-u", "postgres", "--"] if RUNS_AS_ROOT else []


def unavailable(test: str, programs: str = "initdb, pg_ctl") -> str | None:
    """Say why `test` cannot run its own clusters here, or None when it can."""
    if POSTGRES_BIN is None:
        return (f"{test} needs PostgreSQL's server programs ({programs}): "
                "apt-get install postgresql")
    missing = [name.strip() for name in programs.split(",")
               if not (POSTGRES_BIN / name.strip()).exists()]
    if missing:
        return f"{test} needs {', '.join(missing)} next to {POSTGRES_BIN / 'initdb'}"
    if RUNS_AS_ROOT and (shutil.which("runuser") is None or not _has_account("postgres")):
        return (f"{test} runs as root but finds no postgres account (or no runuser) to run "
                "its PostgreSQL cluster")
    return None


def run(program: str, *args: str, cwd: Path, check: bool = True) -> None:
    """Run one of PostgreSQL's programs as the cluster's owner; fail with what it said."""
    assert POSTGRES_BIN is not None
    done = subprocess.run(
        [*AS_OWNER, str(POSTGRES_BIN / program), *args],
        capture_output=True, text=True, timeout=STEP_TIMEOUT, cwd=cwd,
    )
    if check and done.returncode != 0:
        pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster listening on the loopback only."""

    directory: Path
    port: int
    # More server settings, each "name=value".
    settings: list[str] = field(default_factory=list)

    @property
    def data(self) -> str:
        return str(self.directory / "data")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def create(self) -> None:
        run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--no-locale", "--no-sync", cwd=self.directory)

    def copy_of(self, primary: Cluster, user: str) -> None:
        """Make this cluster a streaming replica of `primary` (a base backup, then -R)."""
        run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", user,
            "-D", self.data, "-R", "-X", "stream", "--no-sync", cwd=self.directory)

    def start(self) -> None:
        # Its socket in its own directory, and nothing on disk worth syncing.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        options += "".join(f" -c {setting}" for setting in self.settings)
        run("pg_ctl", "-D", self.data, "-l", str(self.directory / "server.log"),
            "-o", options, "-w", "start", cwd=self.directory)

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        """Stop as a restart does: every connection is cut, nothing waits for clients."""
        run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", cwd=self.directory,
            check=check)


def new_directory(prefix: str) -> Path:
    """A temporary directory the cluster's owner can write in.

    Under /tmp itself, not pytest's private temporary folder: the postgres account must
    reach it.
    """
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    if AS_OWNER:
        shutil.chown(directory, user="postgres")
    return directory


@contextmanager
def removed_at_the_end(*clusters: Cluster) -> Iterator[None]:
    """Stop the clusters and remove their directories however the block ends."""
    try:
        yield
    finally:
        for cluster in clusters:
            cluster.stop("immediate", check=False)
            shutil.rmtree(cluster.directory, ignore_errors=True)
