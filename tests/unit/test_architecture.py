"""The layers of design.md point one way: import-linter's contract in pyproject.toml holds."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_no_layer_imports_a_layer_above_it() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency; reinstall with ./run test"
    result = subprocess.run([lint_imports], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stdout + result.stderr
