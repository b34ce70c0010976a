"""Contract tests of the ``convention`` kind: an exact, orthogonal, per-atom reordering with signs.

Subclass :class:`ConventionContract` and override ``convention_factory``::

    class TestMyCode(ConventionContract):
        @pytest.fixture
        def convention_factory(self):
            return lambda context: MyCode.from_config(MyCode.Config(), context)

The matrices are random, of the size of the contract structures in ``contract_basis``
(def2-SVP shells, s to d; override it for codes with other shells). The ``check_*``
functions are the assertions themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hamkit.components import BuildContext, Convention
from hamkit.data.basis import OrbitalBasis
from hamkit.testing.contracts.fixtures import StructuresMixin, contract_context


def _random_matrices(n: int, seed: int, leading: tuple[int, ...] = ()) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((*leading, n, n))


def check_convention_round_trip(
    convention: Convention, numbers: np.ndarray, basis: OrbitalBasis, seed: int = 0
) -> None:
    """``from_canonical(to_canonical(M)) == M`` and back, exactly, on (n, n) and (2, n, n) stacks.

    Args:
        convention: The convention under test.
        numbers: Atomic numbers (n_atoms,).
        basis: The orbital basis.
        seed: Seed of the random matrices.

    Raises:
        AssertionError: A round trip changes some element, or a conversion modifies its input.
    """
    assert isinstance(convention, Convention), f"{type(convention).__name__} is not a Convention"
    n = basis.total_orbitals(numbers)
    for leading in ((), (2,)):
        matrix = _random_matrices(n, seed, leading)
        original = matrix.copy()
        there = convention.to_canonical(matrix, numbers, basis)
        assert np.array_equal(matrix, original), "to_canonical modified its input"
        assert np.array_equal(convention.from_canonical(there, numbers, basis), original), (
            f"from_canonical(to_canonical(M)) != M for shape {matrix.shape}"
        )
        assert np.array_equal(convention.to_canonical(convention.from_canonical(matrix, numbers, basis),
                                                      numbers, basis), original), (
            f"to_canonical(from_canonical(M)) != M for shape {matrix.shape}"
        )


def check_convention_signed_permutation(
    convention: Convention, numbers: np.ndarray, basis: OrbitalBasis, seed: int = 0
) -> np.ndarray:
    """``to_canonical(M) = P M P^T`` with P a signed permutation (so orthogonal) that keeps every
    orbital on its atom, and ``from_canonical(M) = P^T M P``.

    P is read off the conversion of ``diag(1..n)`` (the permutation) and of the all-ones
    matrix (the signs), then checked on random matrices. Arguments as
    :func:`check_convention_round_trip`.

    Returns:
        P, shape (n_orbitals, n_orbitals), entries 0 and +-1.

    Raises:
        AssertionError: The conversion is no signed permutation, moves an orbital to
            another atom, or is not the congruence by P.
    """
    n = basis.total_orbitals(numbers)
    labels = np.arange(1.0, n + 1.0)
    diagonal = convention.to_canonical(np.diag(labels), numbers, basis)
    assert np.array_equal(diagonal, np.diag(np.diag(diagonal))), "to_canonical(diagonal) is not diagonal"
    source = np.diag(diagonal).astype(np.int64) - 1
    assert np.array_equal(np.sort(np.diag(diagonal)), labels), "to_canonical is not a reordering of orbitals"
    ones = convention.to_canonical(np.ones((n, n)), numbers, basis)
    signs = np.sign(ones[:, 0]) * np.sign(ones[0, 0])
    assert np.array_equal(np.abs(ones), np.ones((n, n))) and np.array_equal(ones, np.outer(signs, signs)), (
        "to_canonical changes magnitudes or its signs are not s_i s_j"
    )
    permutation = np.zeros((n, n))
    permutation[np.arange(n), source] = signs
    atom_of = np.repeat(np.arange(len(numbers)), np.diff(basis.atom_orbital_offsets(numbers)))
    moved = np.flatnonzero(atom_of != atom_of[source])
    assert moved.size == 0, (
        f"canonical orbital {int(moved[0])} comes from orbital {int(source[moved[0]])} of another atom"
    )
    matrix = _random_matrices(n, seed, (2,))
    expected = permutation @ matrix @ permutation.T
    assert np.array_equal(convention.to_canonical(matrix, numbers, basis), expected), "to_canonical(M) is not P M P^T"
    expected = permutation.T @ matrix @ permutation
    assert np.array_equal(convention.from_canonical(matrix, numbers, basis), expected), (
        "from_canonical(M) is not P^T M P"
    )
    return permutation


class ConventionContract(StructuresMixin):
    """Contract tests of an orbital convention.

    Asserts, on the atoms of each contract structure: both round trips are exact on single
    matrices and stacks; inputs are not modified; ``to_canonical`` is the congruence
    ``P M P^T`` by a signed permutation P (orthogonal) that keeps orbitals on their atom,
    and ``from_canonical`` the congruence by ``P^T``.

    Override ``convention_factory`` (``BuildContext -> Convention``).
    """

    @pytest.fixture
    def convention_factory(self) -> Callable[[BuildContext], Convention]:
        """Override: return a callable building the convention under test from a context."""
        pytest.fail("override the convention_factory fixture in your ConventionContract subclass")

    def test_round_trip_is_identity(self, convention_factory, contract_basis, contract_structures):
        convention = convention_factory(contract_context(contract_basis))
        for structure in contract_structures:
            check_convention_round_trip(convention, structure.numbers, contract_basis)

    def test_signed_permutation_within_atoms(self, convention_factory, contract_basis, contract_structures):
        convention = convention_factory(contract_context(contract_basis))
        for structure in contract_structures:
            check_convention_signed_permutation(convention, structure.numbers, contract_basis)
