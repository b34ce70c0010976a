"""Splits are disjoint, seeded, and refuse bad index files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hamkit.engine.splits import make_split
from hamkit.errors import HamkitError
from hamkit.recipe.schema import SplitSection


def assert_disjoint(split):
    seen = np.concatenate([split[name] for name in ("train", "val", "test")])
    assert len(seen) == len(set(seen.tolist()))


@given(n=st.integers(5, 300), seed=st.integers(0, 10), kind=st.sampled_from(["random", "size_ood"]))
def test_splits_are_disjoint_and_sized(n, seed, kind):
    sizes = np.random.default_rng(seed).integers(3, 30, n)
    split = make_split(sizes, SplitSection(kind=kind, seed=seed))
    assert_disjoint(split)
    assert len(split["train"]) >= 1 and len(split["test"]) == round(0.1 * n)


def test_random_split_is_seeded():
    section = SplitSection(seed=3)
    first, second = make_split([1] * 50, section), make_split([1] * 50, section)
    other = make_split([1] * 50, SplitSection(seed=4))
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert not np.array_equal(first["train"], other["train"])


def test_size_split_puts_the_largest_in_test():
    sizes = list(range(100))
    split = make_split(sizes, SplitSection(kind="size_ood"))
    assert min(split["test"]) > max(split["train"]) and min(split["val"]) > max(split["train"])


def test_index_file(tmp_path):
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train": [0, 1, 2], "val": [3], "test": [4]}))
    split = make_split([1] * 5, SplitSection(kind="index_file", index_file=path))
    assert split["train"].tolist() == [0, 1, 2] and split["test"].tolist() == [4]


@pytest.mark.parametrize("content,fragment", [
    ({"train": [0, 1], "test": [1]}, "in both 'train' and 'test'"),
    ({"train": [0, 9]}, "outside 0..4"),
    ({"val": [0]}, "expected a JSON object"),
    ({"train": ["a"]}, "integer indices"),
])
def test_bad_index_files(tmp_path, content, fragment):
    path = tmp_path / "split.json"
    path.write_text(json.dumps(content))
    with pytest.raises(HamkitError, match=fragment):
        make_split([1] * 5, SplitSection(kind="index_file", index_file=path))


def test_too_small_dataset_is_a_clear_error():
    with pytest.raises(HamkitError, match="too few"):
        make_split([1], SplitSection(train=0.5, val=0.3, test=0.2))
