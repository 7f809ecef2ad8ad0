from __future__ import annotations

from pathlib import Path

import pytest
from activation_closures import ClosureMaker, base_root

from declos.activation.main import main


class Rooted:
    """A tmp root plus helpers to build closures into it and activate them."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.make = ClosureMaker(root)
        self._capsys = capsys

    def run(self, top: str, action: str = "switch", *extra: str) -> tuple[int, str]:
        self._capsys.readouterr()
        rc = main(["--system", top, "--root", str(self.root), action, *extra])
        cap = self._capsys.readouterr()
        return rc, cap.err + cap.out

    def p(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def read(self, rel: str) -> str:
        """Content of a logical path, following links inside the root."""
        from declos.activation.paths import Host

        return Host(self.root).resolve(rel).read_text()


@pytest.fixture
def rooted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Rooted:
    monkeypatch.delenv("DECLOS_STATE_DIR", raising=False)
    monkeypatch.delenv("DECLOS_STORE_DIR", raising=False)
    root = tmp_path / "root"
    base_root(root)
    return Rooted(root, capsys)
