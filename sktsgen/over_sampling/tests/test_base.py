"""Sampling semantics of BaseWindowOverSampler, through RandomWindowOverSampler."""

from collections import Counter

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.over_sampling import BaseWindowOverSampler, RandomWindowOverSampler
from sktsgen.preprocessing import WindowFlattener
from sktsgen.utils._testing import imblearn_parametrize_with_checks

IMBLEARN_XFAIL = {
    "check_samplers_pandas_sparse": (
        "windows are dense arrays: sparse input (here a DataFrame of SparseDtype columns) is "
        "rejected with a TypeError by design, although the sparse tag is False imblearn runs "
        "this check for every sampler accepting DataFrames"
    ),
}


@parametrize_with_checks([RandomWindowOverSampler(random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks(
    [RandomWindowOverSampler(random_state=0)], expected_failed_checks=lambda est: IMBLEARN_XFAIL
)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def _windows(n=40, seq_len=5, d=3, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=(n, seq_len, d)).astype(dtype)


def _regression_target(n=40, n_rare=4, seed=0):
    y = np.random.default_rng(seed).uniform(0, 1, size=n)
    y[:n_rare] += 10.0  # the rare targets: y > 5
    return y


# -- classification ----------------------------------------------------------------------
def test_3d_classification_auto_balances_and_keeps_originals_first():
    X = _windows()
    y = np.array([0] * 30 + [1] * 7 + [2] * 3)
    X_copy = X.copy()
    sampler = RandomWindowOverSampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (90, 5, 3)
    assert Counter(y_res) == {0: 30, 1: 30, 2: 30}
    np.testing.assert_array_equal(X_res[:40], X)
    np.testing.assert_array_equal(y_res[:40], y)
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    np.testing.assert_array_equal(y_res, y[sampler.sample_indices_])
    np.testing.assert_array_equal(X, X_copy)  # input untouched
    assert sampler.task_ == "classification"
    assert sampler.sampling_strategy_ == {1: 23, 2: 27}
    assert (sampler.n_features_in_, sampler.seq_len_) == (3, 5)


@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not minority", "not majority", "all",
     {1: 12, 2: 9}, lambda y: {2: int((y == 2).sum()) * 3}],
)
def test_classification_strategies_match_imblearn_counts(strategy):
    X = _windows()
    y = np.array([0] * 30 + [1] * 7 + [2] * 3)
    _, y_res = RandomWindowOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(
        X, y)
    _, y_ref = RandomOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(
        X.reshape(40, -1), y)
    assert Counter(y_res) == Counter(y_ref)


def test_float_strategy_binary_and_rejected_for_multiclass():
    X = _windows()
    y = np.array([0] * 30 + [1] * 10)
    _, y_res = RandomWindowOverSampler(sampling_strategy=0.5).fit_resample(X, y)
    assert Counter(y_res) == {0: 30, 1: 15}
    with pytest.raises(ValueError, match="binary"):
        RandomWindowOverSampler(sampling_strategy=0.5).fit_resample(X, np.arange(40) % 3)


def test_string_labels_and_float32_list_input():
    X = _windows(n=6, dtype=np.float32)
    y = ["a", "a", "a", "a", "b", "b"]
    X_res, y_res = RandomWindowOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtype == np.float32 and X_res.shape == (8, 5, 3)
    assert list(y_res[6:]) == ["b", "b"]
    X_list, y_list = RandomWindowOverSampler(random_state=0).fit_resample(X.tolist(), y)
    assert isinstance(X_list, list)
    np.testing.assert_allclose(np.asarray(X_list), X_res)
    np.testing.assert_array_equal(y_list, y_res)


def test_2d_input_is_returned_2d():
    X = _windows(seq_len=1)[:, 0, :]
    y = np.array([0] * 30 + [1] * 10)
    X_res, _ = RandomWindowOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.shape == (60, 3)


# -- regression --------------------------------------------------------------------------
def test_regression_auto_balances_rare_and_frequent():
    X, y = _windows(), _regression_target()
    sampler = RandomWindowOverSampler(minority_threshold=5.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.task_ == "regression"
    assert sampler.sampling_strategy_ == {"rare": 32}
    assert X_res.shape == (72, 5, 3)
    assert (y_res > 5).sum() == (y_res <= 5).sum() == 36
    np.testing.assert_array_equal(y_res, y[sampler.sample_indices_])
    assert set(sampler.sample_indices_[40:]) <= {0, 1, 2, 3}


@pytest.mark.parametrize(
    "strategy, n_new", [(0.5, 14), (0.12, 0), ({"rare": 16}, 12)],
)
def test_regression_float_ratio_and_dict(strategy, n_new):
    X, y = _windows(), _regression_target()  # 4 rare, 36 frequent
    sampler = RandomWindowOverSampler(sampling_strategy=strategy, minority_threshold=5.0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.sampling_strategy_ == {"rare": n_new}
    assert X_res.shape[0] == 40 + n_new
    assert (y_res > 5).sum() == 4 + n_new


def test_regression_callable_threshold_and_float32_target():
    X, y = _windows(), _regression_target().astype(np.float32)
    y[10] = -20.0  # rare below: marked by the callable only

    sampler = RandomWindowOverSampler(
        minority_threshold=lambda t: np.abs(t) > 5, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert y_res.dtype == np.float32
    assert set(sampler.sample_indices_[40:]) <= {0, 1, 2, 3, 10}
    assert np.sum(np.abs(y_res) > 5) == np.sum(np.abs(y_res) <= 5)


@pytest.mark.parametrize(
    "params, y_change, match",
    [
        ({}, None, "minority_threshold"),
        ({"minority_threshold": 100.0}, None, "none of the 40 targets"),
        ({"minority_threshold": -1.0}, None, "all 40 targets"),
        ({"minority_threshold": 5.0, "sampling_strategy": "minority"}, None, "regression"),
        ({"minority_threshold": 5.0, "sampling_strategy": 0.05}, None, "cannot remove"),
        ({"minority_threshold": 5.0, "sampling_strategy": {"rare": 2}}, None, "cannot remove"),
        ({"minority_threshold": 5.0, "sampling_strategy": {1: 30}}, None, "'rare'"),
        ({}, "int_mask", "boolean mask"),
        ({"minority_threshold": float("nan")}, None, "finite"),
        ({"minority_threshold": True}, None, "finite number"),
        ({"minority_threshold": 5.0}, "strings", "could not convert|numeric"),
    ],
)
def test_regression_errors(params, y_change, match):
    X, y = _windows(), _regression_target()
    if y_change == "int_mask":
        params = {"minority_threshold": lambda t: (t > 5).astype(int)}
    elif y_change == "strings":
        y = np.array(["x"] * 40, dtype=object)
    with pytest.raises(ValueError, match=match):
        RandomWindowOverSampler(**params).fit_resample(X, y)


def test_fit_computes_strategy_without_resampling():
    X, y = _windows(), _regression_target()
    sampler = RandomWindowOverSampler(minority_threshold=5.0).fit(X, y)
    assert sampler.sampling_strategy_ == {"rare": 32}
    assert not hasattr(sampler, "sample_indices_")


def test_y_missing_or_inconsistent():
    X = _windows()
    with pytest.raises(ValueError, match="requires y"):
        RandomWindowOverSampler().fit_resample(X, None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        RandomWindowOverSampler(minority_threshold=0.5).fit_resample(X, np.ones(39))


# -- determinism and the hook contract ---------------------------------------------------
def test_same_random_state_same_output_and_different_seeds_differ():
    X, y = _windows(), _regression_target()
    runs = [
        RandomWindowOverSampler(minority_threshold=5.0, random_state=seed).fit_resample(X, y)
        for seed in (3, 3, 4)
    ]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


class _Recorder(BaseWindowOverSampler):
    """Records what the hooks receive; new windows are the source plus 1."""

    def __init__(self, *, sampling_strategy="auto", minority_threshold=None, random_state=None,
                 bad_output=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.bad_output = bad_output

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        self.seen_fit_ = (X.shape, X.dtype, None if rare_mask is None else rare_mask.copy(),
                          type(random_state))

    def _augment(self, X_source, y_source, random_state):
        self.seen_augment_ = (X_source.shape, X_source.dtype, y_source.copy())
        if self.bad_output == "shape":
            return X_source[:-1]
        if self.bad_output == "nan":
            return X_source * np.nan
        return (X_source + 1.0).astype(np.float64)


def test_hooks_get_all_windows_rare_mask_and_sources():
    X, y = _windows(dtype=np.float32), _regression_target()
    sampler = _Recorder(minority_threshold=5.0, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    shape, dtype, mask, rs_type = sampler.seen_fit_
    assert shape == (40, 5, 3) and dtype == np.float32 and rs_type is np.random.RandomState
    np.testing.assert_array_equal(mask, y > 5)
    src_shape, src_dtype, y_src = sampler.seen_augment_
    assert src_shape == (32, 5, 3) and src_dtype == np.float32
    assert np.all(y_src > 5)
    assert X_res.dtype == np.float32  # cast back from the float64 the hook returned
    np.testing.assert_allclose(X_res[40:], X[sampler.sample_indices_[40:]] + 1.0)

    sampler = _Recorder(random_state=0)
    sampler.fit_resample(X, np.array([0] * 30 + [1] * 10))
    assert sampler.seen_fit_[2] is None


@pytest.mark.parametrize("bad, match", [("shape", "returned shape"), ("nan", "non-finite")])
def test_bad_augment_output_is_reported(bad, match):
    X, y = _windows(), np.array([0] * 30 + [1] * 10)
    with pytest.raises(RuntimeError, match=match):
        _Recorder(bad_output=bad).fit_resample(X, y)


class _Midpoints(BaseWindowOverSampler):
    """``_augment_indices``: new windows and targets halfway to the next window."""

    def __init__(self, *, sampling_strategy="auto", minority_threshold=None, random_state=None,
                 bad_target=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.bad_target = bad_target

    def _augment_indices(self, X, y, source, random_state):
        other = (source + 1) % X.shape[0]
        y_new = (y[source] + y[other]) / 2
        if self.bad_target == "shape":
            y_new = y_new[:-1]
        elif self.bad_target == "nan":
            y_new = y_new * np.nan
        return (X[source] + X[other]) / 2, y_new


def test_augment_indices_hook_gives_new_windows_and_targets():
    X, y = _windows(), _regression_target()
    sampler = _Midpoints(minority_threshold=5.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    src = sampler.sample_indices_[40:]
    assert X_res.shape == (72, 5, 3) and set(src) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(X_res[40:], (X[src] + X[(src + 1) % 40]) / 2)
    np.testing.assert_array_equal(y_res[40:], (y[src] + y[(src + 1) % 40]) / 2)
    # The sources are drawn as for every sampler: the same as duplication's.
    duplication = RandomWindowOverSampler(minority_threshold=5.0, random_state=0)
    duplication.fit_resample(X, y)
    np.testing.assert_array_equal(sampler.sample_indices_, duplication.sample_indices_)


@pytest.mark.parametrize("bad, match", [("shape", "targets of shape"), ("nan", "non-finite targ")])
def test_bad_augment_indices_targets_are_reported(bad, match):
    with pytest.raises(RuntimeError, match=match):
        _Midpoints(minority_threshold=5.0, bad_target=bad).fit_resample(
            _windows(), _regression_target())


def test_a_sampler_without_augment_hook_says_what_to_implement():
    class _NoHook(BaseWindowOverSampler):
        pass

    with pytest.raises(NotImplementedError, match="_augment_indices"):
        _NoHook().fit_resample(_windows(), np.array([0] * 30 + [1] * 10))


# -- pipelines -------------------------------------------------------------------------
def test_pipeline_resamples_only_in_fit_and_grid_search_in_parallel():
    X, y = _windows(n=60), _regression_target(n=60, n_rare=6)
    pipe = Pipeline([
        ("sampler", RandomWindowOverSampler(minority_threshold=5.0, random_state=0)),
        ("flatten", WindowFlattener()),
        ("model", Ridge()),
    ])
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (60,)
    search = GridSearchCV(
        pipe,
        {"sampler__sampling_strategy": ["auto", 0.5], "model__alpha": [0.1, 10.0]},
        cv=KFold(3, shuffle=True, random_state=0), n_jobs=2,
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    assert search.predict(X).shape == (60,)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
