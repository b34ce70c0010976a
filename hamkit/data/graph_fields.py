"""The type of the structure graphs components receive, and the names of the model's outputs.

Defined once here: every featurizer, head and the assembler annotate graphs as
:data:`StructureGraph`, and predictions and labels share the keys below.
"""

from __future__ import annotations

from typing import TypeAlias

from torch_geometric.data import Data

StructureGraph: TypeAlias = Data
"""One structure's graph or a batch of them (torch-geometric's ``Batch`` is a ``Data``).

Fields (see :mod:`hamkit.data.graph`): ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom,
``batch`` (n_atoms,) in batches, ``pair_index`` (2, n_pairs), ``block_index`` (2, n_blocks);
labelled graphs add ``hamiltonian``/``overlap`` (packed blocks) and the trace labels;
periodic graphs add ``cell``, ``pair_shift``, ``pair_cell_shift``, ``block_cell_shift``."""

HAMILTONIAN = "hamiltonian"
"""Key of the packed Hamiltonian blocks, in predictions and in labelled graphs."""

NODE_TRACES = "node_traces"
"""Key of the traces decoded from the node (on-site) stage's invariants."""

PAIR_TRACES = "pair_traces"
"""Key of the traces decoded from the pair stage's invariants."""


def stage_traces_key(stage: str) -> str:
    """The prediction key of a stage's decoded traces (``"node"`` or ``"pair"``)."""
    return {"node": NODE_TRACES, "pair": PAIR_TRACES}[stage]
