"""`declos shell --run true`: entering a shell, cached and not, against the anchors, one run.

    .venv/bin/python bench/shell.py

Figures (issue 13, reference/packages.md §7.11 T7; goal <= 100 ms on a cache hit):
1. `declos shell --pure --run true` with a cache hit (median of 10), against `bash -c true`
   (the floor: the exec of bash), `PYTHON -c pass` with declos' own interpreter and site
   (the floor of any Python command: in an editable install, setuptools' finder alone costs
   ~20 ms) and `python3 -m venv --without-pip D && . D/bin/activate` (what a Python developer
   does instead);
2. the same with the cache deleted but every store path present (evaluation, lock
   reading, profile already built), median of 3;
The shell: jq from declos.lock and Pyramid's environment from pylock.toml, in a store
made for the bench under a temporary directory (first run downloads and builds).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from declos.pkgs.debian.locking import make_lock, open_archive
from declos.pkgs.python.locking import lock_requirements

DECLOS = str(Path(sys.executable).with_name("declos"))
SHELL_YAML = "python: [pyramid]\npackages: [jq]\nenv: {GREETING: hello}\n"


def median_run(argv: list[str], env: dict[str, str], cwd: str, n: int, before=None) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        if before:
            before()
        t = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def row(what: str, ours: float, anchor: float, name: str) -> None:
    print(f"{what:<40} {1000 * ours:8.1f} ms {1000 * anchor:8.1f} ms {ours / anchor:7.2f}x  {name}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="declos-bench-shell-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        make_lock(open_archive(), ["jq"], path=str(project / "declos.lock")).write(
            project / "declos.lock"
        )
        lock_requirements(["pyramid==2.0.2", "setuptools<81"], only_binary=True).write(
            project / "pylock.toml"
        )
        (project / "shell.yaml").write_text(SHELL_YAML)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "DECLOS_STORE_DIR": f"{tmp}/store",
            "DECLOS_STATE_DIR": f"{tmp}/var",
        }
        argv = [DECLOS, "shell", "--pure", "--run", "true"]
        t = time.perf_counter()
        subprocess.run(argv, env=env, cwd=project, check=True, capture_output=True)
        first = time.perf_counter() - t
        hit = median_run(argv, env, str(project), 10)
        cache = project / ".declos" / "shell"
        miss = median_run(argv, env, str(project), 3, lambda: shutil.rmtree(cache))
        bash = median_run(["bash", "-c", "true"], env, tmp, 10)
        python = median_run([sys.executable, "-c", "pass"], env, tmp, 10)

        def fresh_venv() -> None:
            shutil.rmtree(f"{tmp}/venv", ignore_errors=True)

        venv = median_run(
            [
                "bash",
                "-c",
                f"/usr/bin/python3 -m venv --without-pip {tmp}/venv && . {tmp}/venv/bin/activate && true",
            ],
            env,
            tmp,
            3,
            fresh_venv,
        )
    print(f"first entry (lock + build of jq and Pyramid's env): {first:.1f} s")
    print(f"{'':<40} {'declos':>11} {'anchor':>11} {'ratio':>8}")
    row("shell --run true, cache hit", hit, bash, "bash -c true")
    row("shell --run true, cache hit", hit, python, "declos' python -c pass (its site)")
    row("shell --run true, cache hit", hit, venv, "python3 -m venv --without-pip + activate")
    row(
        "shell --run true, cache miss (built)",
        miss,
        venv,
        "python3 -m venv --without-pip + activate",
    )
    print(f"goal: cache hit <= 100 ms; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
