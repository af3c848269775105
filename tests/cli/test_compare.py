"""``femli compare``: table and figure from two finished result folders."""

from __future__ import annotations

import json

import pytest

from femli.outputs.compare import CompareError, compare


def fake_result(folder, hotspot: float, name: str = "li"):
    folder.mkdir(parents=True)
    stats = {
        "mean": 100.0,
        "max": 100.0 * hotspot,
        "p95": 100.0,
        "hotspot_index": hotspot,
        "coefficient_of_variation": 0.1,
        "area_fraction_above_2x_mean": 0.0,
    }
    metrics = {
        "electrodes": {
            name: {
                "total_current": -1e-3,
                "potential_V": -0.1,
                "mean_surface_overpotential_V": -0.05,
                "deposition_current_density": stats,
            }
        },
        "min_concentration": 900.0,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / f"surface_current_{name}.csv").write_text(
        "x_um,y_um,boundary,current_density_A_m2,weight_m_or_m2\n"
        "0,0,electrode,-100,1e-6\n1,0,electrode,-300,1e-6\n"
    )
    return folder


def test_compare_writes_table_and_figure(tmp_path):
    a = fake_result(tmp_path / "bare", 3.0)
    b = fake_result(tmp_path / "bilayer", 1.5, name="lithium")
    text = compare(a, b, tmp_path / "cmp")
    assert "| li / lithium | hotspot index (max/mean) | - | 3 | 1.5 | 0.5 |" in text
    for name in ("comparison.csv", "comparison.md", "comparison.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0


def test_compare_rejects_unfinished_folders(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(CompareError, match=r"no metrics\.json"):
        compare(tmp_path / "half", tmp_path / "half", tmp_path / "cmp")
