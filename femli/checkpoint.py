"""Checkpoints of transient and growth runs, and restarts on any number of ranks.

A checkpoint is the folder ``<output>/checkpoint/`` holding

- ``mesh.msh``: the present mesh (moved or remeshed in growth runs) with its named cell
  and boundary regions, coordinates in m, Gmsh format 4.1, written by rank 0;
- ``state.npz``: the P1 unknowns (and the BDF history) as global arrays indexed by mesh
  node (node ``i`` of ``mesh.msh`` has tag ``i + 1``);
- ``state.json`` (written last): run kind, time, records, electrode potentials,
  step-size and control state, solver statistics, merge events, configuration digest,
  rank count, boundary names (also those left without facets).

The state comes from the solver (``solver.state()``: JSON-able metadata and local nodal
arrays) and goes back to it (``solver.restore(meta, arrays)``, :meth:`Checkpoint.restore`).
Nodal values are keyed by the mesh's input node index (``geometry.input_global_indices``;
P1 dofs map to geometry nodes through the cell dofmaps), gathered to rank 0, and spread
back after the saved mesh is read on any number of ranks. The folder is written as
``checkpoint.tmp/`` and renamed into place (:func:`femli.outputs.files.replace_dir`).
Only unknowns of degree 1 on affine simplex meshes are supported (what ``run_case`` builds).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import dolfinx
import numpy as np
from mpi4py import MPI

from femli.mesh import Domain, read_msh
from femli.outputs.files import (
    NoSpaceError,
    atomic_write_json,
    fresh_dir,
    full_error,
    is_full,
    replace_dir,
    require_space,
)
from femli.outputs.folder import remove

__all__ = [
    "FOLDER",
    "MARKER",
    "Checkpoint",
    "CheckpointError",
    "Stateful",
    "gather_mesh",
    "gather_nodal",
    "physics_digest",
    "read_checkpoint",
    "remove_checkpoint",
    "scatter_nodal",
    "write_checkpoint",
    "write_msh",
]

if TYPE_CHECKING:
    from femli.physics.model import CellModel

log = logging.getLogger(__name__)

FOLDER = "checkpoint"
MARKER = "state.json"
#: Gmsh element types of simplices by topological dimension.
_GMSH_TYPE = {1: 1, 2: 2, 3: 4}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used for this case (other configuration, kind, damage)."""


class Stateful(Protocol):
    """A solver whose state a checkpoint holds: ``state()`` gives ``(meta, arrays)``,
    ``meta`` JSON-able, ``arrays`` name -> local arrays in the layout of the model's P1
    unknowns; ``restore(meta, arrays)`` puts them back into a solver built afresh on the
    saved mesh."""

    model: CellModel

    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]: ...

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None: ...


