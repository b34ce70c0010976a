"""The README's promises: its test command is what CI runs; recipes validate."""

from __future__ import annotations

import re


def fenced_bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one(repo_root):
    readme = (repo_root / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = fenced_bash_lines(quick_start)
    assert len(commands) == 2, commands
    main_command, test_command = commands
    assert main_command.startswith("pip install torch==2.13.0 && pip install -e .")
    assert "pytest" in test_command and ".[test]" in test_command
    ci_lines = [line.strip() for line in (repo_root / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
    assert ci_lines.index("pip install --quiet torch==2.13.0") < ci_lines.index(test_command)
