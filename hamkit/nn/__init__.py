"""Small neural-network building blocks shared by component plugins."""

from hamkit.nn.constants import ConstantCache
from hamkit.nn.radial import BesselBasis, GaussianBasis, RadialEmbedding, cosine_envelope
from hamkit.nn.species import MAX_ATOMIC_NUMBER, species_indices, species_table

__all__ = [
    "MAX_ATOMIC_NUMBER",
    "BesselBasis",
    "ConstantCache",
    "GaussianBasis",
    "RadialEmbedding",
    "cosine_envelope",
    "species_indices",
    "species_table",
]
