"""tests/cluster is collected only when the run asks for it (`-m cluster`, as
`make cluster-test` does): collecting it probes network namespaces, nginx and the servers."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    expression = " ".join(str(config.getoption("markexpr") or "").split())
    if collection_path.name == "conftest.py":
        return None
    return "cluster" not in expression or "not cluster" in expression
