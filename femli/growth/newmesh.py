"""A growth run on a new mesh of its shape: a remesh (quality fell), a merge of deposits,
a level-set rebuild. The fields go over (:mod:`femli.growth.transfer`), the deposit volume
the new mesh lacks is put back, the electrochemistry is solved there, and the wall time
of each part is kept (:attr:`GrowthSolver.seconds`, the run's metrics). SI units.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from femli.growth.merge import reason, rebuild_growth, touching_error
from femli.growth.remesh import remesh_domain
from femli.growth.transfer import transfer
from femli.physics.model import CellModel

if TYPE_CHECKING:
    from femli.growth.solver import GrowthSolver
    from femli.mesh import Domain

__all__ = ["NEW_MESH_TIMES", "SETTLE", "remesh", "replace_domain"]

log = logging.getLogger(__name__)

#: What :attr:`GrowthSolver.seconds` times: remeshing (Gmsh, distribution, split), the
#: fields carried to a new mesh, the solve there.
NEW_MESH_TIMES = ("remesh_mesh", "new_mesh_fields", "new_mesh_solve")

#: A new mesh whose enclosed volume differs from the old one's by more than this share
#: of the domain gets the difference put back (:meth:`VolumeKeeper.settle`).
SETTLE = 1e-12


def remesh(growth: GrowthSolver) -> None:
    """Mesh the present shape afresh and carry the fields over (3D with ``merge_gap``: a
    rebuild from the level set). Collective.

    Raises:
        MeshMotionError: the shape could not be meshed, e.g. deposits touch (2D: how far
            apart, and the ``merge_gap`` that lets them merge).
    """
    if growth.sizes is None:  # a checkpoint from before 3D remeshing
        growth.sizes = growth.remesh_sizes()
    if growth.rebuilds:
        rebuild_growth(growth, [])  # from the level set, Faraday's volume restored
        return
    old = growth.model.domain
    before = old.measure(boundary=False)
    clock = time.perf_counter()
    try:
        h_moving, h_far = growth.sizes
        domain = remesh_domain(old, growth.depositing, h_moving, h_far, growth.sizing)
        growth.seconds["remesh_mesh"] += time.perf_counter() - clock
    except Exception as err:  # Gmsh, the loop geometry: raised on every rank alike
        raise touching_error(growth, f"remeshing failed ({reason(err)})") from err
    # the deposit's volume the new mesh lacks (a split remesh's chords) is put back
    growth.replace_domain(domain, lost=domain.measure(boundary=False) - before)
    growth.remeshes += 1
    log.info(
        "remeshed at t = %.4g s: %d cells, quality %.3f",
        growth.t,
        growth.model.domain.num_cells_global(),
        growth.quality,
    )


def replace_domain(
    growth: GrowthSolver, domain: Domain, settled: bool = False, lost: float = 0.0
) -> None:
    """Carry the state over to a new mesh of the shape and solve there (a remesh, a merge
    of deposits). The volume the last step owes (half its step times the change of current
    it did not foresee) is owed on the new mesh too, unless ``settled``: the new mesh
    encloses the Faraday volume already (a level-set rebuild). The deposit volume ``lost``
    (m^3) by the new mesh is put back at once, by one normal offset of the depositing nodes
    (:meth:`VolumeKeeper.settle`). Collective."""
    clock = time.perf_counter()
    owed = 0.0 if settled else growth.keeper.owed(growth.assemble("flux"))
    old = growth.model
    model = CellModel(domain, old.electrolyte, old.electrodes, old.bulk)
    film = old.film  # film fields carry their boundary values (InterfaceTerms.extended)
    cache: dict = {}
    for source, target in zip(old.unknowns, model.unknowns, strict=True):
        transfer(old.interface.extended(source) if source is film else source, target, cache)
    charge = old.interface.film_charge, model.interface.film_charge
    if charge[0] is not None and charge[1] is not None:  # a growing film's passed charge
        transfer(old.interface.extended(charge[0]), charge[1], cache)
    for e in old.electrodes:
        model.set_potential(e, old.potentials[e.name].value.item())
    carried = time.perf_counter()
    growth.seconds["new_mesh_fields"] += carried - clock
    growth.attach(model)
    if abs(lost) > SETTLE * growth.volume0:
        growth.keeper.settle(lost)
        growth.quality = growth.mover.shift()
    growth.keeper.carry(owed)
    growth.fresh_quality = growth.quality
    growth.solve_state(warm=True)
    growth.seconds["new_mesh_solve"] += time.perf_counter() - carried
