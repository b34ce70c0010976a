"""Running the public reference QHNet (divelab AIRS) on hamkit's data, for benchmarks only.

The reference is never copied into hamkit: :func:`load_reference_class` imports its
``QHNet.py`` from a checkout the user points to. That file needs ``torch_cluster`` and
``torch_scatter``, compiled packages without wheels for recent torch; when they are not
installed, :func:`install_stand_ins` registers small pure-torch modules under those names with
the two functions the reference calls (``radius_graph`` and ``scatter`` with ``reduce="sum"``),
returning edges in the order the reference's transpose index assumes (sorted by the second
row, then the first). Their cost is part of the reference's measured step (a few percent).

Labels: the reference predicts every atom's on-site block and every ordered pair's block
padded to 14 orbitals (def2-SVP for H..F, its ``orbital_mask``); :func:`reference_batch` cuts
hamkit's H into that layout with masks, so both models fit the same numbers.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord

CANDIDATE_FILES = ("OpenDFT/QHBench/QH9/models/QHNet.py", "QH9/models/QHNet.py", "models/QHNet.py")
PADDED = 14
"""Orbitals per atom in the reference's padded blocks (def2-SVP of C..F: 3s 2p 1d)."""
REFERENCE_SIZES = {
    "in_node_features": 1, "sh_lmax": 4, "hidden_size": 128, "bottle_hidden_size": 32,
    "num_gnn_layers": 5, "max_radius": 15, "num_nodes": 10, "radius_embed_dim": 32,
}
"""The sizes the reference trains at (its ``get_model``)."""


def find_reference_file(path: str | Path) -> Path:
    """The reference ``QHNet.py`` in a checkout (AIRS root, its QH9 folder, or the file itself)."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in CANDIDATE_FILES:
        if (path / candidate).is_file():
            return path / candidate
    raise SystemExit(f"no reference QHNet.py under {path} (looked for {', '.join(CANDIDATE_FILES)})")


def _radius_graph(x: torch.Tensor, r: float, batch: torch.Tensor | None = None, loop: bool = False,
                  max_num_neighbors: int = 32, flow: str = "source_to_target",
                  num_workers: int = 1) -> torch.Tensor:
    """Pairs closer than ``r`` within one graph, as (2, n_edges) [neighbour, centre], sorted by centre."""
    batch = torch.zeros(len(x), dtype=torch.long, device=x.device) if batch is None else batch
    close = (torch.cdist(x, x) <= r) & (batch[:, None] == batch[None, :])
    if not loop:
        close.fill_diagonal_(False)
    centre, neighbour = close.nonzero(as_tuple=True)
    return torch.stack([neighbour, centre])


def _scatter(src: torch.Tensor, index: torch.Tensor, dim: int = 0, dim_size: int | None = None,
             reduce: str = "sum") -> torch.Tensor:
    """Sum of ``src`` rows into ``dim_size`` rows by ``index`` (only what the reference uses)."""
    if dim != 0 or reduce not in ("sum", "add"):
        raise NotImplementedError("the stand-in scatter sums along dim 0 only")
    size = int(index.max()) + 1 if dim_size is None else dim_size
    return src.new_zeros(size, *src.shape[1:]).index_add_(0, index, src)


def install_stand_ins() -> list[str]:
    """Register pure-torch ``torch_cluster``/``torch_scatter`` when they are not installed.

    Returns:
        The names of the modules that were stood in for.
    """
    stood_in = []
    for name, attribute, function in (("torch_cluster", "radius_graph", _radius_graph),
                                      ("torch_scatter", "scatter", _scatter)):
        if importlib.util.find_spec(name) is None:
            module = types.ModuleType(name)
            setattr(module, attribute, function)
            sys.modules[name] = module
            stood_in.append(name)
    return stood_in


def load_reference_class(path: str | Path) -> type:
    """The reference ``QHNet`` class, imported from its file."""
    spec = importlib.util.spec_from_file_location("reference_qhnet_model", find_reference_file(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.QHNet


def build_reference(path: str | Path, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """The reference model at its training sizes, with its orbital masks set."""
    model = load_reference_class(path)(**REFERENCE_SIZES).to(device=device, dtype=dtype)
    model.set(device)
    return model


def _padded_rows(z: int, basis: OrbitalBasis) -> np.ndarray:
    """Positions of element ``z``'s orbitals in the reference's 14-orbital padding."""
    count = basis.n_orbitals(z)
    rows = np.array([0, 1, 3, 4, 5]) if z <= 2 else np.arange(PADDED)
    if len(rows) != count:
        raise SystemExit(f"the reference pads def2-SVP only (H..F); element {z} has {count} orbitals")
    return rows


def reference_graph(record: HamiltonianRecord, basis: OrbitalBasis) -> Data:
    """One molecule in the reference's layout, with padded labels and masks.

    Returns:
        ``atoms`` (n, 1), ``pos`` (n, 3) Angstrom, ``diagonal``/``diagonal_mask`` (n, 14, 14),
        ``pair``/``pair_mask`` (n (n - 1), 14, 14) in the reference's full-edge order
        (centre ``c`` major, neighbour ``d`` minor; block rows are ``d``'s orbitals).
    """
    numbers = [int(z) for z in record.structure.numbers]
    hamiltonian = np.asarray(record.hamiltonian)
    counts = [basis.n_orbitals(z) for z in numbers]
    starts = np.concatenate([[0], np.cumsum(counts)])
    rows = [_padded_rows(z, basis) for z in numbers]
    n = len(numbers)
    edges = [(d, c) for c in range(n) for d in range(n) if d != c]
    blocks = np.zeros((n + len(edges), PADDED, PADDED))
    masks = np.zeros_like(blocks)
    for k, (a, b) in enumerate([(i, i) for i in range(n)] + edges):
        sub = hamiltonian[starts[a]:starts[a + 1], starts[b]:starts[b + 1]]
        blocks[k][np.ix_(rows[a], rows[b])] = sub
        masks[k][np.ix_(rows[a], rows[b])] = 1.0
    return Data(
        atoms=torch.tensor(numbers).view(-1, 1), pos=torch.as_tensor(record.structure.positions),
        diagonal=torch.as_tensor(blocks[:n]), diagonal_mask=torch.as_tensor(masks[:n]),
        pair=torch.as_tensor(blocks[n:]), pair_mask=torch.as_tensor(masks[n:]),
    )


def reference_batch(graphs: Sequence[Data], dtype: torch.dtype, device: torch.device) -> Batch:
    """Batch reference graphs; floating tensors in ``dtype`` on ``device``."""
    batch = Batch.from_data_list(list(graphs))
    for key in ("pos", "diagonal", "diagonal_mask", "pair", "pair_mask"):
        batch[key] = batch[key].to(dtype)
    return batch.to(device)


def reference_loss(output: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
    """MSE + MAE over the real (unpadded) entries of every block, as hamkit's h_mse + h_mae."""
    predicted = torch.cat([output["hamiltonian_diagonal_blocks"], output["hamiltonian_non_diagonal_blocks"]])
    target = torch.cat([batch.diagonal, batch.pair])
    mask = torch.cat([batch.diagonal_mask, batch.pair_mask])
    error = (predicted - target) * mask
    count = mask.sum()
    return error.square().sum() / count + error.abs().sum() / count
