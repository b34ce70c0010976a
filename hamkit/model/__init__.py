"""Assembling registered components into one Hamiltonian model."""

from hamkit.model.assembly import HamiltonianModel, InductionStage, build_model

__all__ = ["HamiltonianModel", "InductionStage", "build_model"]
