"""What an ablation folder holds, so a rerun resumes the same ablation and nothing else.

``DIR/ablation.json`` records the ablation file, its ``--set`` overrides and a digest of
its parsed content and base recipe. Rerunning the same ablation into ``DIR`` resumes it
(finished runs are skipped); a different ablation, or a folder that is not an ablation's,
is refused unless ``--overwrite`` (which replaces only ablation folders).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hamkit.ablation.spec import Ablation
from hamkit.errors import HamkitError
from hamkit.safe_output import OutputExistsError, atomic_file, remove_path

MANIFEST_FILE = "ablation.json"
REPORT_FILE = "results.md"


def manifest_of(ablation: Ablation) -> dict:
    """The identity of an ablation: file, overrides and a digest of what they resolve to."""
    content = json.dumps({"spec": ablation.spec.model_dump(mode="json"), "set": list(ablation.extra),
                          "base": ablation.base.read_text(errors="replace")}, sort_keys=True)
    return {"ablation": str(ablation.source), "set": list(ablation.extra),
            "digest": hashlib.sha256(content.encode()).hexdigest()}


def _recorded(out: Path) -> dict | None:
    try:
        recorded = json.loads((out / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _is_ablation_folder(out: Path) -> bool:
    return (out / MANIFEST_FILE).is_file() or (out / REPORT_FILE).is_file()


def prepare_output(out: Path, manifest: dict, overwrite: bool) -> bool:
    """Make ``out`` ready for this ablation.

    Args:
        out: The ablation folder.
        manifest: :func:`manifest_of` the ablation about to run.
        overwrite: Replace an existing ablation folder.

    Returns:
        True when an earlier run of the same ablation is resumed.

    Raises:
        OutputExistsError: ``out`` holds something else and ``overwrite`` is not set.
        HamkitError: ``overwrite`` on a folder that is not an ablation's, or ``out`` is a file.
    """
    if out.exists() and not out.is_dir():
        raise HamkitError(f"--out {out}: is a file; give a folder for the ablation")
    occupied = out.is_dir() and any(out.iterdir())
    resumed = occupied and _recorded(out) == manifest
    if occupied and not resumed:
        if not overwrite:
            raise OutputExistsError(
                f"--out {out}: already holds {'another ablation' if _is_ablation_folder(out) else 'other files'}; "
                "choose another --out, or pass --overwrite to replace it")
        if not _is_ablation_folder(out):
            raise HamkitError(f"--out {out}: is not an ablation folder (no {MANIFEST_FILE}); "
                              "--overwrite only replaces ablation folders: choose another --out")
        remove_path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / MANIFEST_FILE) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2))
    return resumed
