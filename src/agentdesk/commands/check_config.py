"""`agentdesk check-config FILE`: validate a config file; every problem is printed, naming its field."""

from __future__ import annotations

import sys
from pathlib import Path


def run_check_config(path: Path) -> int:
    from agentdesk.config import check_config_file

    problems = check_config_file(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0
