"""Entry point for ``python -m core``."""

from core.cli import run

if __name__ == "__main__":
    run()
