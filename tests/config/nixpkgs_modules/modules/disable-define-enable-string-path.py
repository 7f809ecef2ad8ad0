from pathlib import Path

disabled_modules = [str(Path(__file__).parent / "define-enable.yaml")]
