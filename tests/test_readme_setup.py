"""The README's "Set up" commands, as `.ci/run`'s setup lane reads and runs them: two commands,
the first installing an extra that exists under the name every pip matches."""

from __future__ import annotations

import importlib.util
import re

import project_files
from project_files import ROOT


def setup_commands() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci/readme_commands.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.setup_commands((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_setup_section_has_the_two_commands_ci_runs() -> None:
    first, second = setup_commands()
    assert " && marco solve " in first and "72" not in first  # the answer is the model's
    assert second == 'pip install -e ".[dev,demo,plot]" && pytest'


def test_the_first_command_installs_an_extra_every_pip_matches() -> None:
    first = setup_commands()[0]
    extras = re.fullmatch(r'pip install -e "\.\[([^\]]+)\]" && .*', first)
    assert extras is not None, first
    declared = project_files.extras()
    for extra in extras[1].split(","):
        # pip before 23.3 compares the name as typed with the wheel's normalized spelling
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", extra), extra
        assert extra in declared
