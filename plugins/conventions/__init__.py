"""Orbital conventions of PySCF, ORCA, OpenMX and FHI-aims as registered components.

The permutation and sign tables themselves are physics facts kept and tested in
:mod:`hamkit.physics.orbital_order`; these components expose them through the
registry, where a third-party package can add a code of its own.
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.conventions.codes import (
    AimsConvention,
    OpenMXConvention,
    OrcaConvention,
    PySCFConvention,
)


@hookimpl
def hamkit_register_convention(register):
    """Register ``pyscf``, ``orca``, ``openmx`` and ``aims``."""
    for convention in (PySCFConvention, OrcaConvention, OpenMXConvention, AimsConvention):
        register(convention)
