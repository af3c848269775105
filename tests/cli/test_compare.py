"""``femli compare``: table and figure from two finished result folders."""

from __future__ import annotations

import json

import numpy as np
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


def test_folders_of_one_name_get_distinct_labels(tmp_path):
    from femli.outputs.compare import labels

    assert labels(tmp_path / "runs1" / "case", tmp_path / "runs2" / "case") == (
        "runs1/case",
        "runs2/case",
    )
    assert labels(tmp_path / "bare", tmp_path / "bilayer") == ("bare", "bilayer")
    a = fake_result(tmp_path / "x" / "case", 3.0)
    b = fake_result(tmp_path / "y" / "case", 1.5)
    text = compare(a, b, tmp_path / "cmp")
    assert "| electrode | metric | unit | x/case | y/case | B/A |" in text


def test_side_by_side_maps_share_one_colour_scale(tmp_path):
    import pyvista

    from femli.outputs.compare import figure
    from femli.outputs.quantities import DEPOSITION

    folders = []
    for name, top in (("low", 2.0), ("high", 5.0)):
        folder = fake_result(tmp_path / name, top)
        (folder / "fields").mkdir()
        plane = pyvista.Plane(i_resolution=4, j_resolution=4).triangulate()
        plane.point_data[DEPOSITION] = np.linspace(1.0, top, plane.n_points)  # mA/cm2
        plane.save(folder / "fields" / "electrode_li.vtp")
        folders.append(folder)
    scale = figure(*folders, ("low", "high"), tmp_path / "both.png")
    assert scale is not None and scale.limits == (1.0, 5.0)  # both maps: 1 to 5 mA/cm2
    assert (tmp_path / "both.png").stat().st_size > 10_000
