"""Macro-averaged RMSE and MAE over rare and frequent targets."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.metrics import make_scorer, mean_absolute_error, root_mean_squared_error
from sklearn.model_selection import cross_val_score

from sktsgen.metrics._imbalanced_regression import (
    macro_mean_absolute_error,
    macro_root_mean_squared_error,
)

METRICS = [(macro_root_mean_squared_error, root_mean_squared_error),
           (macro_mean_absolute_error, mean_absolute_error)]


def _targets(seed=0):
    rng = np.random.default_rng(seed)
    y_true = np.r_[rng.uniform(0, 100, 95), rng.uniform(160, 300, 5)]
    y_pred = y_true + rng.normal(0, 10, 100)
    y_pred[95:] -= 60  # rare targets under-predicted, as models trained on imbalance do
    return y_true, y_pred


@pytest.mark.parametrize("macro, plain", METRICS)
def test_mean_of_the_per_group_errors(macro, plain):
    y_true, y_pred = _targets()
    rare = y_true > 150
    parts = macro(y_true, y_pred, minority_threshold=150, average=None)
    assert parts["rare"] == pytest.approx(plain(y_true[rare], y_pred[rare]))
    assert parts["frequent"] == pytest.approx(plain(y_true[~rare], y_pred[~rare]))
    value = macro(y_true, y_pred, minority_threshold=150)
    assert value == pytest.approx((parts["rare"] + parts["frequent"]) / 2)
    # the 5 rare targets weigh as much as the 95 frequent ones
    assert value > 1.5 * plain(y_true, y_pred)


@pytest.mark.parametrize("macro, _", METRICS)
def test_callable_threshold_and_perfect_prediction(macro, _):
    y_true, y_pred = _targets()
    by_callable = macro(y_true, y_pred, minority_threshold=lambda y: y > 150)
    assert by_callable == macro(y_true, y_pred, minority_threshold=150)
    assert macro(y_true, y_true, minority_threshold=150) == 0.0


def test_hand_computed_values():
    y_true, y_pred = [1.0, 2.0, 10.0, 20.0], [2.0, 2.0, 7.0, 24.0]
    # frequent errors (1, 0), rare errors (3, 4)
    assert macro_mean_absolute_error(y_true, y_pred, minority_threshold=5) == 2.0
    rmse = macro_root_mean_squared_error(y_true, y_pred, minority_threshold=5)
    assert rmse == pytest.approx((np.sqrt(0.5) + np.sqrt(12.5)) / 2)


@pytest.mark.parametrize("kwargs, y_pred, match", [
    ({"minority_threshold": 1000}, None, "both rare and frequent"),
    ({"minority_threshold": -1}, None, "both rare and frequent"),
    ({"minority_threshold": "150"}, None, "finite number"),
    ({"minority_threshold": lambda y: (y > 150).astype(int)}, None, "boolean mask"),
    ({"minority_threshold": 150, "average": "micro"}, None, "average"),
    ({"minority_threshold": 150}, "short", "inconsistent"),
    ({"minority_threshold": 150}, "2d", "1-D"),
])
def test_errors(kwargs, y_pred, match):
    y_true, pred = _targets()
    pred = {"short": pred[:-1], "2d": np.c_[pred, pred], None: pred}[y_pred]
    with pytest.raises(ValueError, match=match):
        macro_root_mean_squared_error(y_true, pred, **kwargs)


def test_as_a_scorer():
    y_true, _ = _targets()
    X = np.zeros((100, 1))
    scorer = make_scorer(macro_mean_absolute_error, greater_is_better=False,
                         minority_threshold=150)
    order = np.random.default_rng(0).permutation(100)
    scores = cross_val_score(DummyRegressor(), X[order], y_true[order], cv=2, scoring=scorer)
    assert np.all(scores < 0)
