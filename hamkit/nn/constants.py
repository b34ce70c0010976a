"""Exact constants (Clebsch-Gordan tables) that survive dtype casts of a module."""

from __future__ import annotations

import torch


class ConstantCache:
    """Float64 constants kept off a module's buffers, cast on demand and cached per dtype/device.

    Buffers follow ``module.to(dtype)``: a float32 model later cast to float64 would
    carry float32-rounded Clebsch-Gordan coefficients (equivariance errors ~1e-8).
    Keeping float64 masters here avoids that.

    Args:
        tensors: The constants; stored as float64.
    """

    def __init__(self, tensors: list[torch.Tensor]) -> None:
        self.master = [t.to(torch.float64) for t in tensors]
        self.cache: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}

    def like(self, reference: torch.Tensor) -> list[torch.Tensor]:
        """The constants in ``reference``'s dtype and device."""
        key = (reference.dtype, reference.device)
        if key not in self.cache:
            self.cache[key] = [t.to(dtype=reference.dtype, device=reference.device) for t in self.master]
        return self.cache[key]
