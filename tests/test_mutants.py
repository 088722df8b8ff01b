"""Every deliberate bug in tests/mutants.py can still be made: its snippet occurs exactly once in its file, and
the tests it names exist. Code moves (session 37 moved six snippets into compiled kernels), and a mutant
whose snippet matches nothing is never run: one had matched nothing since it was written."""

from __future__ import annotations

from pathlib import Path

import mutants

REPO = Path(__file__).resolve().parents[1]


def test_every_mutant_can_be_made_and_names_tests_that_exist():
    stale = []
    for mutant in mutants.MUTANTS:
        for edit in mutant.edits:
            found = (REPO / edit.path).read_text(encoding="utf-8").count(edit.find)
            if found != 1:
                stale.append(f"{mutant.name}: {edit.path} has its snippet {found} times")
        for target in mutant.tests:
            path, _, test = target.partition("::")
            if not (REPO / path).exists():
                stale.append(f"{mutant.name}: no {path}")
            elif test and f"def {test.split('[')[0]}(" not in (REPO / path).read_text(encoding="utf-8"):
                stale.append(f"{mutant.name}: no test {test} in {path}")
    assert not stale, stale


def test_mutant_names_are_unique():
    names = [mutant.name for mutant in mutants.MUTANTS]
    assert len(names) == len(set(names))
