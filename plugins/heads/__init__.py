"""Hamiltonian heads: ``cg_expansion`` (Clebsch-Gordan expansion of features into blocks)."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.heads.cg_expansion import CGExpansionConfig, CGExpansionHead

__all__ = ["CGExpansionConfig", "CGExpansionHead"]


@hookimpl
def hamkit_register_head(register):
    """Register ``cg_expansion``."""
    register(CGExpansionHead)
