"""Contract values are declared on the component base classes, never looked up with getattr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hamkit

from hamkit.components import Dataset
from hamkit.errors import HamkitError

COMPONENT_GETATTR = re.compile(
    r"getattr\(\s*[\w.]*\b(dataset|featurizer|encoder|inducer|head|loss|convention)\b\s*,(?!\s*\"shape\")"
)
"""``getattr(<component>, ...)``; an h5py dataset's ``shape`` is not a component value."""


class _Minimal(Dataset):
    name = "minimal"
    basis = None

    def __len__(self) -> int:
        return 0

    def __getitem__(self, index: int):
        raise IndexError(index)


def test_dataset_defaults():
    dataset = _Minimal()
    assert dataset.path is None and dataset.provenance is None
    with pytest.raises(HamkitError, match="'minimal' cannot describe its files"):
        dataset.describe()


def _offending_lines(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{number}: {line.strip()}"
            for path in sorted(root.rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if COMPONENT_GETATTR.search(line)]


def test_the_core_reads_no_contract_value_with_getattr():
    """hamkit.testing is left out: its contract checks probe components on purpose."""
    root = Path(hamkit.__file__).parent
    assert [line for line in _offending_lines(root) if not line.startswith("testing/")] == []


def test_the_getattr_check_sees_an_offence(tmp_path):
    """Negative control: the pattern catches the kind of line that used to hide the qhnet bug."""
    (tmp_path / "bad.py").write_text('cutoff = getattr(model.featurizer, "pair_cutoff", None)\n')
    assert len(_offending_lines(tmp_path)) == 1
