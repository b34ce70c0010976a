"""The convention contract: passes a correct convention, catches broken ones (negative controls)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from hamkit.components import ComponentConfig, Convention
from hamkit.physics.orbital_order import matrix_from_canonical, matrix_to_canonical
from hamkit.testing.contracts import ConventionContract
from hamkit.testing.molecules import svp_like_basis, water


class OrcaTable(Convention):
    """Correct: ORCA's order and signs, from the physics tables."""

    name: ClassVar[str] = "orca_table"

    @classmethod
    def from_config(cls, config: ComponentConfig, context) -> "OrcaTable":
        return cls()

    def to_canonical(self, matrix, numbers, basis):
        return matrix_to_canonical(matrix, numbers, basis, "orca")

    def from_canonical(self, matrix, numbers, basis):
        return matrix_from_canonical(matrix, numbers, basis, "orca")


class NoInverse(OrcaTable):
    """Broken: converts the same way in both directions (ORCA's d order is no involution)."""

    def from_canonical(self, matrix, numbers, basis):
        return self.to_canonical(matrix, numbers, basis)


class InPlace(OrcaTable):
    """Broken: writes the result into its input."""

    def to_canonical(self, matrix, numbers, basis):
        matrix[...] = super().to_canonical(matrix, numbers, basis)
        return matrix


class Scaling(OrcaTable):
    """Broken: an exact round trip, but it rescales (not orthogonal)."""

    def to_canonical(self, matrix, numbers, basis):
        return 2.0 * super().to_canonical(matrix, numbers, basis)

    def from_canonical(self, matrix, numbers, basis):
        return super().from_canonical(matrix, numbers, basis) / 2.0


class Reversing(OrcaTable):
    """Broken: an exact, orthogonal round trip that moves orbitals between atoms."""

    def to_canonical(self, matrix, numbers, basis):
        return matrix[..., ::-1, ::-1].copy()

    def from_canonical(self, matrix, numbers, basis):
        return self.to_canonical(matrix, numbers, basis)



class TestOrcaTableContract(ConventionContract):
    """Positive control: the whole mixin passes a correct convention."""

    @pytest.fixture
    def convention_factory(self, default_factory):
        return default_factory(OrcaTable)


def arguments(convention_factory) -> dict:
    """The mixin tests' fixture values: this factory, the def2-SVP-shaped basis, water."""
    return {"convention_factory": convention_factory, "contract_basis": svp_like_basis(),
            "contract_structures": [water()]}


@pytest.mark.parametrize("broken, message", [
    (NoInverse, r"from_canonical\(to_canonical\(M\)\) != M"),
    (InPlace, "modified its input"),
], ids=["no-inverse", "in-place"])
def test_catches_a_broken_round_trip(broken, message, default_factory):
    with pytest.raises(AssertionError, match=message):
        ConventionContract().test_round_trip_is_identity(**arguments(default_factory(broken)))


@pytest.mark.parametrize("broken, message", [
    (Scaling, "not a reordering"),
    (Reversing, "of another atom"),
], ids=["scaling", "across-atoms"])
def test_catches_what_a_round_trip_cannot(broken, message, default_factory):
    ConventionContract().test_round_trip_is_identity(**arguments(default_factory(broken)))
    with pytest.raises(AssertionError, match=message):
        ConventionContract().test_signed_permutation_within_atoms(**arguments(default_factory(broken)))
