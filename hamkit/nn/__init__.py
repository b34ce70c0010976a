"""Small neural-network building blocks shared by component plugins."""

from hamkit.nn.constants import ConstantCache

__all__ = ["ConstantCache"]
