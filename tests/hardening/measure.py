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

from hardening.corpus import classify, load_cases, problems, run_case  # noqa: E402


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    counts: Counter[str] = Counter()
    stale: list[str] = []
    for case in load_cases():
        with tempfile.TemporaryDirectory(prefix="declos-corpus-") as tmp:
            outcome = run_case(case, Path(tmp))
        bucket = classify(outcome)
        counts[bucket] += 1
        if case.xfail and not problems(outcome):
            stale.append(case.name)
        if verbose:
            detail = "; ".join(problems(outcome))[:200]
            print(f"{bucket:12} {case.name}  {detail}")
    total = sum(counts.values())
    if stale:
        print(f"passing although marked xfail (delete their xfail line): {' '.join(stale)}")
    print(
        f"cases {total}: location {counts['location']}, no-location {counts['no-location']}, "
        f"worse {counts['worse']}, accepted {counts['accepted']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
