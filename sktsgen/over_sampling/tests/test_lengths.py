"""Every over-sampler on windows of unequal lengths (NaN padding at the end)."""

from collections import Counter

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline

from sktsgen.generation import AvatarGenerator
from sktsgen.models import GRUClassifier
from sktsgen.over_sampling import (
    BaseWindowOverSampler,
    GenerativeWindowOverSampler,
    JitterOverSampler,
    LatentAdversarialSampler,
    MagnitudeWarpingOverSampler,
    RandomWindowOverSampler,
    TimeWarpingOverSampler,
    TranslationOverSampler,
    WindowSMOTE,
    WindowWarpingOverSampler,
)
from sktsgen.utils import pad_windows, window_lengths
from sktsgen.utils._lengths import fill_padding

LATENT = {"latent_dim": 8, "n_iter": 2, "predictor_n_iter": 2, "batch_size": 16,
          "noise_dim": 4, "rank": 3}

SAMPLERS = [
    RandomWindowOverSampler(),
    WindowSMOTE(k_neighbors=3),
    JitterOverSampler(),
    TranslationOverSampler(),
    MagnitudeWarpingOverSampler(),
    TimeWarpingOverSampler(),
    WindowWarpingOverSampler(),
    LatentAdversarialSampler(**LATENT),
    GenerativeWindowOverSampler(
        generator=AvatarGenerator(n_iter=2, hidden_size=4, num_layers=1, batch_size=8)),
]


def _ids(sampler):
    return type(sampler).__name__


def _ragged(n=40, d=2, low=2, high=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(2.0 + rng.normal(size=(rng.integers(low, high + 1), d))).astype(dtype)
            for _ in range(n)]


def test_every_sampler_is_listed():
    def leaves(cls):
        subs = cls.__subclasses__()
        return {c for s in subs for c in leaves(s)} | {s for s in subs if not s.__subclasses__()}

    import sktsgen.over_sampling as mod

    public = {getattr(mod, name) for name in mod.__all__} & leaves(BaseWindowOverSampler)
    assert public <= {type(s) for s in SAMPLERS}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sampler", SAMPLERS, ids=_ids)
def test_new_windows_take_their_sources_lengths_and_originals_come_back(sampler, dtype):
    X = pad_windows(_ragged(dtype=dtype))
    X.setflags(write=False)  # inputs are not modified in place
    y = np.array([0] * 30 + [1] * 10)
    lengths = window_lengths(X)
    assert len(set(lengths)) > 3
    X_res, y_res = sampler.set_params(random_state=0).fit_resample(X, y)
    assert X_res.dtype == dtype and X_res.shape == (60, X.shape[1], 2)
    assert Counter(y_res) == {0: 30, 1: 30}
    np.testing.assert_array_equal(X_res[:40], X)  # NaN padding included
    source = sampler.sample_indices_[40:]
    np.testing.assert_array_equal(window_lengths(X_res[40:]), lengths[source])
    own = np.arange(X.shape[1])[None, :] < lengths[source][:, None]
    assert np.isfinite(X_res[40:][own]).all()
    assert np.isnan(X_res[40:][~own]).all()


@pytest.mark.parametrize("sampler", SAMPLERS[:2], ids=_ids)
def test_ragged_list_in_padded_array_out(sampler):
    windows = _ragged()
    y = [0] * 30 + [1] * 10
    X_res, y_res = sampler.set_params(random_state=0).fit_resample(windows, y)
    assert isinstance(X_res, np.ndarray) and X_res.shape == (60, 8, 2)
    assert sampler.seq_len_ == 8 and len(y_res) == 60
    np.testing.assert_array_equal(X_res[:40], pad_windows(windows))


def test_random_copies_are_exact_copies_of_padded_sources():
    X = pad_windows(_ragged())
    y = [0] * 30 + [1] * 10
    sampler = RandomWindowOverSampler(random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])


def test_smote_interpolates_the_filled_windows_on_the_sources_steps():
    X = pad_windows(_ragged())
    y = np.array([0] * 30 + [1] * 10)
    sampler = WindowSMOTE(k_neighbors=3, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    lengths = window_lengths(X)
    filled = fill_padding(X, lengths)
    for new, i in zip(X_res[40:], sampler.sample_indices_[40:]):
        n = lengths[i]
        # On its source's steps, the new window lies on a segment from its source to another
        # class-1 window whose padding repeats its last step.
        found = False
        for j in range(30, 40):
            d, r = (filled[j] - filled[i])[:n], new[:n] - filled[i][:n]
            u = (r * d).sum() / max((d * d).sum(), 1e-300)
            found |= j != i and -1e-9 <= u <= 1 + 1e-9 and np.allclose(r, u * d)
        assert found


def test_complete_windows_resample_as_before():
    # Without padding the hooks get X itself: same windows as with a copy of X.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2))
    y = [0] * 30 + [1] * 10
    a = WindowSMOTE(random_state=0).fit_resample(X, y)[0]
    b = WindowSMOTE(random_state=0).fit_resample(X.copy(), y)[0]
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()


def test_regression_on_padded_windows():
    X = pad_windows(_ragged())
    y = np.nanmean(X[:, :, 0], axis=1)
    t = float(np.quantile(y, 0.8))
    sampler = WindowSMOTE(k_neighbors=3, minority_threshold=t, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert (y_res[40:] > t).all()
    np.testing.assert_array_equal(window_lengths(X_res),
                                  window_lengths(X)[sampler.sample_indices_])


def test_padding_with_missing_values_when_allowed():
    X = pad_windows(_ragged())
    X[3, 0, 1] = np.nan  # a missing value inside window 3
    y = np.array([0] * 30 + [1] * 10)
    y[3] = 1
    sampler = LatentAdversarialSampler(**LATENT, allow_nan=True, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[:40], X)
    source = sampler.sample_indices_[40:]
    np.testing.assert_array_equal(window_lengths(X_res[40:]), window_lengths(X)[source])
    own = np.arange(X.shape[1])[None, :] < window_lengths(X)[source][:, None]
    assert np.isfinite(X_res[40:][own]).all()
    # Without allow_nan the missing value is an error, the padding is not.
    with pytest.raises(ValueError, match="NaN inside window 3"):
        RandomWindowOverSampler().fit_resample(X, y)


def test_empty_window_is_an_error():
    X = pad_windows(_ragged())
    X[5] = np.nan
    with pytest.raises(ValueError, match="Window 5 of X is empty"):
        RandomWindowOverSampler().fit_resample(X, [0] * 30 + [1] * 10)


@pytest.mark.parametrize("padded", [False, True], ids=["ragged_list", "padded_array"])
def test_pipeline_smote_then_gru_classifier(padded):
    windows = _ragged(n=60, dtype=np.float32)
    y = np.array(["a"] * 45 + ["b"] * 15)
    X = pad_windows(windows) if padded else windows
    pipe = make_pipeline(WindowSMOTE(random_state=0),
                         GRUClassifier(max_iter=2, hidden_size=4, random_state=0))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (60,)
    assert set(pipe.predict(windows[:7])) <= {"a", "b"}
    assert 0.0 <= pipe.score(X, y) <= 1.0
