"""Small cases shared by the CLI and robustness tests (coarse meshes, pictures and fields off)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import gmsh
import numpy as np
from mpi4py import MPI

from femli.geometry import gmsh_session
from femli.geometry.nuclei import NucleusArrayParams, build_nucleus_array
from femli.mesh import Domain, build_domain, from_gmsh_model
from femli.parallel import on_root
from femli.physics.conditions import Electrode
from femli.physics.kinetics import ButlerVolmer

#: Two 0.5 um nuclei on a 2 x 2 um anode under 2 um of electrolyte, 3D and coarse
#: (~1000 nodes): builder parameters of ``nucleus_array`` (um).
NUCLEI_3D = {
    "dim": 3,
    "width": 2.0,
    "depth": 2.0,
    "height": 2.0,
    "diameter": 0.5,
    "count": 2,
    "h_nucleus": 0.1,
    "h_substrate": 0.25,
    "h_far": 0.5,
    "seed": 1,
}

#: Coarse 2D box, binary 1 M electrolyte, galvanostatic Li; limiting current
#: 2 F D c / L ~ 9.6e3 A/m2. About 0.3 s.
TINY = {
    "name": "tiny",
    "geometry": {"kind": "box", "h_far": 2.5, "h_electrode": 1.0},
    "electrolyte": {"model": "tertiary"},
    "electrodes": [
        {
            "name": "li",
            "current_density": -50.0,
            "kinetics": {"electrode": {"exchange_current": 30.0, "alpha_a": 1.5}},
        }
    ],
    "bulk": [{"boundaries": ["bulk"]}],
    "solver": {"max_continuation_steps": 16},
    "output": {"renders": False, "fields": False},
}

#: Deposition on one asperity (supporting electrolyte, 20 mA/cm2), 7 steps to 6 s with
#: one remesh (after step 5). About 1-2 s.
GROWTH = """
name = "grow"
[geometry]
kind = "box"
surface = "asperities"
count = 1
asperity_height = 1.0
asperity_width = 2.0
h_electrode = 0.3
h_far = 1.5
[electrolyte]
model = "supporting"
conductivity = 7.68e-3
[[electrodes]]
name = "li"
current_density = -200.0
[electrodes.kinetics.electrode]
exchange_current = 5.9
[growth]
t_end = 6.0
max_displacement_um = 0.05
snapshots = [3.0]
"""


#: Ridge case for the sweep tests (seed 000 ridge preset, coarse, no pictures).
RIDGE_CASE = """
name = "ridge"
[geometry]
preset = "seed000_ridge"
h_far = 2.0
h_electrode = 0.5
[[electrodes]]
name = "li"
current_density = -50.0
[electrodes.kinetics.electrode]
exchange_current = 30.0
alpha_a = 1.5
alpha_c = 0.5
[output]
renders = false
fields = false
"""


def two_nuclei(dim: int = 2, **sizes: float) -> tuple[Domain, Electrode]:
    """Two 0.5 um nuclei (lattice) in a 1.5 um box (square or cube), held at -50 mV; `sizes`
    are mesh sizes in um (h_nucleus, ...). In 2D they meet the walls (their mirror images)
    near 8 s and each other near 10 s at the growth tests' rates."""
    box = {"width": 1.5, "height": 1.5} | ({"depth": 1.5} if dim == 3 else {})
    domain, _ = build_domain(
        "nucleus_array",
        MPI.COMM_WORLD,
        dim=dim,
        diameter=0.5,
        count=2,
        placement="lattice",
        **box,
        **sizes,
    )
    electrode = Electrode("li", {"nuclei": ButlerVolmer(30.0, 1.5, 0.5)}, potential=-0.05)
    return domain, electrode


def caps_at(centres: list[list[float]], comm: MPI.Comm = MPI.COMM_WORLD, **params: float) -> Domain:
    """3D spherical-cap nuclei with base centres ``centres`` ((x, y) um each) in a box;
    ``params`` are the nucleus-array builder's (width, depth, height, diameter,
    contact_angle, h_nucleus, ...)."""

    class Placed(NucleusArrayParams):
        __slots__ = ()

        def centres(self) -> np.ndarray:
            return np.asarray(centres, dtype=float)

    with gmsh_session():
        shape = Placed(dim=3, count=len(centres), placement="lattice", **params)  # type: ignore[arg-type]
        on_root(comm, lambda: build_nucleus_array(shape), share=False)
        return from_gmsh_model(gmsh.model, comm, 3)


#: Gap (m) between the feet of the two hemispheres of :func:`hemisphere_pair`.
PAIR_GAP = 0.1e-6


def hemisphere_pair(comm: MPI.Comm = MPI.COMM_WORLD) -> Domain:
    """Two 0.25 um hemispheres whose feet are ``PAIR_GAP`` apart in a 2 x 1 x 1.2 um box
    (coarse: 0.06 um on the nuclei)."""
    return caps_at(
        [[0.7, 0.5], [1.3, 0.5]],
        comm=comm,
        width=2.0,
        depth=1.0,
        height=1.2,
        diameter=0.5,
        h_nucleus=0.06,
        h_substrate=0.12,
        h_far=0.3,
    )


def ridge_domain() -> Domain:
    """One 1 um x 2 um asperity on a 2D Li electrode (h 0.2 um there, 1 um far away)."""
    domain, _ = build_domain(
        "box",
        MPI.COMM_WORLD,
        surface="asperities",
        count=1,
        asperity_height=1.0,
        asperity_width=2.0,
        h_electrode=0.2,
        h_far=1.0,
    )
    return domain


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(folder: str, name: str) -> ModuleType:
    """The module ``examples/<folder>/<name>.py`` (scripts whose closed forms and fits the
    tests share), loaded without running its ``main``."""
    spec = importlib.util.spec_from_file_location(
        f"{folder}_{name}", EXAMPLES / folder / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
