"""Package discovery only; all metadata lives in pyproject.toml.

The first-party plugins sit in the top-level ``plugins/`` folder and install as
the import package ``hamkit_plugins`` (setuptools cannot express that renaming
together with automatic discovery in pyproject.toml alone).
"""

from setuptools import find_packages, setup

core_packages = find_packages(include=["hamkit", "hamkit.*"])
plugin_packages = [
    "hamkit_plugins" + name[len("plugins"):]
    for name in find_packages(include=["plugins", "plugins.*"])
]

setup(
    packages=core_packages + plugin_packages,
    package_dir={"hamkit_plugins": "plugins"},
)
