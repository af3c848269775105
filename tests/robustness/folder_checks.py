"""Validity of result folders: every file written by femli parses (shared by the tests)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

#: Temporary names a killed writer may leave (removed at the next run's start).
STALE = (".*.tmp", ".*.tmp.png", "fields.tmp", "fields.old", "checkpoint.tmp", "checkpoint.old")


def check_png(path: Path) -> None:
    """A PNG that decodes to a non-empty image."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.size > 0, path


def check_csv(path: Path) -> list[dict]:
    """A CSV with a header and rows of equal width; returns the rows."""
    text = path.read_text()
    assert text.endswith("\n"), path
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and all(len(r) == len(rows[0]) for r in rows), path
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def check_file(path: Path) -> None:
    """Parse one result file by its type."""
    if path.suffix == ".json":
        assert isinstance(json.loads(path.read_text()), dict), path
    elif path.suffix == ".csv":
        check_csv(path)
    elif path.suffix == ".png":
        check_png(path)
    elif path.suffix == ".toml":
        import tomllib

        tomllib.loads(path.read_text())
    elif path.suffix == ".npz":
        with np.load(path) as data:
            assert all(np.isfinite(data[k]).all() for k in data.files), path
    elif path.suffix == ".parquet":
        import pandas as pd

        pd.read_parquet(path)
    elif path.suffix in (".vtu", ".vtp"):
        import pyvista

        assert pyvista.read(path).n_points > 0, path
    elif path.suffix == ".pvd":
        check_pvd(path)


def check_pvd(path: Path) -> list[float]:
    """A ParaView collection whose every frame file exists, times increasing; its times."""
    from femli.outputs.vtkfiles import read_pvd

    frames = read_pvd(path)
    assert frames or path.read_text().count("<DataSet") == 0, path
    assert all((path.parent / name).is_file() for _, name in frames), path
    times = [t for t, _ in frames]
    assert times == sorted(times) and len(set(times)) == len(times), path
    return times


def series_times(folder: Path, name: str = "solution") -> list[float]:
    """The frame times (s) of the field series ``<folder>/series/<name>.pvd``."""
    return check_pvd(folder / "series" / f"{name}.pvd")


def check_folder(folder: Path) -> list[Path]:
    """Every file under ``folder`` (outside VTX ``.bp`` folders) parses; no temporary
    leftovers. Returns the files checked."""
    for pattern in STALE:
        assert not list(folder.rglob(pattern)), f"stale {pattern} in {folder}"
    files = [p for p in folder.rglob("*") if p.is_file() and ".bp" not in str(p.parent)]
    for path in files:
        check_file(path)
    return files


def check_after_kill(folder: Path) -> list[Path]:
    """Right after a SIGKILL: every file under a final name parses (temporary names, the
    folders being swapped in and VTX contents aside). Returns the files checked."""
    checked = []
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        temporary = any(p.startswith(".") or p.endswith((".tmp", ".old", ".bp")) for p in parts)
        if path.is_file() and not temporary:
            check_file(path)
            checked.append(path)
    return checked


def check_completed(folder: Path, digest: str | None = None) -> dict:
    """A completed run: metrics, provenance and status agree; returns the metrics."""
    metrics = json.loads((folder / "metrics.json").read_text())
    provenance = json.loads((folder / "provenance.json").read_text())
    assert metrics["status"] == "completed"
    assert provenance["exit_status"] == "completed"
    assert provenance["config_sha256"] == metrics["config_sha256"]
    assert not (folder / "status.json").exists()
    if digest is not None:
        assert metrics["config_sha256"] == digest
    check_folder(folder)
    return metrics
