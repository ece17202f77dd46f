"""Test helpers shared by the test suites."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_data_dir():
    """``../shared/data`` beside the project checkout, or None when absent."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None
