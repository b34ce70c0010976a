"""Tests of the plain physics library (hamkit.physics, hamkit.data.basis)."""
