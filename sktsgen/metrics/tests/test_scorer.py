"""repeat_metric summaries and the generation scorers inside GridSearchCV."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state

from sktsgen.metrics import (
    GenerationScorer,
    correlational_score,
    discriminative_scorer,
    make_generation_scorer,
    mmd,
    predictive_scorer,
    repeat_metric,
)


class GaussianWindows(BaseEstimator):
    """Toy generator: independent Gaussian values with the per-position mean and std of X,
    the std multiplied by ``scale``."""

    def __init__(self, *, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.mean_, self.std_ = X.mean(axis=0), X.std(axis=0)
        return self

    def sample(self, n_samples, random_state=None):
        noise = check_random_state(random_state).normal(size=(n_samples, *self.mean_.shape))
        return self.mean_ + self.scale * self.std_ * noise


class TupleSampler(GaussianWindows):
    """``sample(n)`` without ``random_state``, returning ``(X, y)`` like GaussianMixture."""

    def sample(self, n_samples):
        return super().sample(n_samples, random_state=0), np.zeros(n_samples)


class SeedEcho:
    """A "metric" returning a number fixed by its seed, and counting its calls."""

    def __init__(self):
        self.seeds = []

    def __call__(self, X_real, X_synth, *, random_state=None, offset=0.0):
        self.seeds.append(random_state)
        return random_state % 1000 / 1000 + offset


class FixedScores:
    """A "metric" returning the given scores in turn (no random_state)."""

    def __init__(self, scores):
        self.scores = list(scores)

    def __call__(self, X_real, X_synth):
        return self.scores.pop(0)


@pytest.fixture(scope="module")
def windows():
    rng = np.random.RandomState(0)
    return rng.normal(size=(120, 6, 2)) * [1.0, 3.0] + [0.0, 2.0]


def test_repeat_metric_summary(windows):
    echo = SeedEcho()
    result = repeat_metric(echo, windows, windows, n_repeats=4, random_state=0, offset=1.0)
    assert len(echo.seeds) == 4 and len(set(echo.seeds)) == 4
    np.testing.assert_array_equal(result.seeds, echo.seeds)
    np.testing.assert_allclose(result.scores, np.array(echo.seeds) % 1000 / 1000 + 1.0)
    assert result.mean == pytest.approx(result.scores.mean())
    assert result.std == pytest.approx(result.scores.std())
    assert result.median == pytest.approx(np.median(result.scores))
    assert result.n_dropped == 0 and result.kept.all() and result.outlier_rule is None
    again = repeat_metric(SeedEcho(), windows, windows, n_repeats=4, random_state=0, offset=1.0)
    np.testing.assert_array_equal(again.scores, result.scores)


def test_repeat_metric_drops_high_outliers_only():
    X = np.zeros((4, 3, 2))
    scores = [0.10, 0.12, 0.11, 0.0, 0.13, 0.9]
    result = repeat_metric(FixedScores(scores), X, X, n_repeats=6, drop_outliers=True)
    q1, q3 = np.percentile(scores, [25, 75])
    assert 0.9 > q3 + 1.5 * (q3 - q1)
    np.testing.assert_array_equal(result.kept, [True, True, True, True, True, False])
    assert result.n_dropped == 1 and "Q3 + 1.5 * IQR" in result.outlier_rule
    assert result.mean == pytest.approx(np.mean(scores[:5]))
    assert result.std == pytest.approx(np.std(scores[:5]))
    assert result.median == pytest.approx(np.median(scores))  # over all runs
    assert result.seeds.tolist() == [None] * 6


def test_repeat_metric_by_name_and_errors(windows):
    result = repeat_metric("mmd", windows, windows + 0.5, n_repeats=2, max_samples=50,
                           random_state=0)
    assert result.scores[0] == mmd(windows, windows + 0.5, max_samples=50,
                                   random_state=int(result.seeds[0]))
    with pytest.raises(ValueError, match="metric must be one of"):
        repeat_metric("fid", windows, windows)
    with pytest.raises(ValueError, match="n_repeats"):
        repeat_metric("mmd", windows, windows, n_repeats=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        repeat_metric("mmd", windows, windows, n_repeats=1, n_iter=5)


def test_scorer_draws_len_X_and_negates(windows):
    gen = GaussianWindows().fit(windows)
    scorer = make_generation_scorer("mmd", random_state=0)
    value = scorer(gen, windows[:80])
    rng = np.random.RandomState(0)
    sample_seed, metric_seed = rng.randint(0, 2**31 - 1, size=2)
    expected = mmd(windows[:80], gen.sample(80, random_state=int(sample_seed)),
                   random_state=int(metric_seed))
    assert value == -expected
    assert scorer(gen, windows[:80], None) == value  # reproducible with an int seed
    assert make_generation_scorer(SeedEcho(), greater_is_better=True,
                                  random_state=0)(gen, windows) > 0


def test_scorer_with_sample_without_random_state_returning_a_tuple(windows):
    gen = TupleSampler().fit(windows)
    score = make_generation_scorer("correlational")(gen, windows)
    assert score == -correlational_score(windows, gen.sample(len(windows))[0])


def test_scorer_in_grid_search_picks_the_right_scale(windows):
    search = GridSearchCV(GaussianWindows(), {"scale": [0.2, 1.0, 3.0]}, cv=2, n_jobs=2,
                          scoring=make_generation_scorer("mmd", random_state=0))
    search.fit(windows)
    assert search.best_params_ == {"scale": 1.0}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_discriminative_scorer_in_grid_search(windows):
    scorer = make_generation_scorer("discriminative", n_iter=150, random_state=0)
    search = GridSearchCV(GaussianWindows(), {"scale": [0.0, 1.0]}, cv=2, scoring=scorer)
    search.fit(windows)
    # Constant windows (scale 0) are trivially told apart from the real ones.
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] < -0.3 and scores[1] > scores[0]


def test_scorers_pickle_and_describe_themselves():
    for scorer in (discriminative_scorer, predictive_scorer,
                   make_generation_scorer("autocorrelation", max_lag=3)):
        clone = pickle.loads(pickle.dumps(scorer))
        assert isinstance(clone, GenerationScorer) and repr(clone) == repr(scorer)
    assert repr(discriminative_scorer) == (
        "make_generation_scorer('discriminative', n_iter=2000, random_state=0)")
    assert repr(predictive_scorer) == (
        "make_generation_scorer('predictive', n_iter=5000, random_state=0)")


def test_scorer_errors(windows):
    with pytest.raises(ValueError, match="metric must be one of"):
        make_generation_scorer("accuracy")
    with pytest.raises(TypeError, match="greater_is_better"):
        make_generation_scorer("mmd", greater_is_better="yes")
    with pytest.raises(ValueError, match="lower-is-better"):
        make_generation_scorer("mmd", greater_is_better=True)
    with pytest.raises(TypeError, match="no sample"):
        make_generation_scorer("mmd")(object(), windows)
