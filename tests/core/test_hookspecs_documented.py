"""Every hook is documented from the one template, and exercised by some test."""

from __future__ import annotations

import inspect

import pytest

from hamkit import hookspecs

HOOKS = [name for name, obj in vars(hookspecs).items()
         if inspect.isfunction(obj) and name.startswith("hamkit_")]
TEMPLATE = ("**What**", "**When**", "**Arguments**", "**Example**")


@pytest.mark.parametrize("hook_name", HOOKS)
def test_hook_follows_the_template(hook_name):
    doc = inspect.getdoc(getattr(hookspecs, hook_name)) or ""
    missing = [part for part in TEMPLATE if part not in doc]
    assert not missing, f"{hook_name} docstring lacks {missing}"


@pytest.mark.parametrize("hook_name", HOOKS)
def test_hook_is_implemented_by_a_test_plugin_or_first_party_plugin(hook_name, repo_root):
    sources = [p.read_text() for folder in ("plugins", "tests", "examples")
               for p in (repo_root / folder).rglob("*.py")]
    assert any(f"def {hook_name}(" in text for text in sources), f"nothing implements {hook_name}"
