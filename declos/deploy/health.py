"""Health checks after confirmation (morph's `deployment.healthChecks`).

`cmd` checks run on the target over SSH (exit 0 is healthy); `http` checks are GETs from
the deployer (any 2xx is healthy). Each check is tried 1 + `retries` times, `period`
seconds apart, each try limited to `timeout` seconds. The first check that never passes
fails the machine, which is then rolled back (morph does not roll back; we do).
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from declos.deploy.targets import HealthCheck
from declos.hosts.errors import HostError


def run_checks(
    host: Any, checks: tuple[HealthCheck, ...], log: Callable[[str], None]
) -> str | None:
    """None when every check passes, else why the first failing one failed."""
    for check in checks:
        problem = ""
        for attempt in range(check.retries + 1):
            if attempt:
                time.sleep(check.period)
            problem = _try(host, check)
            if not problem:
                log(f"health check passed: {check.description}")
                break
        else:
            return f"health check failed: {check.description}: {problem}"
    return None


def _try(host: Any, check: HealthCheck) -> str:
    if check.kind == "cmd":
        try:
            result = host.run(list(check.cmd), timeout=check.timeout, check=False)
        except HostError as exc:
            return str(exc)
        if result.returncode == 0:
            return ""
        err = (result.stderr or result.stdout).decode(errors="replace").strip()
        return f"exit {result.returncode}" + (f": {err.splitlines()[-1]}" if err else "")
    request = urllib.request.Request(check.url, headers=dict(check.headers))
    context = ssl._create_unverified_context() if check.insecure else None
    try:
        with urllib.request.urlopen(request, timeout=check.timeout, context=context) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return f"GET {check.url}: {getattr(exc, 'reason', exc)}"
    return "" if 200 <= status < 300 else f"GET {check.url}: HTTP {status}"
