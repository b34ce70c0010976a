"""An installed third-party plugin that fails to import is reported by name; the CLI works."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def install_broken_plugin(site):
    """A minimal installed distribution whose entry-point module raises on import."""
    (site / "broken_hamkit_plugin.py").write_text("raise ImportError('needs libfoo 9.9')\n")
    info = site / "broken_hamkit_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-hamkit-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hamkit]\nbroken = broken_hamkit_plugin\n")


def test_broken_plugin_is_reported_and_the_rest_works(tmp_path):
    install_broken_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "hamkit.cli.main", "plugins", "list", "--json"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert "plugin 'broken' (import)" in proc.stderr and "needs libfoo 9.9" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "h_mse" in {item["name"] for item in json.loads(proc.stdout)}

    disabled = subprocess.run([sys.executable, "-m", "hamkit.cli.main", "plugins", "list"],
                              capture_output=True, text=True,
                              env={**env, "HAMKIT_DISABLE_PLUGINS": "broken"})
    assert disabled.returncode == 0 and "broken" not in disabled.stderr