def physics_digest(config) -> str:
    """SHA-256 of the effective configuration without ``[output]`` (which may change);
    renamed keys under their old names (:meth:`CaseConfig.digest_data`)."""
    data = {k: v for k, v in config.digest_data().items() if k != "output"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# -- nodal data --------------------------------------------------------------------------
def _dof_nodes(space: dolfinx.fem.FunctionSpace) -> np.ndarray:
    """Local geometry node of every local dof of a P1 space (vertex order = dof order)."""
    mesh = space.mesh
    nodes = np.empty(space.dofmap.index_map.size_local + space.dofmap.index_map.num_ghosts, int)
    nodes[space.dofmap.list.ravel()] = mesh.geometry.dofmaps[0].ravel()
    return nodes


def _gather(comm: MPI.Comm, local: np.ndarray) -> np.ndarray | None:
    parts = comm.gather(local, root=0)
    return np.concatenate(parts) if parts is not None else None  # rank 0


def gather_nodal(space, keys: np.ndarray, arrays: dict[str, list[np.ndarray]]) -> dict | None:
    """Global arrays (rank 0; None elsewhere) of local P1 arrays, ordered by ``keys``
    (the sorted input indices of all nodes). Collective."""
    comm = space.mesh.comm
    owned = space.dofmap.index_map.size_local
    inputs = space.mesh.geometry.input_global_indices[_dof_nodes(space)[:owned]]
    where = _gather(comm, inputs)
    out: dict[str, np.ndarray] = {}
    for name, values in arrays.items():
        for k, array in enumerate(values):
            gathered = _gather(comm, np.asarray(array[:owned], dtype=float))
            if where is not None and gathered is not None:  # rank 0
                full = np.full(keys.size, np.nan)
                full[np.searchsorted(keys, where)] = gathered
                out[f"{name}.{k}"] = full
    return out if comm.rank == 0 else None


def scatter_nodal(space, data: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Local arrays (owned and ghost dofs) from global ones indexed by input node."""
    index = space.mesh.geometry.input_global_indices[_dof_nodes(space)]
    out: dict[str, list[np.ndarray]] = {}
    for key in sorted(data, key=lambda k: (k.rsplit(".", 1)[0], int(k.rsplit(".", 1)[1]))):
        name = key.rsplit(".", 1)[0]
        out.setdefault(name, []).append(np.asarray(data[key])[index].copy())
    return out


# -- the mesh -----------------------------------------------------------------------------
def _tag_of_cells(domain: Domain, n: int) -> np.ndarray:
    tags = np.zeros(n, dtype=np.int32)
    if domain.cell_tags is not None:
        keep = domain.cell_tags.indices < n
        tags[domain.cell_tags.indices[keep]] = domain.cell_tags.values[keep]
    return tags


def gather_mesh(domain: Domain) -> dict | None:
    """Nodes (sorted input index, coordinates), cells and tagged facets on rank 0. Collective."""
    mesh, comm, tdim = domain.mesh, domain.comm, domain.dim
    inputs = mesh.geometry.input_global_indices
    n_nodes = mesh.geometry.index_map().size_local
    n_cells = mesh.topology.index_map(tdim).size_local
    cells = inputs[mesh.geometry.dofmaps[0][:n_cells]]
    facets, values = np.zeros((0, tdim), dtype=np.int64), np.zeros(0, dtype=np.int32)
    if domain.facet_tags is not None and domain.facet_tags.indices.size:
        ft = domain.facet_tags
        facets = inputs[dolfinx.mesh.entities_to_geometry(mesh, tdim - 1, ft.indices)]
        values = ft.values
    local = {
        "keys": inputs[:n_nodes],
        "x": mesh.geometry.x[:n_nodes],
        "cells": cells,
        "cell_tags": _tag_of_cells(domain, n_cells),
        "facets": facets,
        "facet_tags": values,
    }
    parts = {key: _gather(comm, array) for key, array in local.items()}  # in this order
    if comm.rank != 0:
        return None
    data: dict[str, Any] = {}
    for key, part in parts.items():
        assert part is not None  # gathered on rank 0
        data[key] = part
    order = np.argsort(data["keys"])
    data["keys"], data["x"] = data["keys"][order], data["x"][order]
    _, first = np.unique(np.sort(data["facets"], axis=1), axis=0, return_index=True)
    data["facets"], data["facet_tags"] = data["facets"][first], data["facet_tags"][first]
    data["dim"] = tdim
    return data


def _entities(tags: np.ndarray, names: dict[str, int]) -> list[tuple[int, int, str]]:
    """(tag value, gmsh entity/physical tag, name) per tag value; untagged (0) cells get a
    fresh unnamed group so no cell is dropped."""
    out = []
    for value in np.unique(tags):
        tag = int(value) if value > 0 else int(max(tags.max(), 0)) + 1
        out.append((int(value), tag, next((k for k, v in names.items() if v == value), "")))
    return out


def write_msh(data: dict, names: dict, path: Path) -> None:
    """Write gathered mesh data as a Gmsh ``.msh`` (rank 0; node tag = position + 1)."""
    import gmsh

    from femli.geometry import gmsh_session

    tdim, keys = data["dim"], data["keys"]
    blocks = (
        (tdim, data["cells"], data["cell_tags"], names["cells"]),
        (tdim - 1, data["facets"], data["facet_tags"], names["facets"]),
    )
    with gmsh_session():
        gmsh.model.add("femli_checkpoint")
        try:
            count = 0
            for dim, elements, tags, table in blocks:
                for value, tag, name in _entities(tags, table):
                    gmsh.model.addDiscreteEntity(dim, tag)
                    if count == 0:  # every node on the first cell entity
                        coords = data["x"].ravel()
                        gmsh.model.mesh.addNodes(dim, tag, np.arange(1, keys.size + 1), coords)
                    chosen = elements[tags == value]
                    numbers = np.arange(count + 1, count + 1 + len(chosen))
                    count += len(chosen)
                    nodes = np.searchsorted(keys, chosen).ravel() + 1
                    gmsh.model.mesh.addElementsByType(tag, _GMSH_TYPE[dim], numbers, nodes)
                    gmsh.model.addPhysicalGroup(dim, [tag], tag, name=name)
            gmsh.option.setNumber("Mesh.Binary", 1)
            gmsh.write(str(path))
        finally:
            gmsh.model.remove()


# -- the folder ---------------------------------------------------------------------------
@dataclass(slots=True)
class Checkpoint:
    """A checkpoint read back: its metadata and the domain it was written on."""

    meta: dict
    folder: Path

    def domain(self, comm: MPI.Comm) -> Domain:
        """The saved mesh with its regions, distributed over ``comm``; boundary names
        without facets (covered by merged deposits) come back as empty regions.
        Collective."""
        domain = read_msh(self.folder / "mesh.msh", comm, length_unit=1.0)
        return domain.add_empty_regions(self.meta.get("facet_names", []))

    def arrays(self, space, comm: MPI.Comm) -> dict[str, list[np.ndarray]]:
        """The saved nodal arrays, local to this rank's part of ``space``. Collective."""
        data = None
        if comm.rank == 0:
            with np.load(self.folder / "state.npz") as npz:
                data = {k: npz[k] for k in npz.files}
        return scatter_nodal(space, comm.bcast(data, root=0))

    def restore(self, solver: Stateful) -> None:
        """Put the saved state into ``solver``, built on :meth:`domain`'s mesh. Collective."""
        model = solver.model
        solver.restore(self.meta, self.arrays(model.space, model.domain.comm))


def write_checkpoint(output: Path, solver: Stateful, meta: dict) -> bool:
    """Write ``<output>/checkpoint`` for the solver's present mesh and state
    (``solver.state()``), with ``meta`` (JSON-able: run kind, digests, ...). Collective.

    Returns whether it was written (a failure is logged, and the run goes on), except
    on a full disk: then :class:`~femli.outputs.disk.NoSpaceError` is raised on every
    rank (the previous checkpoint stays; the run should stop cleanly).
    """
    model = solver.model
    state, arrays = solver.state()
    meta = {**meta, **state}
    domain = model.domain
    comm = domain.comm
    mesh = gather_mesh(domain)
    keys = mesh["keys"] if mesh is not None else None  # rank 0
    nodal = gather_nodal(model.space, comm.bcast(keys, root=0), arrays)
    error, full = None, None
    if mesh is not None and nodal is not None:  # rank 0
        names = {"cells": domain.cell_names, "facets": domain.facet_names}
        try:
            meta = {**meta, "mpi_size": comm.size, "facet_names": sorted(domain.facet_names)}
            require_space(output, _bytes(mesh, nodal), "a checkpoint")
            _write_folder(Path(output), mesh, names, nodal, meta)
        except NoSpaceError as err:
            full = str(err)
        except Exception as err:  # a lost checkpoint must not end the run
            error = f"{type(err).__name__}: {err}"
    error, full = comm.bcast((error, full), root=0)
    if full is not None:
        raise NoSpaceError(full)
    if error is not None:
        log.warning("checkpoint at t = %.6g s not written: %s", meta.get("t", 0.0), error)
    return error is None


def _bytes(mesh: dict, nodal: dict) -> int:
    """About the size of a checkpoint (binary .msh, .npz) of gathered data, bytes."""
    arrays = [mesh["x"], mesh["keys"], mesh["cells"], mesh["facets"], *nodal.values()]
    return int(sum(a.nbytes for a in arrays)) + 64 * 1024


def _write_folder(output: Path, mesh: dict, names: dict, nodal: dict, meta: dict) -> None:
    tmp = fresh_dir(output / f"{FOLDER}.tmp")
    try:
        write_msh(mesh, names, tmp / "mesh.msh")
        if (tmp / "mesh.msh").stat().st_size < 24 * mesh["keys"].size:  # Gmsh says nothing
            raise OSError(errno.ENOSPC, "mesh.msh cut short")  # when the disk is full
        with open(tmp / "state.npz", "wb") as fh:
            np.savez(fh, **nodal)
        atomic_write_json(tmp / MARKER, meta)
    except BaseException as err:
        remove(tmp)
        if is_full(err):
            raise full_error(output / FOLDER) from None
        raise
    replace_dir(tmp, output / FOLDER)


def read_checkpoint(output: Path, comm: MPI.Comm) -> Checkpoint | None:
    """The checkpoint in ``output`` (None when there is none). Collective."""
    folder = Path(output) / FOLDER
    meta, error = None, None
    if comm.rank == 0 and (folder / MARKER).is_file():
        try:
            meta = json.loads((folder / MARKER).read_text())
        except (OSError, ValueError) as err:
            error = f"checkpoint {folder} is damaged: {err}"
    meta, error = comm.bcast((meta, error), root=0)
    if error is not None:
        raise CheckpointError(error)
    return None if meta is None else Checkpoint(meta, folder)


def remove_checkpoint(output: Path) -> None:
    """Delete a previous run's checkpoint folders (rank 0; only folders femli wrote)."""
    for name in (FOLDER, f"{FOLDER}.tmp", f"{FOLDER}.old"):
        remove(Path(output) / name)
