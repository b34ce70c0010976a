"""The metrics table of ``hamkit train`` / ``hamkit eval``: micro-Hartree, plus meV for crystals."""

from __future__ import annotations

from rich.console import Console

from hamkit.cli.train_cmd import metrics_table
from hamkit.physics.metrics import METRIC_KEYS


def _render(materials: bool) -> str:
    metrics = {key: {"mean": 1000.0, "per_structure": [1000.0]} for key in METRIC_KEYS}
    console = Console(width=200, record=True)
    console.print(metrics_table(metrics, "test", materials))
    return console.export_text()


def test_crystals_get_a_mev_column_converted_from_micro_hartree():
    text = _render(materials=True)
    assert "meV" in text
    assert text.count("27.21") == len(METRIC_KEYS) - 1  # 1000 µHa = 27.21 meV; psi_cos has none


def test_molecules_keep_micro_hartree_only():
    text = _render(materials=False)
    assert "meV" not in text and "27.21" not in text
