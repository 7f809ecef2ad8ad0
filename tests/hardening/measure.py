"""Run the whole corpus and print the issue-8 buckets: `python tests/hardening/measure.py`.

Buckets: `location` (clear `error:` with file:line), `no-location` (clear `error:` without
one), `worse` (traceback, hang, wrong exit, polluted stdout, write outside the target),
`accepted` (cases whose expected outcome is success). `-v` lists every case's bucket.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardening.corpus import Outcome, classify, load_cases, problems, run_case  # noqa: E402


def _kinds(outcome: Outcome) -> set[str]:
    """Why a case is in the `worse` bucket."""
    found = set()
    if outcome.returncode is None:
        found.add("hang")
    elif outcome.returncode != outcome.case.expected_exit:
        found.add("wrong-exit")
    if "Traceback" in outcome.stderr + outcome.stdout:
        found.add("traceback")
    if outcome.changed:
        found.add("write-outside")
    if outcome.failed_checks:
        found.add("check-failed")
    if any(p.startswith("stdout") for p in problems(outcome)):
        found.add("stdout")
    return found


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    stale: list[str] = []
    for case in load_cases():
        with tempfile.TemporaryDirectory(prefix="declos-corpus-") as tmp:
            outcome = run_case(case, Path(tmp))
        bucket = classify(outcome)
        counts[bucket] += 1
        if bucket == "worse":
            kinds.update(_kinds(outcome))
        if case.xfail and not problems(outcome):
            stale.append(case.name)
        if verbose:
            detail = "; ".join(problems(outcome))[:200]
            print(f"{bucket:12} {case.name}  {detail}")
    total = sum(counts.values())
    print(
        "worse, by kind (a case may have several): "
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    )
    if stale:
        print(f"passing although marked xfail (delete their xfail line): {' '.join(stale)}")
    print(
        f"cases {total}: location {counts['location']}, no-location {counts['no-location']}, "
        f"worse {counts['worse']}, accepted {counts['accepted']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
