"""Plain (no neural network) physics of atomic-orbital Hamiltonians.

Modules: :mod:`~hamkit.physics.frames` (Cartesian <-> e3nn axis order),
:mod:`~hamkit.physics.orbital_order` (code conventions <-> canonical order),
:mod:`~hamkit.physics.blocks` (atom-pair blocks), :mod:`~hamkit.physics.irreps`
(sub-block <-> CG irreps), :mod:`~hamkit.physics.traces` (invariant trace labels),
:mod:`~hamkit.physics.rotation` (Wigner matrices), :mod:`~hamkit.physics.eigen`
(generalized eigenproblem), :mod:`~hamkit.physics.metrics` (QH9 metrics),
:mod:`~hamkit.physics.scf` (SCF acceleration). Units: Angstrom and Hartree.
Import the submodules directly; this package imports nothing heavy.
"""
