"""Test helpers shared by the test suites."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_data_dir():
    """``../shared/data`` beside the project checkout, or None when absent."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None


def imblearn_parametrize_with_checks(estimators, **kwargs):
    """imblearn's ``parametrize_with_checks`` with its checks in a list: it hands pytest a
    generator, which pytest deprecates (``PytestRemovedIn10Warning``)."""
    import pytest
    from imblearn.utils.estimator_checks import parametrize_with_checks

    mark = parametrize_with_checks(estimators, **kwargs)
    names, values = mark.args
    return pytest.mark.parametrize(names, list(values), **mark.kwargs)
