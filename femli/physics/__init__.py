"""The cell physics: electrolyte, transport models, electrode kinetics and boundary
conditions, assembled into the residual of one cell (SI units)."""

__all__: list[str] = []
