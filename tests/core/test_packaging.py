"""Every source folder is a regular package, so a non-editable install ships it."""

from __future__ import annotations


def test_every_source_folder_has_an_init(repo_root):
    missing = [
        str(folder.relative_to(repo_root))
        for top in ("hamkit", "plugins")
        for folder in [repo_root / top, *(repo_root / top).rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert not missing, f"folders without __init__.py (find_packages skips them): {missing}"


def test_py_typed_marker_ships_with_the_package(repo_root):
    pyproject = (repo_root / "pyproject.toml").read_text()
    assert '[tool.setuptools.package-data]\nhamkit = ["py.typed"]' in pyproject
    assert (repo_root / "hamkit" / "py.typed").is_file()
