"""nixpkgs' own module-system checks (lib/tests/modules.sh), translated to declos.

checks.yaml lists each check with its modules.sh line, the original modules, and real
Nix's answer on them (recorded and re-checkable with record.py); the declos translations
of the original modules are in modules/. A file name in Nix's answer
(`NIXDIR/x.nix`) stands for the translation with the same stem; `STOREDIR` stands for
the store directory (Nix's `builtins.storeDir`, declos's `store_dir()`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from declos.common.paths import store_dir
from declos.config import Evaluation, EvaluationError, evaluate
from declos.config.values import to_plain

HERE = Path(__file__).parent
CHECKS = yaml.safe_load((HERE / "checks.yaml").read_text())


def _expected(check: dict[str, Any]) -> Any:
    want = check["nix"]
    if isinstance(want, str):
        stems = {Path(f).stem: f for f in check["declos"]["files"]}
        want = re.sub(r"NIXDIR/([\w.-]+)\.nix", lambda m: stems[m.group(1)], want)
        want = want.replace("STOREDIR", store_dir())
    return want


def _read_options(ev: Evaluation, query: str) -> Any:
    """NixOS `options.QUERY`: through `ev.options` (an option reads as its attribute set;
    its `type` is a type object, read by attribute)."""
    value: Any = ev.options
    for part in query.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return to_plain(value)


@pytest.mark.parametrize(
    "check", CHECKS, ids=[f"modules.sh:{c['line']}-{c['attr']}" for c in CHECKS]
)
def test_check(check: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE / "modules")
    spec = check["declos"]
    special = {"modules_path": str(HERE / "modules")}  # default.nix: specialArgs.modulesPath
    if "nix" in check:
        ev = evaluate(spec["files"], bare=True, special_args=special)
        value = _read_options(ev, spec["options"]) if "options" in spec else ev.value(spec["query"])
        for key in spec.get("drop", ()):
            value.pop(key)
        assert value == _expected(check)
    else:
        with pytest.raises(EvaluationError) as info:
            ev = evaluate(spec["files"], bare=True, special_args=special)
            _read_options(ev, spec["options"]) if "options" in spec else ev.value(spec["query"])
        for fragment in check["error"]:
            assert fragment.replace("STOREDIR", store_dir()) in str(info.value), str(info.value)


def test_every_check_is_translated_or_skipped_with_a_reason() -> None:
    """The yardstick count is exact: inventory = translated + skipped, nothing twice."""
    inventory = {c["line"]: c for c in yaml.safe_load((HERE / "inventory.yaml").read_text())}
    translated = [c["line"] for c in CHECKS]
    skipped = [n for e in yaml.safe_load((HERE / "skipped.yaml").read_text()) for n in e["lines"]]
    assert len(inventory) == 407
    assert len(set(translated)) == len(translated)
    assert len(set(skipped)) == len(skipped)
    assert not set(translated) & set(skipped)
    assert set(translated) | set(skipped) == set(inventory)
    for check in CHECKS:  # the recorded modules and attribute are the script's
        assert check["nix_modules"] == inventory[check["line"]]["modules"], check["line"]
        assert check["attr"] == inventory[check["line"]]["attr"], check["line"]
        env = inventory[check["line"]]["env"]
        assert check.get("strict", False) == ("STRICT_EVAL=1" in env), check["line"]
        assert check.get("abort_on_warn", False) == ("ABORT_ON_WARN=1" in env), check["line"]
