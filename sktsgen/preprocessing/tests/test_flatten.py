"""WindowFlattener: shapes, names, round trip, pipelines."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.preprocessing import WindowFlattener


@parametrize_with_checks([WindowFlattener()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_flattens_step_by_step_and_round_trips():
    X = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    flat = WindowFlattener().fit(X)
    Xf = flat.transform(X)
    assert Xf.shape == (5, 12) and Xf.dtype == np.float32
    np.testing.assert_array_equal(Xf[:, 3:6], X[:, 1, :])  # step 1's channels
    np.testing.assert_array_equal(flat.inverse_transform(Xf), X)
    Xf[0, 0] = 99.0
    assert X[0, 0, 0] != 99.0  # output is a copy


def test_feature_names():
    X = np.zeros((2, 2, 2))
    names = WindowFlattener().fit(X).get_feature_names_out()
    assert list(names) == ["x0_t0", "x1_t0", "x0_t1", "x1_t1"]
    df = pd.DataFrame(np.zeros((3, 2)), columns=["a", "b"])
    assert list(WindowFlattener().fit(df).get_feature_names_out()) == ["a", "b"]


def test_shape_errors():
    flat = WindowFlattener().fit(np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="seq_len"):
        flat.transform(np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="columns"):
        flat.inverse_transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="dimension"):
        flat.fit(np.zeros((2, 3, 2, 1)))


def test_pickles_inside_a_pipeline():
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import Ridge

    X = np.random.default_rng(0).normal(size=(20, 3, 2))
    y = X[:, -1, 0]
    pipe = Pipeline([("flatten", WindowFlattener()), ("model", Ridge())]).fit(X, y)
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
