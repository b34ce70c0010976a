"""Build-time checks of the irreps each model component declares, against its neighbours.

Each check compares what one component declares (see :mod:`hamkit.components`) with
what the features reaching it have, and fails with a :class:`~hamkit.errors.HamkitError`
naming the recipe line of the component (or of its ``irreps_in`` option, when the
recipe sets one) and both irreps:

- featurizer: declares ``node_irreps`` and ``pair_irreps`` (and the irreps of its
  induction points), all parseable;
- invariant encoder: ``irreps_in`` equals the stage's feature irreps, ``num_invariants``
  is a positive int;
- inducer: ``irreps_in`` equals the stage's feature irreps and ``irreps_out`` equals
  ``irreps_in``;
- head: ``node_irreps_in`` / ``pair_irreps_in`` equal what the features provide.

Irreps are compared by layout: entries of multiplicity 0 are dropped and consecutive
equal irreps merged (``"2x0e+2x0e"`` is ``"4x0e"``); order, degree and parity matter.
"""

from __future__ import annotations

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import Featurizer, Head, Inducer, InvariantEncoder
from hamkit.errors import HamkitError
from hamkit.recipe import ResolvedRecipe
from hamkit.recipe.semantics import origin_of


def _where(recipe: ResolvedRecipe, kind: str, option: str | None = None) -> str:
    """``FILE:LINE: model.KIND`` of a component entry (or of one of its options when written)."""
    path = ("model", kind, option) if option else ("model", kind)
    return f"{origin_of(recipe.lines, path)}: model.{kind}"


def _name(recipe: ResolvedRecipe, kind: str) -> str:
    entry = recipe.component("model", kind)
    return entry.record.name if entry is not None else "?"


def layout_of(irreps: str, where: str) -> o3.Irreps:
    """The irreps as a layout: zero multiplicities dropped, consecutive equal irreps merged.

    Args:
        irreps: An e3nn irreps string.
        where: Prefix of the error message (recipe line and component).

    Returns:
        The normalized irreps.

    Raises:
        HamkitError: The string does not parse.
    """
    try:
        parsed = o3.Irreps(irreps)
    except Exception as error:  # noqa: BLE001 - e3nn raises ValueError/AssertionError
        raise HamkitError(f"{where}: cannot parse irreps '{irreps}' ({error})") from None
    return parsed.remove_zero_multiplicities().simplify()


def same_irreps(first: str, second: str, where: str) -> bool:
    """Whether two irreps strings describe the same feature layout."""
    return layout_of(first, where) == layout_of(second, where)


def check_featurizer(featurizer: Featurizer, recipe: ResolvedRecipe) -> None:
    """The featurizer declares parseable node, pair and induction-point irreps.

    Raises:
        HamkitError: An irreps attribute is missing, not a string, or unparseable.
    """
    where = _where(recipe, "featurizer")
    owner = f"featurizer '{featurizer.name}'"
    try:
        declared = {"node_irreps": featurizer.node_irreps, "pair_irreps": featurizer.pair_irreps}
    except AttributeError as error:
        raise HamkitError(f"{where}: {owner} does not declare its output irreps ({error}): set "
                          "node_irreps and pair_irreps (e3nn strings) when built") from None
    for attribute, irreps in declared.items():
        if not isinstance(irreps, str):
            raise HamkitError(f"{where}: {owner} {attribute} must be an e3nn irreps string, got {irreps!r}")
        layout_of(irreps, f"{where}: {owner} {attribute}")
    for point in featurizer.induction_points():
        layout_of(point.irreps, f"{where}: {owner} induction point {point}")


def _check_stage_input(
    kind: str, irreps_in: str | None, irreps: str, stage: str, recipe: ResolvedRecipe
) -> tuple[str, str]:
    """A stage component (encoder, inducer) declares ``irreps_in`` equal to the stage's ``irreps``.

    Returns:
        The recipe location and the component's description, for further messages.

    Raises:
        HamkitError: ``irreps_in`` undeclared or different from ``irreps``.
    """
    where = _where(recipe, kind, "irreps_in")
    owner = f"{kind.replace('_', ' ')} '{_name(recipe, kind)}'"
    if irreps_in is None:
        raise HamkitError(f"{where}: {owner} declares no irreps_in (set it when built, from "
                          "context.declared.irreps)")
    if not same_irreps(irreps_in, irreps, where):
        raise HamkitError(
            f"{where}: {owner} declares input irreps '{irreps_in}', but the {stage} features "
            f"of featurizer '{_name(recipe, 'featurizer')}' ({_where(recipe, 'featurizer')}) have "
            f"'{irreps}'")
    return where, owner


def check_encoder(encoder: InvariantEncoder, irreps: str, stage: str, recipe: ResolvedRecipe) -> None:
    """The encoder takes the stage's features and declares its width.

    Args:
        encoder: The built encoder.
        irreps: e3nn irreps of the stage's features (what the featurizer provides there).
        stage: The stage, for the message (e.g. ``"node"``, ``"block 0 node"``).
        recipe: The resolved recipe (for the line).

    Raises:
        HamkitError: ``irreps_in`` undeclared or different from ``irreps``, or
            ``num_invariants`` not a positive int.
    """
    where, owner = _check_stage_input("invariant_encoder", encoder.irreps_in, irreps, stage, recipe)
    width = encoder.num_invariants
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise HamkitError(f"{where}: {owner} must declare num_invariants, a positive int (the "
                          f"width of z), got {width!r}")


def check_inducer(inducer: Inducer, irreps: str, stage: str, recipe: ResolvedRecipe) -> None:
    """The inducer takes the stage's features and keeps their irreps.

    Args:
        inducer: The built inducer.
        irreps: e3nn irreps of the stage's features.
        stage: The stage, for the message.
        recipe: The resolved recipe (for the line).

    Raises:
        HamkitError: ``irreps_in`` undeclared or different from ``irreps``, or
            ``irreps_out`` different from ``irreps_in``.
    """
    where, owner = _check_stage_input("inducer", inducer.irreps_in, irreps, stage, recipe)
    assert inducer.irreps_in is not None  # checked above
    irreps_out = inducer.irreps_out
    if irreps_out is None or not same_irreps(irreps_out, inducer.irreps_in, where):
        raise HamkitError(
            f"{where}: {owner} must keep the irreps of its features, but declares output irreps "
            f"'{irreps_out}' for input irreps '{inducer.irreps_in}' ({stage} features)")


def check_head(head: Head, node_irreps: str, pair_irreps: str, recipe: ResolvedRecipe) -> None:
    """The head was built for the node and pair irreps the features provide.

    Args:
        head: The built head.
        node_irreps: e3nn irreps of the node features reaching the head.
        pair_irreps: e3nn irreps of the pair features reaching the head.
        recipe: The resolved recipe (for the line).

    Raises:
        HamkitError: An input irreps undeclared or different from the features'.
    """
    where = _where(recipe, "head")
    owner = f"head '{_name(recipe, 'head')}'"
    for what, needed, provided in (("node", head.node_irreps_in, node_irreps),
                                   ("pair", head.pair_irreps_in, pair_irreps)):
        if needed is None:
            raise HamkitError(f"{where}: {owner} declares no {what}_irreps_in (set it when built, "
                              f"from context.declared.{what}_irreps)")
        if not same_irreps(needed, provided, where):
            raise HamkitError(
                f"{where}: {owner} needs {what} irreps '{needed}', but featurizer "
                f"'{_name(recipe, 'featurizer')}' ({_where(recipe, 'featurizer')}) provides "
                f"'{provided}'")
