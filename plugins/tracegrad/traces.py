"""Normalizations of trace labels T = tr(H_ab H_ab^T) (METHOD.md section 2).

The encoder only stores the chosen mode; the labels/loss side applies it to the
true traces of each item (one vector of sub-block traces per atom pair) so that
the decoded traces are compared with labels normalized the same way.
"""

from __future__ import annotations

from typing import Literal

import torch

TraceNormalization = Literal["none", "layer_norm", "log"]

LOG_EPS = 1e-8
"""Added before the logarithm, in the squared units of H (e.g. Ha^2)."""

LAYER_NORM_EPS = 1e-5
"""Variance floor of the parameter-free layer norm."""


def normalize_traces(traces: torch.Tensor, mode: TraceNormalization) -> torch.Tensor:
    """Normalize trace labels.

    Modes:
        ``none``: unchanged.
        ``layer_norm``: parameter-free layer norm across the last dimension (the
            sub-blocks of one pair), as in the authors' code: (T - mean) / sqrt(var + eps).
        ``log``: log(T + 1e-8); compresses the many orders of magnitude between
            on-site and distant-pair blocks.

    Args:
        traces: Non-negative traces, shape (n_items, num_traces).
        mode: One of the modes above.

    Returns:
        Normalized traces, same shape.
    """
    if mode == "none":
        return traces
    if mode == "layer_norm":
        return torch.nn.functional.layer_norm(traces, traces.shape[-1:], eps=LAYER_NORM_EPS)
    if mode == "log":
        return torch.log(traces + LOG_EPS)
    raise ValueError(f"unknown trace normalization '{mode}' (none, layer_norm, log)")
