"""``femli run --profile``: the stages, their parts and the rest add up to the total."""

from __future__ import annotations

import subprocess
import sys

import pytest

from femli.outputs.profile import profile_rows, profile_table

METRICS = {
    "stages": {
        "mesh": {"seconds": 4.0, "peak_rss_mb_max": 2048.0},
        "setup": {"seconds": 1.0, "peak_rss_mb_max": 1024.0},
        "solve": {"seconds": 10.0, "peak_rss_mb_max": 3072.0},
        "output": {"seconds": 2.0, "peak_rss_mb_max": 1024.0},
    },
    "solver": {"assembly_seconds": 3.0, "linear_solver_seconds": 5.0},
}


def test_rows_add_up_to_the_total_and_show_the_peaks():
    rows = profile_rows(METRICS, total_seconds=20.0, startup_seconds=1.5)
    top = [(label, s) for label, s, _ in rows if not label.startswith("  ") and label != "total"]
    assert sum(s for _, s in top) == pytest.approx(20.0)
    labels = [label for label, _, _ in rows]
    assert labels[0].startswith("start-up") and labels[-1] == "total"
    assert dict((label.split()[0], peak) for label, _, peak in rows)["solve"] == 3.0
    rest = next(s for label, s, _ in rows if label.startswith("rest"))
    assert rest == pytest.approx(20.0 - 1.5 - 17.0)
    assert "of which assembly" in labels[4] and "linear solver" in labels[5]


def test_a_growth_run_shows_its_new_meshes_under_the_solve():
    seconds = {"remesh_mesh": 2.0, "new_mesh_fields": 0.5, "new_mesh_solve": 3.0}
    rows = profile_rows(METRICS | {"growth": {"new_mesh_seconds": seconds}}, 20.0)
    labels = [label for label, _, _ in rows]
    start = labels.index(next(x for x in labels if x.startswith("solve")))
    parts = rows[start + 3 : start + 6]
    assert [s for _, s, _ in parts] == [2.0, 0.5, 3.0]
    assert all(label.startswith("  of which") for label, _, _ in parts)
    assert "remeshing" in parts[0][0] and "solves on new meshes" in parts[2][0]
    plain = profile_rows(METRICS, 20.0)
    assert [r for r in rows if r not in parts] == plain  # the stages' sum is unchanged


def test_table_shares():
    table = profile_table(METRICS, total_seconds=20.0)
    solve = next(line for line in table.splitlines() if line.startswith("solve"))
    assert "50.0%" in solve and "3.00" in solve
    assert table.splitlines()[-1].split()[-2:] == ["20.00", "100.0%"]


def test_femli_run_profile_prints_the_table(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(
        'name = "p"\n[geometry]\npreset = "seed000_planar"\n[electrolyte]\nmodel = "tertiary"\n'
        '[[electrodes]]\nname = "li"\ncurrent_density = -50.0\n'
        '[electrodes.kinetics.electrode]\ntype = "butler-volmer"\nexchange_current = 30.0\n'
        "alpha_a = 1.5\nalpha_c = 0.5\n[output]\nrenders = false\n"
    )
    cmd = [sys.executable, "-m", "femli", "run", str(case), "-o", str(tmp_path / "o"), "--profile"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("where the time went"))
    rows = {line[:44].strip(): float(line[44:].split()[0]) for line in lines[start + 1 :]}
    assert {"mesh", "solve", "total"} <= {key.split()[0] for key in rows}
    parts = [v for k, v in rows.items() if not k.startswith("of which") and k != "total"]
    assert sum(parts) == pytest.approx(rows["total"], abs=0.05)
