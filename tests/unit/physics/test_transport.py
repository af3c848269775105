"""Transport models as strategies: the built-in flags, the registry, and a model added
with one class and its registry entry (no other module changes)."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from scipy.optimize import brentq

from femli.mesh import from_mesh
from femli.physics import transport
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, Species, binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.physics.transport import Primary, Secondary, Supporting, Tertiary, register
from femli.solve.stationary import StationarySolver

L, KAPPA, CURRENT = 20e-6, 0.05, 30.0  # m, S/m, A/m^2
KINETICS = ButlerVolmer(10.0, 0.5, 0.5)


@pytest.mark.parametrize(
    ("name", "cls", "flags"),
    [  # has_kinetics, kinetics_see_concentration, has_concentrations, conserves_salt
        ("primary", Primary, (False, False, False, False)),
        ("secondary", Secondary, (True, False, False, False)),
        ("tertiary", Tertiary, (True, True, True, True)),
        ("supporting", Supporting, (True, True, True, True)),
    ],
)
def test_built_in_models_and_what_they_decide(name, cls, flags):
    el = binary(1000.0, 1e-9, 1e-9, model=name, conductivity=1.0)
    assert type(el.transport) is cls and transport.transport_class(name) is cls
    t = el.transport
    assert (
        t.has_kinetics,
        t.kinetics_see_concentration,
        t.has_concentrations,
        t.conserves_salt,
    ) == flags
    solved = {"tertiary": ("Li+",), "supporting": ("Li+",)}.get(name, ())
    assert tuple(s.name for s in t.solved_species(el)) == solved


def test_registry_names_and_refusals():
    assert transport.names()[:4] == ("primary", "secondary", "tertiary", "supporting")
    assert "concentrated" in transport.names()  # registered by femli.physics.concentrated
    with pytest.raises(ValueError, match=r"'quaternary' is not one of \['primary'"):
        transport.transport_class("quaternary")

    class Nameless(Secondary):
        name = ""

    class Impostor(Secondary):
        name = "tertiary"

    with pytest.raises(ValueError, match="needs a name"):
        register(Nameless)
    with pytest.raises(ValueError, match="already Tertiary"):
        register(Impostor)
    assert transport.transport_class("tertiary") is Tertiary


class Graded(Secondary):
    """An ohmic solid conductor whose conductivity grows linearly with x:
    ``kappa(x) = kappa_0 (1 + x / L)`` (S/m), one mobile species."""

    name = "graded_solid"

    def check(self, electrolyte: Electrolyte) -> None:
        if electrolyte.conductivity is None:
            raise ValueError("the graded solid needs a conductivity kappa_0 (S/m)")
        if len(electrolyte.species) != 1:
            raise ValueError("the graded solid has one mobile species")

    def current_density(self, model: CellModel):
        x = ufl.SpatialCoordinate(model.domain.mesh)
        return -(1.0 + x[0] / L) * model.conductivity() * ufl.grad(model.phi)


@pytest.fixture
def graded(monkeypatch):
    """``Graded`` registered for one test (the registry is restored after it)."""
    monkeypatch.setattr(transport, "_REGISTRY", dict(transport._REGISTRY))
    register(Graded)
    return Graded


def solid(**kwargs) -> Electrolyte:
    return Electrolyte((Species("Li+", 1, 1e-12, 1000.0),), model="graded_solid", **kwargs)


def test_added_model_checks_its_electrolyte(graded):
    assert "graded_solid" in transport.names()
    assert isinstance(solid(conductivity=KAPPA).transport, graded)
    with pytest.raises(ValueError, match="needs a conductivity kappa_0"):
        solid()


@pytest.mark.mpi
def test_added_model_solves_against_its_closed_form(graded):
    """Galvanostatic anode at x = 0, bulk (phi = 0) at x = L: the uniform current
    ``i = -kappa(x) phi'`` gives ``phi(0) = i L ln 2 / kappa_0``, and the electrode sits
    at ``E = eta(i) + phi(0)`` with the Butler-Volmer overpotential."""
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 200, [0.0, L])
    domain = from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )
    anode = Electrode("anode", {"left": KINETICS}, current_density=CURRENT)
    model = CellModel(domain, solid(conductivity=KAPPA), [anode], [Bulk(("right",))])
    solver = StationarySolver(model)
    solver.solve()
    phi0 = CURRENT * L * np.log(2.0) / KAPPA
    x = model.space.tabulate_dof_coordinates()[:, 0]
    exact = CURRENT * L / KAPPA * np.log(2.0 / (1.0 + x / L))
    err = np.abs(model.phi.x.array - exact).max(initial=0.0) / phi0
    assert MPI.COMM_WORLD.allreduce(err, op=MPI.MAX) < 1e-5  # P1: O(h^2)
    eta = brentq(lambda e: KINETICS.current(e, model.f) - CURRENT, -1.0, 1.0, xtol=1e-14)
    assert model.potentials["anode"].value.item() == pytest.approx(eta + phi0, rel=1e-6)
    assert solver.currents.mean_density(anode) == pytest.approx(CURRENT, rel=1e-7)
