"""GenerativeWindowOverSampler: estimator contract, both tasks, the generator protocol."""

import pickle
from collections import Counter

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import sktsgen.generation
from sktsgen.generation import AvatarGenerator
from sktsgen.over_sampling import GenerativeWindowOverSampler, RandomWindowOverSampler
from sktsgen.preprocessing import WindowFlattener
from sktsgen.utils._testing import imblearn_parametrize_with_checks

from .test_base import IMBLEARN_XFAIL

TINY = {"n_iter": 2, "hidden_size": 4, "num_layers": 1, "batch_size": 8}


def _sampler(**kw):
    return GenerativeWindowOverSampler(
        **{"generator": AvatarGenerator(**TINY), "random_state": 0, **kw})


@parametrize_with_checks([_sampler()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks([_sampler()],
                                  expected_failed_checks=lambda est: IMBLEARN_XFAIL)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def _windows(n=40, seq_len=6, d=2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (3.0 + rng.normal(size=(n, seq_len, d))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classification_balances_with_generated_windows_of_each_class(dtype):
    X = _windows(dtype=dtype)
    y = np.array(["a"] * 30 + ["b"] * 6 + ["c"] * 4)
    sampler = _sampler()
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.dtype == dtype
    assert Counter(y_res) == {"a": 30, "b": 30, "c": 30}
    np.testing.assert_array_equal(X_res[:40], X)  # the originals first, unchanged
    new = sampler.sample_indices_[40:]
    np.testing.assert_array_equal(y[new], y_res[40:])  # the source's label
    assert sampler.generator_.target_type_ == "classes"
    assert not any(np.array_equal(w, X[i]) for w, i in zip(X_res[40:], new))


def test_float_class_labels_are_read_as_classes():
    X, y = _windows(), np.r_[np.zeros(32), np.ones(8)]
    sampler = _sampler()
    _, y_res = sampler.fit_resample(X, y)
    assert sampler.generator_.target_type_ == "classes"
    assert Counter(y_res) == {0.0: 32, 1.0: 32}


def test_regression_generates_for_the_rare_targets():
    X = _windows()
    y = np.linspace(0.0, 1.0, 40)
    sampler = _sampler(minority_threshold=0.85, sampling_strategy={"rare": 24})
    _X_res, y_res = sampler.fit_resample(X, y)
    rare = y > 0.85
    assert (y_res > 0.85).sum() == 24 and len(y_res) == 40 + 24 - rare.sum()
    assert sampler.generator_.target_type_ == "continuous"
    np.testing.assert_array_equal(y_res[40:], y[sampler.sample_indices_[40:]])
    assert set(sampler.sample_indices_[40:]) <= set(np.flatnonzero(rare))


def test_same_random_state_same_output_and_the_generator_is_seeded_from_it():
    X, y = _windows(), np.r_[np.zeros(32, int), np.ones(8, int)]
    a = _sampler(random_state=5).fit_resample(X, y)[0]
    b = _sampler(random_state=5).fit_resample(X, y)[0]
    c = _sampler(random_state=6).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[40:], c[40:])
    # A generator with its own random_state keeps it.
    own = _sampler(generator=AvatarGenerator(**TINY, random_state=11), random_state=5)
    own.fit_resample(X, y)
    assert own.generator_.random_state == 11
    assert own.generator.random_state == 11 and not hasattr(own.generator, "module_")


def test_default_generator_is_an_avatar_generator(monkeypatch):
    class Quick(AvatarGenerator):
        def __init__(self, **kw):
            super().__init__(**{**TINY, **kw})

    monkeypatch.setattr(sktsgen.generation, "AvatarGenerator", Quick)
    sampler = GenerativeWindowOverSampler(random_state=0)
    assert sampler.get_params()["generator"] is None
    sampler.fit_resample(_windows(), np.r_[np.zeros(32, int), np.ones(8, int)])
    assert type(sampler.generator_) is Quick


class MeanGenerator(BaseEstimator):
    """A minimal conditional generator: the class mean of the windows, exactly."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def sample(self, n_samples, random_state=None, *, y):
        return self.means_[np.searchsorted(self.classes_, y)]


def test_any_estimator_with_fit_and_sample_can_generate():
    X, y = _windows(), np.r_[np.zeros(32, int), np.ones(8, int)]
    X_res, _y_res = GenerativeWindowOverSampler(generator=MeanGenerator()).fit_resample(X, y)
    np.testing.assert_allclose(X_res[40:], np.broadcast_to(X[32:].mean(axis=0), (24, 6, 2)))


def test_a_generator_without_sample_is_rejected_by_name():
    with pytest.raises(ValueError, match="'generator' parameter"):
        GenerativeWindowOverSampler(generator=LogisticRegression()).fit_resample(
            _windows(), np.r_[np.zeros(32, int), np.ones(8, int)])


def test_same_counts_and_sources_as_duplication():
    # The base draws the sources: the same as duplication's for the same random_state.
    X, y = _windows(), np.array(["a"] * 30 + ["b"] * 6 + ["c"] * 4)
    gen, dup = _sampler(random_state=3), RandomWindowOverSampler(random_state=3)
    _, y_gen = gen.fit_resample(X, y)
    _, y_dup = dup.fit_resample(X, y)
    np.testing.assert_array_equal(y_gen, y_dup)
    assert gen.sampling_strategy_ == dup.sampling_strategy_


def test_pickle_round_trip_keeps_the_fitted_generator():
    X, y = _windows(), np.r_[np.zeros(32, int), np.ones(8, int)]
    sampler = _sampler()
    sampler.fit_resample(X, y)
    back = pickle.loads(pickle.dumps(sampler))
    np.testing.assert_array_equal(back.generator_.sample(5, random_state=0, y=1),
                                  sampler.generator_.sample(5, random_state=0, y=1))


def test_pipeline_and_grid_search_over_the_generator_in_parallel():
    X, y = _windows(n=60), np.r_[np.zeros(45, int), np.ones(15, int)]
    X[45:] += 1.0
    pipe = Pipeline([("sampler", _sampler()), ("flatten", WindowFlattener()),
                     ("model", LogisticRegression())])
    search = GridSearchCV(pipe, {"sampler__generator__n_iter": [1, 2]},
                          cv=StratifiedKFold(2), n_jobs=2, scoring="balanced_accuracy")
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert search.predict(X[:3]).shape == (3,)
