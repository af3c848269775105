"""UFL measures with a weight: the r-z (axisymmetric) measures of :class:`femli.mesh.Domain`.

In r-z (x = r, y = z) every volume and surface integral of a body of revolution is the 2D
integral weighted by 2 pi r; :class:`WeightedMeasure` carries that weight so that every
form written as ``integrand * domain.dx()`` (or ``ds``) becomes the 3D one unchanged.
"""

from __future__ import annotations

import ufl

__all__ = ["WeightedMeasure"]


class WeightedMeasure(ufl.Measure):
    """A UFL measure that multiplies every integrand by ``weight`` (a UFL expression), e.g.
    2 pi r in r-z; restricting it (``dx(3)``) keeps the weight."""

    def __init__(self, measure: ufl.Measure, weight) -> None:
        super().__init__(
            measure.integral_type(),
            domain=measure.ufl_domain(),
            subdomain_id=measure.subdomain_id(),
            metadata=measure.metadata(),
            subdomain_data=measure.subdomain_data(),
            intersect_measures=measure.intersect_measures(),
        )
        self.weight = weight

    def reconstruct(self, *args, **kwargs) -> WeightedMeasure:
        """The restricted or re-configured measure, with the same weight."""
        return WeightedMeasure(super().reconstruct(*args, **kwargs), self.weight)

    def __rmul__(self, integrand):
        """``integrand * measure``: the form of ``weight * integrand`` on the plain measure."""
        plain = ufl.Measure.reconstruct(self)  # a ufl.Measure: the base builds one
        if isinstance(integrand, int | float):
            integrand = ufl.as_ufl(integrand)
        if not isinstance(integrand, ufl.core.expr.Expr):
            return NotImplemented
        return plain.__rmul__(self.weight * integrand)

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and getattr(other, "weight", None) is self.weight

    def __hash__(self) -> int:
        return hash((super().__hash__(), id(self.weight)))
