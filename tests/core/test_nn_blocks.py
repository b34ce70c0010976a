"""Shared building blocks of hamkit.nn: species lookup, cosine envelope, radial bases."""

from __future__ import annotations

import math

import pytest
import torch

from hamkit.errors import HamkitError
from hamkit.nn import (
    MAX_ATOMIC_NUMBER,
    BesselBasis,
    GaussianBasis,
    RadialEmbedding,
    cosine_envelope,
    species_indices,
    species_table,
)

CUTOFF = 4.0


def envelope_and_slope(r: float) -> tuple[float, float]:
    distance = torch.tensor([r], dtype=torch.float64, requires_grad=True)
    value = cosine_envelope(distance, CUTOFF)
    (slope,) = torch.autograd.grad(value.sum(), distance)
    return float(value.detach()), float(slope)


def test_cosine_envelope_values():
    distance = torch.tensor([0.0, CUTOFF / 2, CUTOFF, CUTOFF + 1.0], dtype=torch.float64)
    assert cosine_envelope(distance, CUTOFF).tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])


def test_cosine_envelope_value_and_slope_vanish_at_the_cutoff():
    value, slope = envelope_and_slope(CUTOFF - 1e-9)
    assert abs(value) < 1e-15 and abs(slope) < 1e-8
    assert envelope_and_slope(CUTOFF) == (0.0, 0.0)
    assert envelope_and_slope(CUTOFF + 0.5) == (0.0, 0.0)
    # negative control: inside, the slope is the analytic one and clearly not zero
    value, slope = envelope_and_slope(CUTOFF / 2)
    assert slope == pytest.approx(-0.5 * math.pi / CUTOFF) and slope < -0.1


def test_gaussian_basis_shape_centres_and_width():
    basis = GaussianBasis(5, CUTOFF)  # centres 0, 1, 2, 3, 4; width 1
    distance = torch.tensor([0.0, 1.0, 2.5, 7.0], dtype=torch.float64)
    values = basis(distance)
    assert values.shape == (4, 5) and values.dtype == torch.float64
    assert values[1, 1] == 1.0 and values[1, 0] == pytest.approx(math.exp(-0.5))
    assert values[2, 2] == pytest.approx(math.exp(-0.125))
    assert torch.all(values > 0)
    assert basis.state_dict() == {}  # centres are a non-persistent buffer


def test_gaussian_basis_follows_the_input_dtype_and_a_single_function():
    values = GaussianBasis(8, CUTOFF)(torch.rand(3, dtype=torch.float32) * CUTOFF)
    assert values.shape == (3, 8) and values.dtype == torch.float32
    single = GaussianBasis(1, CUTOFF)(torch.tensor([0.0, CUTOFF], dtype=torch.float64))
    assert single.flatten().tolist() == pytest.approx([1.0, math.exp(-0.5)])


def test_bessel_basis():
    distance = torch.tensor([0.5, 1.5, 3.0], dtype=torch.float64)
    values = BesselBasis(6, CUTOFF)(distance)
    assert values.shape == (3, 6)
    n, r = 3, 1.5
    expected = math.sqrt(2 / CUTOFF) * math.sin(n * math.pi * r / CUTOFF) / r
    assert float(values[1, n - 1]) == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["gaussian", "bessel"])
def test_radial_embedding_vanishes_at_the_cutoff(kind):
    embedding = RadialEmbedding(kind, 6, CUTOFF)
    distance = torch.tensor([0.5, CUTOFF / 2, CUTOFF, CUTOFF + 0.1], dtype=torch.float64)
    values = embedding(distance)
    assert values.shape == (4, 6)
    assert torch.all(values[2:] == 0)
    # negative control: the bare basis does not vanish at the cutoff, the envelope does it
    assert torch.any(embedding.basis(distance)[2] != 0) and torch.any(values[1] != 0)


def test_radial_embedding_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown radial basis 'chebyshev'"):
        RadialEmbedding("chebyshev", 4, CUTOFF)


def test_species_table_maps_elements_to_rows():
    table = species_table((1, 6, 8), "toy")
    assert table.shape == (MAX_ATOMIC_NUMBER + 1,) and table.dtype == torch.long
    assert table[[1, 6, 8]].tolist() == [0, 1, 2]
    assert int((table >= 0).sum()) == 3 and int(table[7]) == -1


@pytest.mark.parametrize("species", [(0, 1), (1, MAX_ATOMIC_NUMBER + 1), (-1, 6)])
def test_species_table_rejects_non_elements(species):
    with pytest.raises(HamkitError, match=r"toy: species must be atomic numbers 1\.\.118"):
        species_table(species, "toy")


def test_species_indices_map_atoms_to_rows():
    table = species_table((1, 6, 8), "toy")
    z = torch.tensor([8, 1, 1, 6], dtype=torch.int32)
    index = species_indices(table, z, "toy")
    assert index.tolist() == [2, 0, 0, 1] and index.dtype == torch.long


@pytest.mark.parametrize("bad", [7, 0, -3, MAX_ATOMIC_NUMBER + 1])
def test_species_indices_name_the_unknown_and_the_known_elements(bad):
    table = species_table((1, 6, 8), "toy")
    z = torch.tensor([8, bad, 1, bad])
    message = f"toy: element(s) Z=[{bad}] are not in the embedding (built for Z=[1, 6, 8])"
    with pytest.raises(HamkitError) as error:
        species_indices(table, z, "toy")
    assert str(error.value) == message


def test_species_indices_element_above_the_table_when_the_last_element_is_embedded():
    table = species_table(range(1, MAX_ATOMIC_NUMBER + 1), "toy")
    with pytest.raises(HamkitError, match=r"Z=\[119\] not supported"):
        species_indices(table, torch.tensor([1, 119]), "toy", missing="not supported")
