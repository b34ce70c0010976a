"""Options of the ``mace`` featurizer, checked against what e3nn and MACE can build."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hamkit.components import ComponentConfig
from hamkit.recipe.bounds import Degree, LayerCount, Width, check_widths

MAX_WIGNER_L = 11
"""e3nn's wigner_3j table stops at this degree (MACE's product basis needs correlation x max_ell)."""


def mace_option_problems(
    lmax: int, max_ell: int, correlation: int, num_interactions: int
) -> list[str]:
    """Why MACE cannot be built (or would give degrees it cannot fill) with these options.

    Returns:
        One message per problem (empty: buildable).
    """
    problems = []
    if num_interactions < 2:
        problems.append(
            f"num_interactions={num_interactions}: MACE with a single interaction keeps only "
            "scalar (0e) features; use num_interactions >= 2"
        )
    if correlation * max_ell > MAX_WIGNER_L:
        problems.append(
            f"correlation={correlation} with max_ell={max_ell}: MACE's product basis couples up "
            f"to correlation x max_ell = {correlation * max_ell} > {MAX_WIGNER_L}, beyond e3nn's "
            f"wigner_3j table (mace-torch would ask for cuequivariance); use max_ell <= "
            f"{MAX_WIGNER_L // correlation} or a lower correlation"
        )
    if lmax > correlation * max_ell:
        problems.append(
            f"lmax={lmax} > correlation x max_ell = {correlation * max_ell}: MACE's products "
            f"cannot produce degree-{lmax} features; lower lmax (out_lmax sets the output "
            "degrees) or raise max_ell/correlation"
        )
    return problems


class MACEConfig(ComponentConfig):
    """Options of the ``mace`` featurizer (distances in Angstrom)."""

    channels: Width = Field(32, ge=1, description="Channels per irrep of MACE's hidden features.")
    lmax: Degree = Field(
        2, ge=0, description="Highest degree of MACE's hidden irreps (correlation x max_ell >= lmax)."
    )
    symmetry: Literal["so3", "o3"] = Field(
        "so3",
        description="'so3': all-even irreps, MACE use_so3=True, rotations only (the head needs "
        "parity: ignore); 'o3': both parities at every degree, O(3)-equivariant (head parity: "
        "physical works); about twice the cost.",
    )
    num_interactions: LayerCount = Field(
        2, ge=2, description="MACE interaction (message-passing) layers."
    )
    correlation: int = Field(
        3, ge=1, le=3,
        description="MACE body order - 1 of the product basis; correlation x max_ell <= 11 "
        "(e3nn's wigner_3j table), e.g. correlation 2 with max_ell 4 or 5.",
    )
    max_ell: Degree = Field(3, ge=1, description="Highest degree of MACE's edge spherical harmonics.")
    cutoff: float = Field(5.0, gt=0, description="MACE message radius r_max (Angstrom).")
    num_radial: Width = Field(
        8, ge=1, description="Radial basis size (MACE's num_bessel and the pair basis)."
    )
    radial_type: Literal["bessel", "gaussian", "chebyshev"] = Field(
        "bessel", description="MACE's radial basis family."
    )
    num_polynomial_cutoff: int = Field(
        5, ge=1, le=64, description="Exponent of MACE's polynomial cutoff envelope."
    )
    radial_mlp: list[int] = Field(
        [64, 64, 64], min_length=1, description="Hidden widths of MACE's radial MLPs."
    )
    avg_num_neighbors: float = Field(
        10.0, gt=0, description="MACE divides summed messages by this (typical neighbour count)."
    )
    node_layers: Literal["last", "all"] = Field(
        "last",
        description="Which MACE features feed the output layers: the last layer's, or all "
        "layers' concatenated (as MACE's own node_feats output).",
    )
    feature_norm: Literal["rms", "none"] = Field(
        "rms",
        description="'rms': divide each irreps entry of MACE's features by its RMS over channels "
        "(equivariant, puts them on a unit scale) before the output layers; 'none': raw.",
    )
    out_lmax: Degree | None = Field(
        None, ge=0,
        description="Highest degree of the output node/pair irreps. None: max(lmax, 2 x the "
        "basis' highest shell degree), so every sub-block irrep exists (4 for def2-SVP).",
    )
    out_channels: Width | None = Field(
        None, ge=1, description="Channels per irrep of the output features (None: channels)."
    )
    bottleneck: Width = Field(
        16, ge=1, description="Channels per irrep inside the self/pair tensor products."
    )
    pair_sh_lmax: Degree | None = Field(
        None, ge=0, description="Highest degree of the pair spherical harmonics (None: max_ell)."
    )
    pair_hidden: Width = Field(
        64, ge=1, description="Width of the MLP making per-pair tensor-product weights."
    )
    pair_cutoff: float | None = Field(
        None, gt=0,
        description="Pair range (Angstrom), the graph's pair cutoff: the pair radial basis spans it "
        "and pair features fade smoothly to zero at it. None: all pairs (fully connected "
        "molecules); the basis spans cutoff and farther pairs get distance-independent weights.",
    )

    @field_validator("radial_mlp")
    @classmethod
    def _radial_widths(cls, widths: list[int]) -> list[int]:
        return check_widths(widths, "radial_mlp")

    @model_validator(mode="after")
    def _check_mace(self) -> "MACEConfig":
        problems = mace_option_problems(self.lmax, self.max_ell, self.correlation, self.num_interactions)
        if problems:
            raise ValueError("; ".join(problems))
        return self
