"""Data descriptions shared by readers, models and physics code."""

from hamkit.data.basis import OrbitalBasis

__all__ = ["OrbitalBasis"]
