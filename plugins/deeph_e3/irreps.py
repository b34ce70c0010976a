"""Irreps bookkeeping for the O(3)/SO(3) DeepH-E3 backbone.

Features are stored flat in e3nn's layout (``(n, irreps.dim)``, each entry ``(mul, 2l + 1)``
row-major) between blocks and as a list of per-entry, channel-last tensors
``(n, 2l + 1, mul)`` inside them (so that channel mixing is a plain matrix product).
Every :class:`IrrepsSpec` is sorted and simplified (each ``(l, parity)`` appears once, in
e3nn's sort order: by degree, odd before even), so one entry = one irrep type and entries
can be matched by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

IrrepsFeatures = list[torch.Tensor]
"""Per-entry features, channel last: entry ``k`` has shape (n, 2 l_k + 1, mul_k)."""

MAX_DEGREE = 11
"""Largest degree e3nn's ``wigner_3j`` table supports."""

Key = tuple[int, int]
"""An irrep type ``(l, parity)``, parity +1 (even) or -1 (odd)."""


@dataclass(frozen=True)
class IrrepsSpec:
    """Sorted, simplified irreps: entries ``(mul, l, parity)`` with distinct ``(l, parity)``.

    Build with :meth:`parse` or :meth:`from_entries`; ``str(spec)`` is the e3nn string of the
    flat layout.
    """

    entries: tuple[tuple[int, int, int], ...]

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[int, int, int]]) -> IrrepsSpec:
        """Sort by ``(l, parity)`` as e3nn does, merge equal types, drop zero multiplicities."""
        irreps = o3.Irreps([(mul, (l, p)) for mul, l, p in entries if mul > 0])
        simplified = irreps.sort().irreps.simplify()
        return cls(tuple((mul, ir.l, ir.p) for mul, ir in simplified))

    @classmethod
    def parse(cls, text: str, what: str) -> IrrepsSpec:
        """Parse an e3nn irreps string.

        Raises:
            ValueError: Unparsable, or a degree above :data:`MAX_DEGREE` (a ``ValueError`` so
                that pydantic validators report it against the recipe line).
        """
        try:
            irreps = o3.Irreps(text)
        except Exception as error:  # noqa: BLE001 - e3nn raises ValueError/AssertionError
            raise ValueError(f"cannot parse {what} '{text}' as e3nn irreps ({error})") from None
        spec = cls.from_entries((mul, ir.l, ir.p) for mul, ir in irreps)
        if spec.lmax > MAX_DEGREE:
            raise ValueError(f"{what} '{text}' has degree {spec.lmax}; at most {MAX_DEGREE} is supported")
        return spec

    def __str__(self) -> str:
        return "+".join(f"{mul}x{l}{'e' if p == 1 else 'o'}" for mul, l, p in self.entries)

    @property
    def keys(self) -> list[Key]:
        """``(l, parity)`` of each entry."""
        return [(l, p) for _, l, p in self.entries]

    @property
    def muls(self) -> list[int]:
        """Multiplicity of each entry."""
        return [mul for mul, _, _ in self.entries]

    @property
    def dim(self) -> int:
        """Flat dimension."""
        return sum(mul * (2 * l + 1) for mul, l, _ in self.entries)

    @property
    def lmax(self) -> int:
        """Highest degree (-1 when empty)."""
        return max((l for _, l, _ in self.entries), default=-1)

    def mul_of(self, key: Key) -> int:
        """Multiplicity of ``(l, parity)`` (0 when absent)."""
        return dict(zip(self.keys, self.muls)).get(key, 0)

    def even(self) -> IrrepsSpec:
        """All parities relabelled even (SO(3) use); equal degrees merge."""
        return IrrepsSpec.from_entries((mul, l, 1) for mul, l, _ in self.entries)

    def with_both_parities(self) -> IrrepsSpec:
        """Add the opposite-parity copy (same multiplicity) of every entry of degree >= 1."""
        extra = [(mul, l, -p) for mul, l, p in self.entries if l >= 1 and self.mul_of((l, -p)) == 0]
        return IrrepsSpec.from_entries(list(self.entries) + extra)

    def split(self, x: torch.Tensor) -> IrrepsFeatures:
        """Flat e3nn layout (n, dim) -> channel-last per-entry views ``[(n, 2l + 1, mul)]``."""
        sizes = [mul * (2 * l + 1) for mul, l, _ in self.entries]
        pieces = torch.split(x, sizes, dim=-1)
        return [
            piece.reshape(x.shape[0], mul, 2 * l + 1).transpose(1, 2)
            for piece, (mul, l, _) in zip(pieces, self.entries)
        ]

    @staticmethod
    def join(features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Channel-last per-entry tensors ``[(n, 2l + 1, mul)]`` -> flat e3nn layout (n, dim)."""
        flat = [f.transpose(1, 2).reshape(f.shape[0], f.shape[1] * f.shape[2]) for f in features]
        return torch.cat(flat, dim=-1)


def concat_specs(*specs: IrrepsSpec) -> IrrepsSpec:
    """Channel-wise union: per ``(l, parity)`` the multiplicities add up."""
    return IrrepsSpec.from_entries(entry for spec in specs for entry in spec.entries)


def concat_features(
    target: IrrepsSpec, parts: Sequence[tuple[IrrepsSpec, IrrepsFeatures]]
) -> IrrepsFeatures:
    """Stack several features along channels (last axis), entry by entry, into the layout of ``target``.

    Args:
        target: :func:`concat_specs` of the parts' specs.
        parts: ``(spec, features)`` pairs; channels are stacked in this order.

    Returns:
        Features of ``target``.
    """
    stacks: dict[Key, list[torch.Tensor]] = {key: [] for key in target.keys}
    for spec, features in parts:
        for key, tensor in zip(spec.keys, features):
            stacks[key].append(tensor)
    return [torch.cat(stacks[key], dim=2) if len(stacks[key]) > 1 else stacks[key][0] for key in target.keys]
