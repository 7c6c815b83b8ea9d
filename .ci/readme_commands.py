"""Print the shell commands of the README's "Set up" section, one per line, as written there.

CI runs them exactly as a new user would copy them, so they are read from the README rather than
repeated in .ci/run, where they could drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SECTION = "## Set up"


def setup_commands(readme: str) -> list[str]:
    """The lines of every ```sh block between `## Set up` and the next `## ` heading."""
    start = readme.index(f"\n{SECTION}\n")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end != -1 else len(readme)]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    for command in setup_commands(path.read_text(encoding="utf-8")):
        print(command)
