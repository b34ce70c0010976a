"""hamkit: machine-learned SO(3)-equivariant electronic-structure Hamiltonians.

Importing hamkit applies the e3nn/torch compatibility fix once (see
:mod:`hamkit.safe_loading`), so ``import e3nn.o3`` works afterwards without
weakening safe checkpoint loading.
"""

from hamkit.safe_loading import allow_e3nn_constants

allow_e3nn_constants()

__version__ = "0.1.0"
