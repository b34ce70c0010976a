"""hamkit's first-party components.

Each subpackage is one plugin, exposed through the ``hamkit`` entry-point group
in pyproject.toml exactly as a third-party package would be; nothing in the core
imports from here.
"""
