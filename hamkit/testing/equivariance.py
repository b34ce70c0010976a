"""Numerical equivariance checkers for featurizers and whole Hamiltonian models.

Both checkers compare a model's output on transformed copies of one structure with the
transformed output on the original, in float64:

* rotations ``x -> R x`` (Haar-random) combined with a random translation: features must
  transform with e3nn's ``D(P R P^T)`` of their declared irreps, Hamiltonians as
  ``D H D^T`` with the per-shell Wigner matrices of :mod:`hamkit.physics.rotation`;
* a translation alone: outputs unchanged;
* atom permutations: outputs permuted (pairs and blocks follow their atoms);
* inversion ``x -> -x``, only when ``check_inversion=True``: features pick up their irreps'
  parity, Hamiltonian sub-blocks ``(-1)^(la + lb)``. SO(3)-only models (all-even irreps,
  e.g. ``qhnet``) are *not* inversion-equivariant by design, so the check is off by default.

Errors are relative: ``max |actual - expected| / max |reference output|``. A failure raises
``AssertionError`` naming the worst item: the irreps entry of a node/pair feature, or the
(atom, shell) x (atom, shell) sub-block of the Hamiltonian. Models must be built in float64
(``BuildContext(dtype="float64")``); the checkers cast positions to float64 themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components.features import EquivariantFeatures
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph_fields import StructureGraph
from hamkit.physics.rotation import orbital_rotation_matrix, random_rotation
from hamkit.testing.graphs import (
    check_single_structure,
    orbital_permutation,
    packed_to_matrix,
    permuted_graph,
    transformed_graph,
)
from hamkit.testing.irreps import irreps_representation

ModelFunction = Callable[[Any], "torch.Tensor | Mapping[str, torch.Tensor]"]
"""Graph -> packed Hamiltonian (n_elements,), or a mapping holding it under ``"hamiltonian"``."""


@dataclass
class EquivarianceReport:
    """Largest relative errors found, per check.

    Attributes:
        errors: Check name (e.g. ``"rotation"``, ``"node/permutation"``) -> max relative error.
        locations: Check name -> where the worst error was.
        skipped: Checks not run, with the reason.
    """

    errors: dict[str, float] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        """Largest relative error over all checks (0 when none ran)."""
        return max(self.errors.values(), default=0.0)

    def record(self, check: str, error: float, location: str) -> None:
        """Keep the worst error of ``check``."""
        if error >= self.errors.get(check, -1.0):
            self.errors[check] = error
            self.locations[check] = location

    def __str__(self) -> str:
        lines = [f"{name}: {error:.2e} at {self.locations[name]}" for name, error in self.errors.items()]
        lines += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        return "\n".join(lines)


def _require_float64(tensor: torch.Tensor, what: str) -> None:
    if tensor.dtype != torch.float64:
        raise ValueError(
            f"{what} is {tensor.dtype}: build the model in float64 "
            "(BuildContext(dtype='float64')) to check equivariance to ~1e-10"
        )


def _transforms(rng: np.random.Generator, n_rotations: int, check_inversion: bool):
    """(name, rotation or None, translation, invert) for each geometric check."""
    yield "translation", None, rng.normal(scale=3.0, size=3), False
    for _ in range(n_rotations):
        yield "rotation", random_rotation(rng), rng.normal(scale=3.0, size=3), False
    if check_inversion:
        yield "inversion", random_rotation(rng), rng.normal(scale=3.0, size=3), True


# ----------------------------------------------------------------------------- features
def _feature_location(
    diff: torch.Tensor, irreps: str, kind: str, labels: list[str]
) -> tuple[float, str]:
    """Max of |diff| (n_items, dim) and a description of the item and irreps entry."""
    if diff.numel() == 0:
        return 0.0, "nothing"
    flat = int(torch.argmax(diff))
    item, component = divmod(flat, diff.shape[1])
    parsed = o3.Irreps(irreps)
    for entry, ((mul, ir), sl) in enumerate(zip(parsed, parsed.slices())):
        if sl.start <= component < sl.stop:
            channel, m = divmod(component - sl.start, ir.dim)
            where = f"irreps entry {entry} '{mul}x{ir}' (channel {channel}, component {m})"
            break
    else:  # pragma: no cover - dim mismatch is caught earlier
        where = f"component {component}"
    return float(diff.max()), f"{kind} {labels[item]}, {where}"


def _compare_features(
    report: EquivarianceReport,
    check: str,
    actual: EquivariantFeatures,
    expected_node: torch.Tensor,
    expected_pair: torch.Tensor,
    scales: tuple[float, float],
    graph: StructureGraph,
) -> None:
    z = graph.z.tolist()
    node_labels = [f"{i} (Z={z[i]})" for i in range(len(z))]
    pair_labels = [f"({i}, {j}) (Z={z[i]}-{z[j]})" for i, j in actual.pair_index.T.tolist()]
    for kind, got, want, irreps, labels, scale in (
        ("node", actual.node, expected_node, actual.node_irreps, node_labels, scales[0]),
        ("pair", actual.pair, expected_pair, actual.pair_irreps, pair_labels, scales[1]),
    ):
        error, where = _feature_location((got - want).abs(), irreps, kind, labels)
        report.record(f"{kind}/{check}", error / scale, where)


def assert_features_equivariant(
    featurizer: Callable[[Any], EquivariantFeatures],
    graph: StructureGraph,
    *,
    n_rotations: int = 3,
    n_permutations: int = 2,
    seed: int = 0,
    rtol: float = 1e-10,
    check_inversion: bool = False,
) -> EquivarianceReport:
    """Check that node and pair features transform with their declared irreps.

    Args:
        featurizer: A float64 featurizer (graph -> ``EquivariantFeatures``).
        graph: One structure's graph (``z``, ``pos``, ``pair_index``, ...).
        n_rotations: Random rotations (each with a random translation).
        n_permutations: Random atom permutations.
        seed: Seed of the random transformations.
        rtol: Largest accepted relative error.
        check_inversion: Also check ``x -> -x`` (O(3) models only).

    Returns:
        The report (all errors below ``rtol``).

    Raises:
        AssertionError: Some error exceeds ``rtol``; the message names the worst node or
            pair and irreps entry.
        ValueError: The features are not float64, or their shapes contradict the irreps.
    """
    check_single_structure(graph)
    rng = np.random.default_rng(seed)
    report = EquivarianceReport()
    if not check_inversion:
        report.skipped["inversion"] = "check_inversion=False (SO(3)-only models are not parity-equivariant)"
    with torch.no_grad():
        reference = featurizer(transformed_graph(graph))
        for tensor, irreps, what in (
            (reference.node, reference.node_irreps, "node features"),
            (reference.pair, reference.pair_irreps, "pair features"),
        ):
            _require_float64(tensor, what)
            if tensor.shape[-1] != o3.Irreps(irreps).dim:
                raise ValueError(f"{what} have {tensor.shape[-1]} components but irreps '{irreps}' "
                                 f"have {o3.Irreps(irreps).dim}")
        scales = (
            max(float(reference.node.abs().max()) if reference.node.numel() else 0.0, 1e-300),
            max(float(reference.pair.abs().max()) if reference.pair.numel() else 0.0, 1e-300),
        )
        for check, rotation, translation, invert in _transforms(rng, n_rotations, check_inversion):
            moved = transformed_graph(graph, rotation, translation, invert)
            actual = featurizer(moved)
            matrix = np.eye(3) if rotation is None else rotation
            matrix = -matrix if invert else matrix
            d_node = irreps_representation(reference.node_irreps, matrix)
            d_pair = irreps_representation(reference.pair_irreps, matrix)
            _compare_features(
                report, check, actual, reference.node @ d_node.T, reference.pair @ d_pair.T,
                scales, moved,
            )
        n = graph.z.shape[0]
        keys = {(i, j): p for p, (i, j) in enumerate(reference.pair_index.T.tolist())}
        for _ in range(n_permutations):
            perm = rng.permutation(n)
            moved = permuted_graph(graph, perm)
            actual = featurizer(moved)
            old_pairs = [keys[(int(perm[i]), int(perm[j]))] for i, j in actual.pair_index.T.tolist()]
            _compare_features(
                report, "permutation", actual, reference.node[torch.as_tensor(perm)],
                reference.pair[torch.as_tensor(old_pairs, dtype=torch.long)], scales, moved,
            )
    _raise_if_failed(report, rtol, "features")
    return report


# ----------------------------------------------------------------------------- Hamiltonians
def _packed(output: Any) -> torch.Tensor:
    if isinstance(output, Mapping):
        output = output["hamiltonian"]
    _require_float64(output, "the predicted Hamiltonian")
    return output


def describe_orbital_pair(
    numbers: np.ndarray, basis: OrbitalBasis, row: int, col: int
) -> str:
    """Name the sub-block holding matrix element (row, col): atoms, elements and shells."""
    offsets = basis.atom_orbital_offsets(numbers)

    def locate(orbital: int) -> str:
        atom = int(np.searchsorted(offsets, orbital, side="right") - 1)
        local = orbital - offsets[atom]
        z = int(numbers[atom])
        for shell, sl in enumerate(basis.shell_slices(z)):
            if sl.start <= local < sl.stop:
                return f"atom {atom} (Z={z}) shell {shell} (l={basis.shell_ls(z)[shell]})"
        raise AssertionError("unreachable")  # pragma: no cover

    return f"sub-block [{locate(row)}] x [{locate(col)}], element ({row}, {col})"


def _compare_matrices(
    report: EquivarianceReport, check: str, actual: np.ndarray, expected: np.ndarray,
    scale: float, numbers: np.ndarray, basis: OrbitalBasis,
) -> None:
    diff = np.abs(actual - expected)
    *translation, row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = describe_orbital_pair(numbers, basis, int(row), int(col))
    if translation:
        where += f" of translation number {int(translation[0])}"
    index = (*translation, row, col)
    report.record(check, float(diff[index]) / scale, where)


def assert_hamiltonian_equivariant(
    model_fn: ModelFunction,
    graph: StructureGraph,
    basis: OrbitalBasis,
    *,
    n_rotations: int = 3,
    n_permutations: int = 2,
    seed: int = 0,
    rtol: float = 1e-10,
    check_inversion: bool = False,
) -> EquivarianceReport:
    """Check ``H(R x + t) = D H(x) D^T``, translation invariance and atom permutations.

    The packed predictions are unpacked to full matrices (absent blocks are zero in both)
    with the graph's ``block_index`` layout and compared there.

    Args:
        model_fn: Float64 model, graph -> packed H (or ``{"hamiltonian": ...}``).
        graph: One structure's graph with ``block_index``.
        basis: The orbital basis the model predicts in.
        n_rotations: Random rotations (each with a random translation).
        n_permutations: Random atom permutations.
        seed: Seed of the random transformations.
        rtol: Largest accepted relative error (relative to max |H|).
        check_inversion: Also check ``x -> -x`` (sub-blocks pick up ``(-1)^(la + lb)``);
            off for SO(3)-only models.

    Returns:
        The report (all errors below ``rtol``).

    Raises:
        AssertionError: Some error exceeds ``rtol``; the message names the worst sub-block
            (atoms, elements, shells).
        ValueError: The prediction is not float64.
    """
    check_single_structure(graph)
    rng = np.random.default_rng(seed)
    numbers = graph.z.cpu().numpy()
    report = EquivarianceReport()
    if not check_inversion:
        report.skipped["inversion"] = "check_inversion=False (SO(3)-only models are not parity-equivariant)"
    with torch.no_grad():
        base = transformed_graph(graph)
        reference = packed_to_matrix(_packed(model_fn(base)), base, basis)
        scale = max(float(np.abs(reference).max()), 1e-300)
        parity = np.concatenate(
            [np.full(2 * l + 1, (-1.0) ** l) for l in basis.orbital_shell_ls(numbers)]
        )
        for check, rotation, translation, invert in _transforms(rng, n_rotations, check_inversion):
            moved = transformed_graph(graph, rotation, translation, invert)
            actual = packed_to_matrix(_packed(model_fn(moved)), moved, basis)
            d = np.eye(reference.shape[-1]) if rotation is None else orbital_rotation_matrix(numbers, basis, rotation)
            if invert:
                d = d * parity[None, :]  # D(R) applied after the inversion
            _compare_matrices(report, check, actual, d @ reference @ d.T, scale, numbers, basis)
        for _ in range(n_permutations):
            perm = rng.permutation(len(numbers))
            moved = permuted_graph(graph, perm)
            actual = packed_to_matrix(_packed(model_fn(moved)), moved, basis)
            index = orbital_permutation(numbers, basis, perm)
            _compare_matrices(
                report, "permutation", actual, reference[..., index, :][..., index], scale,
                numbers[perm], basis,
            )
    _raise_if_failed(report, rtol, "Hamiltonian")
    return report


def assert_hamiltonian_symmetric(
    packed: torch.Tensor, graph: StructureGraph, basis: OrbitalBasis, *, atol: float = 0.0
) -> float:
    """Check that the assembled matrix of packed blocks is symmetric (exactly, by default).

    For a periodic graph the check is the Hermitian pairing H(-R) = H(R)^T over the
    graph's translations (every R must come with -R).

    Args:
        packed: Packed prediction (n_elements,) of one structure.
        graph: Its graph.
        basis: The orbital basis.
        atol: Largest accepted ``|H - H^T|``.

    Returns:
        ``max |H - H^T|`` (periodic: ``max |H(R) - H(-R)^T|``).

    Raises:
        AssertionError: Naming the worst sub-block (and translation).
    """
    from hamkit.data.graph import graph_layout

    check_single_structure(graph)
    matrix = packed_to_matrix(packed, graph, basis)
    translations = graph_layout(graph, basis)[1]
    if translations is None:
        transposed = matrix.T
    else:
        lookup = {tuple(row): r for r, row in enumerate(translations.tolist())}
        missing = [row for row in translations.tolist() if tuple(-v for v in row) not in lookup]
        if missing:
            raise AssertionError(f"translation {missing[0]} has no partner -R among the graph's blocks")
        partner = [lookup[tuple(-v for v in row)] for row in translations.tolist()]
        transposed = matrix[partner].transpose(0, 2, 1)
    diff = np.abs(matrix - transposed)
    worst = float(diff.max()) if diff.size else 0.0
    if worst > atol:
        *translation, row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)
        where = f" of R = {translations[translation[0]].tolist()}" if translations is not None and translation else ""
        raise AssertionError(
            f"Hamiltonian not symmetric: |H - H^T| = {worst:.3e} at "
            f"{describe_orbital_pair(graph.z.cpu().numpy(), basis, int(row), int(col))}{where}"
        )
    return worst


def _raise_if_failed(report: EquivarianceReport, rtol: float, what: str) -> None:
    failed = {name: error for name, error in report.errors.items() if not error <= rtol}
    if failed:
        name = max(failed, key=lambda k: failed[k])
        raise AssertionError(
            f"{what} not equivariant: {name} relative error {failed[name]:.3e} > {rtol:.1e}, "
            f"worst at {report.locations[name]}\nall checks:\n{report}"
        )
