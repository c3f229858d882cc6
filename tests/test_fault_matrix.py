"""docs/reliability.md names only tests that exist, and its scenario count is the number of its rows."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "docs" / "reliability.md"
REFERENCE = re.compile(r"`((?:[\w/]+\.py)?::\w+)(?:\[[^\]]*\])?`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def references() -> list[tuple[str, str]]:
    """(file, test) for each test the matrix names; `::name` means the file named just before it."""
    found, current = [], ""
    for line in MATRIX.read_text().splitlines():
        for reference in REFERENCE.findall(line):
            file, name = reference.split("::")
            current = file or current
            found.append((current, name))
    return found


def test_every_test_the_matrix_names_exists() -> None:
    named = references()
    missing = [f"{f}::{n}" for f, n in named if n not in defined_tests(ROOT / "tests" / f)]
    assert len(named) > 80 and not missing


def test_the_totals_count_the_rows() -> None:
    text = MATRIX.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| scenario")]
    total = re.search(r"\*\*Totals\*\* \(rows below\): (\d+) scenarios", text)
    assert total and int(total.group(1)) == len(rows) >= 80
