"""Print one line of the README's Quickstart block: ``demo`` (first) or ``test`` (second).

CI runs the printed line, so the README and CI can never drift apart.
"""

import re
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
section = re.search(r"^## Quickstart\s*$(.*?)(?=^## |\Z)", readme, re.S | re.M)
block = re.search(r"```bash\n(.*?)```", section.group(1) if section else "", re.S)
lines = [line for line in (block.group(1) if block else "").splitlines() if line.strip()]
if len(lines) != 2:
    sys.exit(f"README Quickstart must hold exactly two command lines, found {len(lines)}")
print(lines[0] if sys.argv[1:] == ["demo"] else lines[1])
