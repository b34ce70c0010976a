"""Irreps bookkeeping shared by the TraceGrad components.

Everything here is computed once at build time from an e3nn irreps string and
stored as integer/float tensors, so that ``forward`` methods never touch
``o3.Irreps`` objects (which keeps them friendly to ``torch.compile``).

Layout convention (e3nn's): an irreps entry ``mul x (l, p)`` occupies a
contiguous slice of ``mul * (2l + 1)`` feature components, ordered as
``(mul, 2l + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext
from hamkit.errors import HamkitError


@dataclass(frozen=True)
class IrrepGroup:
    """All channels of one degree and parity, gathered across irreps entries.

    Attributes:
        l: Degree.
        p: Parity (+1 even, -1 odd).
        index: Positions of the group's components in the feature vector,
            shape (multiplicity, 2l + 1), long.
    """

    l: int
    p: int
    index: torch.Tensor

    @property
    def multiplicity(self) -> int:
        """Number of channels in the group."""
        return int(self.index.shape[0])

    @property
    def is_scalar(self) -> bool:
        """True for the true scalars 0e (invariant under rotations and inversion)."""
        return self.l == 0 and self.p == 1


def parse_irreps(irreps: str | o3.Irreps, owner: str) -> o3.Irreps:
    """Parse an e3nn irreps string, with a user-facing error.

    Args:
        irreps: E.g. ``"8x0e+4x1o+2x2e"``.
        owner: Component name for the error message.

    Returns:
        The parsed irreps (entries with multiplicity 0 removed).

    Raises:
        HamkitError: Unparsable or empty irreps.
    """
    try:
        parsed = o3.Irreps(irreps)
    except Exception as error:  # noqa: BLE001 - e3nn raises ValueError/AssertionError
        raise HamkitError(f"{owner}: cannot parse irreps '{irreps}' ({error})") from None
    parsed = o3.Irreps([(mul, ir) for mul, ir in parsed if mul > 0])
    if parsed.dim == 0:
        raise HamkitError(f"{owner}: irreps '{irreps}' are empty")
    return parsed


def resolve_irreps(configured: str | None, context: BuildContext, owner: str) -> o3.Irreps:
    """The irreps from the config, else from ``context.declared.irreps`` (the stage's features).

    Args:
        configured: The ``irreps_in`` option (None when not given).
        context: The build context; ``context.declared.irreps`` may hold the irreps.
        owner: Component name for the error message.

    Returns:
        Parsed irreps.

    Raises:
        HamkitError: Neither source gives irreps.
    """
    source = configured if configured is not None else context.declared.irreps
    if source is None:
        raise HamkitError(
            f"{owner}: the irreps of its input features are unknown: set the option "
            f"'irreps_in' (e.g. \"32x0e+16x1o+8x2e\") or build it in an induction stage, where "
            f"the context declares 'irreps' (declared so far: {context.declared.describe()})"
        )
    return parse_irreps(source, owner)


def torch_dtype(name: str, owner: str) -> torch.dtype:
    """Map the context's dtype name to a torch dtype.

    Raises:
        HamkitError: Not ``float32`` or ``float64``.
    """
    if name not in ("float32", "float64"):
        raise HamkitError(f"{owner}: dtype must be 'float32' or 'float64', got '{name}'")
    return getattr(torch, name)


def irrep_groups(irreps: o3.Irreps) -> list[IrrepGroup]:
    """Group the feature components by (degree, parity).

    Entries sharing (l, p) are merged (``"4x1o+2x1o"`` -> one group of 6 channels).
    Groups are sorted by (l, -p): 0e, 0o, 1e, 1o, ...

    Args:
        irreps: Feature irreps.

    Returns:
        One :class:`IrrepGroup` per distinct (l, p).
    """
    rows: dict[tuple[int, int], list[torch.Tensor]] = {}
    for (mul, ir), piece in zip(irreps, irreps.slices()):
        positions = torch.arange(piece.start, piece.stop).reshape(mul, ir.dim)
        rows.setdefault((ir.l, ir.p), []).append(positions)
    return [
        IrrepGroup(l, p, torch.cat(rows[(l, p)], dim=0))
        for (l, p) in sorted(rows, key=lambda key: (key[0], -key[1]))
    ]


def entry_membership(irreps: o3.Irreps) -> torch.Tensor:
    """One-hot map from feature components to irreps entries ("blocks").

    ``(x ** 2) @ M`` gives the squared norm of each ``mul x ir`` entry;
    ``norms @ M.T`` spreads per-entry values back to the components.

    Args:
        irreps: Feature irreps.

    Returns:
        Float tensor of shape (irreps.dim, len(irreps)).
    """
    membership = torch.zeros(irreps.dim, len(irreps), dtype=torch.float64)
    for entry, piece in enumerate(irreps.slices()):
        membership[piece, entry] = 1.0
    return membership
