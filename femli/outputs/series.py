"""Time series of ``[time]`` and ``[growth]`` runs: fields ParaView plays as animations,
and an animated GIF of each electrode.

:class:`FieldSeries` is a step callback. It writes a *frame* at t = 0, at the first step
at or after each of :data:`FRAMES` equal intervals of the run, at every growth snapshot
and at the end, into ``<output>/series/``:

- ``solution_NNNN.vtu`` and the collection ``solution.pvd`` (the electrolyte fields of
  :func:`femli.outputs.fields.volume_grid`, on the moving mesh in growth runs);
- ``electrode_<name>_NNNN.vtp`` and ``electrode_<name>.pvd`` (each electrode's surface,
  :mod:`femli.outputs.surface`, with its normal velocity in growth runs);

each frame file written atomically, then the collections listing it (``[output]
fields``). With ``[output] renders`` it writes ``electrode_<name>.gif`` when the run
ends (:mod:`femli.outputs.animation`: one fixed camera, axes in um, one colour scale).

Restarts: a checkpoint records how many frames were written (:meth:`seal`); the next
run from it keeps those, deletes later ones (only files femli wrote) and continues the
numbering; a fresh run deletes them all (:meth:`prune`).
"""

from __future__ import annotations

import glob
import logging
import math
import re
from pathlib import Path

from femli.outputs.fields import fields_bytes, volume_grid
from femli.outputs.files import require_space
from femli.outputs.folder import own, remove
from femli.outputs.surface import electrode_surfaces
from femli.outputs.vtkfiles import read_pvd, write_dataset, write_pvd
from femli.parallel import on_root

__all__ = ["FOLDER", "FRAMES", "FieldSeries", "series_names"]

log = logging.getLogger(__name__)

#: The series folder in an output folder.
FOLDER = "series"
#: Frames at the first step after each of this many equal parts of the run (and at 0).
FRAMES = 20
_NUMBER = re.compile(r"_(\d{4,})\.vt[up]$")


