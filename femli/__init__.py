"""femli: finite-element models of lithium-metal electrodeposition.

Pipeline: geometry (Gmsh, um) -> mesh (:class:`Domain`, SI) -> physics
(:class:`CellModel`) -> solve (:class:`StationarySolver`) -> outputs.
"""

__version__ = "0.1.0"
