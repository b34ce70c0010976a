"""What the contract mixins share: build contexts and the fixtures of the test structures."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from hamkit.components import BuildContext, Declared
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl, svp_like_basis, water

DTYPES = ("float32", "float64")
"""Parameter dtypes every model component must honour (``BuildContext.dtype``)."""

CONTRACT_IRREPS = "4x0e+3x1o+2x1e+2x2e+1x0o+1x3o"
"""Default feature irreps of the encoder and inducer contracts: both parities, 1o next to 1e."""


def contract_context(
    basis: OrbitalBasis | None = None, dtype: str = "float64", declared: Declared | None = None
) -> BuildContext:
    """A build context as the assembler would give a component.

    Args:
        basis: The orbital basis (its elements become ``species``), or None.
        dtype: ``"float32"`` or ``"float64"``.
        declared: What upstream components declared (default: nothing).

    Returns:
        The context.
    """
    species = tuple(basis.elements) if basis is not None else ()
    return BuildContext(species=species, basis=basis, dtype=dtype, declared=declared or Declared())


def stage_context(irreps: str, dtype: str = "float64") -> BuildContext:
    """The context of an induction-stage component (encoder, inducer): the features' irreps.

    Args:
        irreps: e3nn irreps string of the features the component acts on.
        dtype: ``"float32"`` or ``"float64"``.

    Returns:
        A context declaring ``irreps`` (the field the assembler fills for each stage).
    """
    return contract_context(dtype=dtype, declared=Declared(irreps=irreps))


class StructuresMixin:
    """Fixtures of the small molecules the structure-level contracts run on.

    Override ``contract_basis``/``contract_structures`` to test on other data.
    """

    rtol: ClassVar[float] = 1e-10
    """Relative tolerance of the float64 equivariance checks."""

    @pytest.fixture
    def contract_basis(self) -> OrbitalBasis:
        """Basis of the contract structures (default: def2-SVP shells of H, C, N, O)."""
        return svp_like_basis()

    @pytest.fixture
    def contract_structures(self) -> list[Structure]:
        """Structures to test on (default: distorted water and a 5-atom C, O, H3 molecule)."""
        return [water(), hydroxymethyl()]

    @pytest.fixture
    def contract_graphs(self, contract_structures, contract_basis) -> list[Any]:
        """Fully connected graphs of the structures."""
        return [molecule_graph(s, contract_basis) for s in contract_structures]
