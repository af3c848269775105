"""The user image (docker/Dockerfile, ``make docker``) as far as it can be checked without
a container engine: its stages, user and commit; ``femli info`` showing the commit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from femli.outputs.status import git_commit

ROOT = Path(__file__).resolve().parents[2]


def stages() -> dict[str, list[str]]:
    """The Dockerfile's instructions per stage (continuation lines joined, comments out)."""
    text = (ROOT / "docker" / "Dockerfile").read_text()
    lines = [ln for ln in text.replace("\\\n", " ").splitlines() if ln.strip()]
    out: dict[str, list[str]] = {}
    name = "preamble"
    for line in (ln for ln in lines if not ln.lstrip().startswith("#")):
        match = re.match(r"FROM \S+ AS (\S+)", line)
        if match:
            name = match.group(1)
        out.setdefault(name, []).append(line)
    return out


def test_the_image_runs_as_a_user_without_test_or_lint_tools():
    parts = stages()
    assert list(parts)[-2:] == ["build", "runtime"]  # multi-stage: the last stage is run
    runtime = "\n".join(parts["runtime"])
    build = "\n".join(parts["build"])
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "[dev]", "bootstrap.sh", "binutils"):
        assert tool not in runtime and tool not in build.replace("binutils", ""), tool
    assert "COPY --from=build /opt/femli /opt/femli" in runtime
    assert re.search(r"^USER femli$", runtime, re.M) and "useradd" in runtime
    assert "ARG GIT_COMMIT" in runtime and "FEMLI_GIT_COMMIT=${GIT_COMMIT}" in runtime
    assert "pip install --no-cache-dir /src" in build and "PIP_NO_CACHE_DIR=1" in build
    assert "-name tests" in build and "strip --strip-unneeded" in build
    assert "rm -rf /var/lib/apt/lists/*" in runtime


def test_make_docker_builds_with_the_checkouts_commit():
    dry = subprocess.run(["make", "-n", "docker"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    head = git_commit(ROOT)
    if head is None:
        pytest.skip("not a git checkout")
    assert re.search(rf"--build-arg GIT_COMMIT={head}(-dirty)? ", dry.stdout), dry.stdout
    assert "-f docker/Dockerfile" in dry.stdout


def test_the_commit_comes_from_the_image_outside_a_checkout(tmp_path, monkeypatch):
    """femli info / provenance: an installed femli (no .git) reports $FEMLI_GIT_COMMIT."""
    monkeypatch.delenv("FEMLI_GIT_COMMIT", raising=False)
    assert git_commit(tmp_path) is None
    monkeypatch.setenv("FEMLI_GIT_COMMIT", "abc123")
    assert git_commit(tmp_path) == "abc123"
    if (ROOT / ".git").exists():  # a checkout's own commit wins
        assert git_commit(ROOT) not in (None, "abc123")


def test_femli_info_shows_the_commit():
    import sys

    info = subprocess.run(
        [sys.executable, "-m", "femli", "info"], capture_output=True, text=True, timeout=120
    )
    assert info.returncode == 0, info.stderr
    assert re.search(rf"^git commit\s+{git_commit() or 'unknown'}$", info.stdout, re.M)
