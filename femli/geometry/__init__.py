"""Gmsh builders for femli's microstructures, in micrometres, with named physical groups.

Never imports DOLFINx or MPI: builders run on one process (rank 0 of the mesh layer) inside a
gmsh session and leave the meshed model in ``gmsh.model``.
"""

from femli.geometry.box import BoxParams, build_box
from femli.geometry.core import (
    Geometry,
    GeometryError,
    MeshQuality,
    gmsh_session,
    write_msh,
)
from femli.geometry.fibres import FibreMatParams, build_fibre_mat
from femli.geometry.layers import LayeredStackParams, build_layered_stack
from femli.geometry.nuclei import NucleusArrayParams, build_nucleus_array
from femli.geometry.registry import (
    BUILDERS,
    PRESET_DIR,
    build,
    build_preset,
    list_presets,
    load_preset,
    make_params,
)
from femli.geometry.voids import VoidContactParams, build_void_contact

__all__ = [
    "BUILDERS",
    "PRESET_DIR",
    "BoxParams",
    "FibreMatParams",
    "Geometry",
    "GeometryError",
    "LayeredStackParams",
    "MeshQuality",
    "NucleusArrayParams",
    "VoidContactParams",
    "build",
    "build_box",
    "build_fibre_mat",
    "build_layered_stack",
    "build_nucleus_array",
    "build_preset",
    "build_void_contact",
    "gmsh_session",
    "list_presets",
    "load_preset",
    "make_params",
    "write_msh",
]
