"""Testing tools for hamkit component authors.

* :func:`assert_features_equivariant`, :func:`assert_hamiltonian_equivariant`,
  :func:`assert_hamiltonian_symmetric`: float64 numerical checks whose failure messages name
  the worst irreps entry or (atom, shell) sub-block (:mod:`hamkit.testing.equivariance`);
* graph transformations and unpacking helpers (:mod:`hamkit.testing.graphs`);
* small distorted molecules and a def2-SVP-shaped basis (:mod:`hamkit.testing.molecules`);
* random irreps features, their O(3) representation and parameter-free reference
  invariants (:mod:`hamkit.testing.irreps`);
* a parameter-free reference featurizer (:mod:`hamkit.testing.reference`);
* pytest contract mixins for every component kind (``FeaturizerContract``,
  ``InvariantEncoderContract``, ``InducerContract``, ``HeadContract``, ``LossContract``,
  ``DatasetContract``, ``ConventionContract``) in :mod:`hamkit.testing.contracts`
  (imported on demand: it needs pytest).
"""

from hamkit.testing.equivariance import (
    EquivarianceReport,
    assert_features_equivariant,
    assert_hamiltonian_equivariant,
    assert_hamiltonian_symmetric,
)
from hamkit.testing.graphs import (
    orbital_permutation,
    packed_to_matrix,
    permuted_graph,
    transformed_graph,
)
from hamkit.testing.irreps import (
    ReferenceInvariants,
    irreps_representation,
    random_irreps_features,
    random_orthogonal,
)
from hamkit.testing.molecules import hydroxymethyl, svp_like_basis, water
from hamkit.testing.reference import ReferenceFeaturizer

__all__ = [
    "EquivarianceReport",
    "ReferenceFeaturizer",
    "ReferenceInvariants",
    "assert_features_equivariant",
    "assert_hamiltonian_equivariant",
    "assert_hamiltonian_symmetric",
    "hydroxymethyl",
    "irreps_representation",
    "orbital_permutation",
    "packed_to_matrix",
    "permuted_graph",
    "random_irreps_features",
    "random_orthogonal",
    "svp_like_basis",
    "transformed_graph",
    "water",
]
