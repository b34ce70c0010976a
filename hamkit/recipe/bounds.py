"""Sanity bounds of recipe values, shared by the recipe schema and the components' Configs.

The bounds are generous: every shipped recipe sits far below them. They exist so that a
typo (``num_layers: 100000``, ``hidden: 1000000``, ``steps: 1e12``) is an error at
validation time, naming the recipe line, instead of a model build that never finishes or
a run that cannot end. Plugins use the annotated types in their Configs::

    from hamkit.recipe.bounds import Degree, LayerCount, Width

    class MyConfig(ComponentConfig):
        num_layers: LayerCount = Field(4, ge=1, description="...")
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MAX_LAYERS = 64
"""Message-passing blocks / MLP layers of one component (published models use 2 to 12)."""

MAX_WIDTH = 4096
"""Channels / hidden widths / multiplicities per degree (published models use 16 to 1024)."""

MAX_DEGREE = 11
"""Highest degree (l) of irreps and spherical harmonics: e3nn's ``wigner_3j`` and
``spherical_harmonics`` tables stop at 11."""

MAX_STEPS = 10**9
"""Optimizer steps and step counts (``eval_every``, ...): far beyond any training budget."""

MAX_BATCH = 10**6
"""Structures per batch (or batches per step)."""

MAX_SEED = 2**63 - 1
"""Seeds are non-negative and fit in 64 bits (numpy's generators reject negative seeds)."""

_WHY_LAYERS = (
    "hamkit's sanity bound: deeper models take minutes to hours just to build and are almost "
    "certainly a typo"
)
_WHY_WIDTH = (
    "hamkit's sanity bound: wider layers need more memory than any accelerator has and are "
    "almost certainly a typo"
)
_WHY_DEGREE = "e3nn's Wigner 3j and spherical-harmonics tables stop at degree 11"


def _at_most(limit: int, bound: str, why: str) -> AfterValidator:
    """A validator that rejects values above ``limit``, saying the bound (``bound``) and why."""

    def check(value: int) -> int:
        if value > limit:
            raise ValueError(f"{bound} ({why})")
        return value

    return AfterValidator(check)


def _bounded_int(limit: int, bound: str, why: str) -> Any:
    """``int`` at most ``limit``: the error says ``bound`` and ``why``; the JSON schema shows the maximum."""
    return Annotated[int, _at_most(limit, bound, why), Field(json_schema_extra={"maximum": limit})]


_WHY_STEPS = "hamkit's sanity bound: more than any training budget; almost certainly a typo"
_WHY_BATCH = "hamkit's sanity bound: no dataset or memory fits more; almost certainly a typo"

LayerCount = _bounded_int(MAX_LAYERS, f"at most {MAX_LAYERS} layers", _WHY_LAYERS)
"""A number of layers/blocks: at most :data:`MAX_LAYERS`."""

Width = _bounded_int(MAX_WIDTH, f"at most {MAX_WIDTH} channels", _WHY_WIDTH)
"""A width, channel count or multiplicity: at most :data:`MAX_WIDTH`."""

Degree = _bounded_int(MAX_DEGREE, f"degrees go up to {MAX_DEGREE}", _WHY_DEGREE)
"""A degree l of irreps or spherical harmonics: at most :data:`MAX_DEGREE`."""

StepCount = _bounded_int(MAX_STEPS, f"at most {MAX_STEPS:,} steps", _WHY_STEPS)
"""A number of optimizer steps (or validations): at most :data:`MAX_STEPS`."""

BatchCount = _bounded_int(MAX_BATCH, f"at most {MAX_BATCH:,}", _WHY_BATCH)
"""Structures per batch or batches per step: at most :data:`MAX_BATCH`."""

Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
"""A random seed: ``0 <= seed < 2**63`` (numpy rejects negative seeds, torch takes 64 bits)."""

Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
"""A decay factor in ``[0, 1)`` (Adam's betas)."""


def check_widths(widths: list[int], what: str = "hidden") -> list[int]:
    """Check a list of layer widths: each in ``1..MAX_WIDTH``, at most ``MAX_LAYERS`` of them.

    Raises:
        ValueError: With the bound and why (pydantic reports it against the recipe line).
    """
    if any(width < 1 for width in widths):
        raise ValueError(f"every {what} width must be >= 1")
    if len(widths) > MAX_LAYERS:
        raise ValueError(f"{len(widths)} {what} layers: at most {MAX_LAYERS} ({_WHY_LAYERS})")
    too_wide = [width for width in widths if width > MAX_WIDTH]
    if too_wide:
        raise ValueError(f"{what} width {too_wide[0]}: at most {MAX_WIDTH} ({_WHY_WIDTH})")
    return widths


_IRREP_TERM = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\d+)\s*[eoy]\s*$")


def check_irreps_bounds(text: str, what: str) -> str:
    """Check the multiplicities and degrees of an e3nn irreps string (``"32x0e+16x1o"``).

    Terms that do not look like ``MULxLp`` are left to the component's own parser.

    Raises:
        ValueError: A multiplicity above :data:`MAX_WIDTH` or a degree above :data:`MAX_DEGREE`.
    """
    for term in text.split("+"):
        match = _IRREP_TERM.match(term)
        if match is None:
            continue
        mul = int(match.group(1)) if match.group(1) is not None else 1
        degree = int(match.group(2))
        if mul > MAX_WIDTH:
            raise ValueError(
                f"{what} '{term.strip()}': multiplicity {mul} > {MAX_WIDTH} ({_WHY_WIDTH})"
            )
        if degree > MAX_DEGREE:
            raise ValueError(f"{what} '{term.strip()}': degree {degree} > {MAX_DEGREE} ({_WHY_DEGREE})")
    return text