class FieldSeries:
    """Step callback writing the frames of a run into ``output/series`` (module doc).

    ``t_end``: the run's end (s); ``done``: frames a checkpoint kept (a restart).
    Collective: every rank calls it; rank 0 writes."""

    def __init__(
        self,
        output: Path,
        t_end: float,
        *,
        fields: bool = True,
        renders: bool = True,
        done: int = 0,
    ) -> None:
        self.output, self.folder = Path(output), Path(output) / FOLDER
        self.t_end, self.fields, self.renders = float(t_end), fields, renders
        self.done = done
        self.collections: dict[str, list[tuple[float, str]]] = {}
        self.movie: dict[str, list[tuple[float, object]]] = {}  # rank 0, with renders
        self.next_time = 0.0
        self.last: float | None = None  # time of the last frame (s)

    # -- which steps ---------------------------------------------------------------
    def due(self, record: dict) -> bool:
        """Whether the state of ``record`` is a frame (module doc)."""
        t = float(record["t"])
        if self.last is not None and t <= self.last:
            return False
        end = t >= self.t_end * (1 - 1e-12)
        return end or bool(record.get("snapshot")) or t >= self.next_time * (1 - 1e-12)

    def __call__(self, solver, record: dict) -> None:
        if (self.fields or self.renders) and self.due(record):
            self.frame(solver, float(record["t"]))

    def velocity(self, solver):
        """The normal growth rate at every local node (m/s), None when nothing grows."""
        return None

    # -- frames ------------------------------------------------------------------------
    def frame(self, solver, t: float) -> dict:
        """Write the frame of ``solver``'s state at time ``t`` (s); returns the electrode
        surfaces on rank 0 (empty elsewhere). Collective."""
        model = solver.model
        comm = model.domain.comm
        grid = volume_grid(model, t) if self.fields else None
        surfaces = electrode_surfaces(model, solver.currents, self.velocity(solver), t)
        need = fields_bytes(model) if self.fields else 0
        on_root(comm, lambda: self._write(grid, surfaces, t, need))
        interval = self.t_end / FRAMES
        self.next_time = (math.floor(t / interval * (1 + 1e-12)) + 1) * interval
        self.last = t
        return surfaces

    def _write(self, grid, surfaces: dict, t: float, need: int) -> None:
        """Frame files, then the collections listing them (rank 0)."""
        number = self.done
        if self.fields:
            own(self.folder)
            require_space(self.output, need, "the field series")
            name = f"solution_{number:04d}.vtu"
            write_dataset(grid, self.folder / name)
            self._list("solution", t, name)
            for electrode, surface in surfaces.items():
                name = f"electrode_{electrode}_{number:04d}.vtp"
                write_dataset(surface, self.folder / name)
                self._list(f"electrode_{electrode}", t, name)
        if self.renders:
            for electrode, surface in surfaces.items():
                self.movie.setdefault(electrode, []).append((t, surface))
        self.done = number + 1

    def _list(self, collection: str, t: float, name: str) -> None:
        entries = self.collections.setdefault(collection, [])
        entries.append((t, name))
        write_pvd(self.folder / f"{collection}.pvd", entries)

    # -- restarts ----------------------------------------------------------------------
    def seal(self) -> int:
        """The number of frames written so far (for a checkpoint)."""
        return self.done

    def prune(self) -> None:
        """Keep the first :attr:`done` frames of an earlier run, delete the rest and the
        collections' later entries (rank 0; only what femli wrote)."""
        if not self.folder.is_dir():
            self.done = 0
            return
        for path in sorted(self.folder.glob("*.vt[up]")):
            match = _NUMBER.search(path.name)
            if match and int(match.group(1)) >= self.done:
                remove(path)
        kept = 0
        for pvd in sorted(self.folder.glob("*.pvd")):
            entries = [(t, f) for t, f in read_pvd(pvd) if (self.folder / f).is_file()]
            entries = [(t, f) for t, f in entries if _index(f) < self.done]
            self.collections[pvd.stem] = entries
            write_pvd(pvd, entries)
            kept = max(kept, len(entries))
            if self.renders and pvd.stem.startswith("electrode_"):
                self._reload(pvd.stem.removeprefix("electrode_"), entries)
        self.done = min(self.done, kept) if self.fields else 0
        times = [t for entries in self.collections.values() for t, _ in entries]
        self.last = max(times) if times else None

    def _reload(self, electrode: str, entries: list[tuple[float, str]]) -> None:
        """The kept surfaces of an electrode, for the animation (rank 0)."""
        import pyvista

        self.movie[electrode] = [(t, pyvista.read(self.folder / f)) for t, f in entries]

    def start(self, comm) -> None:
        """Before a run: :meth:`prune` on rank 0, and the next frame time on every rank.
        Collective."""
        on_root(comm, self.prune)
        self.last, self.done = comm.bcast((self.last, self.done), root=0)
        if self.last is not None:
            interval = self.t_end / FRAMES
            self.next_time = (math.floor(self.last / interval * (1 + 1e-12)) + 1) * interval

    # -- the end -------------------------------------------------------------------------
    def end(self, solver, records: list[dict]) -> None:
        """After the run (also a failed one): a frame of the last state if it has none,
        then the animations (rank 0). Collective."""
        if records and (self.fields or self.renders):
            t = float(records[-1]["t"])
            if self.last is None or t > self.last:
                self.frame(solver, t)
        if self.renders:
            on_root(solver.model.domain.comm, self._animate)

    def _animate(self) -> None:
        from femli.outputs.animation import write_animation

        for electrode, frames in self.movie.items():
            if frames:
                path = self.output / f"electrode_{electrode}.gif"
                write_animation(frames, path, title=f"electrode {electrode!r}")


def series_names(fields: bool, renders: bool, electrodes: list[str]) -> list[str]:
    """Glob patterns of what a series writes in an output folder (``fields``, ``renders``:
    the ``[output]`` switches; ``electrodes``: their names)."""
    names = [FOLDER] if fields else []
    if renders:
        names += [f"electrode_{glob.escape(name)}.gif" for name in electrodes]
    return names


def _index(name: str) -> int:
    match = _NUMBER.search(name)
    return int(match.group(1)) if match else 1 << 30
