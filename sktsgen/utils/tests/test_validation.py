import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from sktsgen.utils import check_n_samples, check_target, check_windows, validate_windows

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(6, 5, 3))


class Dummy(BaseEstimator):
    """Minimal estimator: fit records the validated shape."""

    def fit(self, X, y=None):
        validate_windows(self, X, reset=True)
        return self


def _with(value, index=(0, 0, 0)):
    X = X3.copy()
    X[index] = value
    return X


# --- check_windows ------------------------------------------------------------------------

def test_2d_read_as_length_one_windows():
    out = check_windows(X3[:, 0, :])
    assert out.shape == (6, 1, 3)
    np.testing.assert_array_equal(out[:, 0, :], X3[:, 0, :])


@pytest.mark.parametrize("dtype, expected", [
    (np.float64, np.float64), (np.float32, np.float32), (np.int64, np.float64),
    (np.int32, np.float64), (bool, np.float64), (np.float16, np.float64),
])
def test_dtypes(dtype, expected):
    out = check_windows(np.ones((2, 3, 4), dtype=dtype))
    assert out.dtype == expected and out.shape == (2, 3, 4)


def test_nested_lists_become_float64():
    out = check_windows([[[1, 2]], [[3, 4]]])
    assert out.dtype == np.float64 and out.shape == (2, 1, 2)


@pytest.mark.parametrize("bad, pattern", [
    (_with(np.nan), "X_real contains NaN"),
    (_with(np.inf), "X_real contains infinity"),
    (_with(-np.inf), "X_real contains infinity"),
    (np.ones(3), "X_real.*1 dimension"),
    (np.ones((2, 2, 2, 2)), "X_real.*4 dimension"),
    (np.ones((2, 0, 3)), "X_real has shape"),
    (np.ones((2, 3, 0)), "X_real has shape"),
])
def test_rejected_with_input_name(bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_windows(bad, input_name="X_real")


def test_sparse_rejected():
    with pytest.raises(TypeError, match="X_real.*sparse"):
        check_windows(sp.csr_matrix(np.ones((3, 2))), input_name="X_real")


def test_2d_rejected_when_not_allowed():
    with pytest.raises(ValueError, match="Expected 3-D array for X_real"):
        check_windows(X3[:, 0, :], allow_2d=False, input_name="X_real")


# docs/windows.md promises a message that names the input, also where sklearn's does not.
@pytest.mark.parametrize("bad", [
    pytest.param(np.empty((0, 5, 3)), id="empty-3d"),
    pytest.param(np.empty((2, 0)), id="empty-2d-features"),
    pytest.param(np.array([[["a", "b"]]], dtype=object), id="object-strings"),
    pytest.param(np.ones((2, 3, 2), dtype=complex), id="complex"),
])
def test_rejected_message_names_input(bad):
    with pytest.raises(ValueError, match="X_real"):
        check_windows(bad, input_name="X_real")


@pytest.mark.parametrize("bad", [
    np.empty((0, 5, 3)), np.empty((2, 0)), np.array([[["a", "b"]]], dtype=object),
    np.ones((2, 3, 2), dtype=complex),
])
def test_rejected(bad):
    with pytest.raises(ValueError):
        check_windows(bad, input_name="X_real")


def test_ensure_min_samples():
    check_windows(np.ones((2, 2, 2)), ensure_min_samples=2)
    with pytest.raises(ValueError, match="minimum of 2"):
        check_windows(np.ones((1, 2, 2)), ensure_min_samples=2)


def test_copy_semantics_and_no_in_place_change():
    X = X3.copy()
    out = check_windows(X, copy=True)
    assert not np.shares_memory(out, X)
    out[:] = 0
    np.testing.assert_array_equal(X, X3)
    ints = np.arange(12).reshape(2, 3, 2)
    out = check_windows(ints)
    assert out.dtype == np.float64 and ints.dtype == np.int64
    np.testing.assert_array_equal(ints, np.arange(12).reshape(2, 3, 2))


# --- validate_windows ---------------------------------------------------------------------

def test_validate_sets_attributes_3d():
    est = Dummy().fit(X3)
    assert est.n_features_in_ == 3 and est.seq_len_ == 5
    out = validate_windows(est, X3[:2], reset=False)
    assert out.shape == (2, 5, 3)


def test_validate_2d_and_feature_names():
    df = pd.DataFrame(X3[:, 0, :], columns=["a", "b", "c"])
    est = Dummy().fit(df)
    assert est.n_features_in_ == 3 and est.seq_len_ == 1
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="feature names"):
        validate_windows(est, df[["b", "a", "c"]], reset=False)


@pytest.mark.parametrize("X_new, pattern", [
    (RNG.normal(size=(2, 5, 4)), "4 features.*expecting 3"),
    (RNG.normal(size=(2, 6, 3)), "seq_len=6.*seq_len=5"),
    (RNG.normal(size=(2, 3)), "seq_len=1.*seq_len=5"),
])
def test_validate_mismatch_at_reset_false(X_new, pattern):
    est = Dummy().fit(X3)
    with pytest.raises(ValueError, match=pattern):
        validate_windows(est, X_new, reset=False)


def test_validate_2d_mismatch_features():
    est = Dummy().fit(X3[:, 0, :])
    with pytest.raises(ValueError, match="2 features"):
        validate_windows(est, RNG.normal(size=(4, 2)), reset=False)


def test_validate_unfitted():
    with pytest.raises(NotFittedError):
        validate_windows(Dummy(), X3, reset=False)


def test_validate_float32_kept_and_not_modified():
    X = X3.astype(np.float32)
    before = X.copy()
    out = validate_windows(Dummy(), X, reset=True)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("bad, exc, pattern", [
    (_with(np.nan), ValueError, "NaN"),
    (np.ones((2, 2, 2, 2)), ValueError, "4 dimension"),
    (np.ones(4), ValueError, "1 dimension"),
    (sp.csr_matrix(np.ones((3, 2))), TypeError, "sparse"),
])
def test_validate_rejects(bad, exc, pattern):
    with pytest.raises(exc, match=pattern):
        validate_windows(Dummy(), bad, reset=True)


def test_validate_with_y():
    X, y = validate_windows(Dummy(), X3, reset=True, y=np.arange(6))
    assert X.shape == (6, 5, 3) and y.shape == (6,)
    _, y = validate_windows(Dummy(), X3, reset=True, y=np.arange(6.0)[:, None])
    assert y.shape == (6,)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        validate_windows(Dummy(), X3, reset=True, y=np.arange(5))
    _, labels = validate_windows(Dummy(), X3, reset=True, y=list("aabbcc"), dtype=None)
    assert labels.tolist() == list("aabbcc")


# --- check_target / check_n_samples -------------------------------------------------------

@pytest.mark.parametrize("y, pattern", [
    (None, "y is required"), (np.ones((3, 2)), "1-D"), (np.array([1.0, np.nan, 2.0]), "NaN"),
])
def test_check_target_errors(y, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_target(y, n_samples=3)


@pytest.mark.parametrize("value, exc", [(0, ValueError), (-1, ValueError), (1.0, TypeError),
                                        (True, TypeError), ("2", TypeError)])
def test_check_n_samples_errors(value, exc):
    with pytest.raises(exc, match="n_draws"):
        check_n_samples(value, name="n_draws")


def test_check_n_samples_ok():
    assert check_n_samples(np.int64(3)) == 3 and type(check_n_samples(np.int64(3))) is int


# -- 2-D input that is probably one long series --------------------------------------------
def _fitters():
    from sktsgen.generation import AvatarGenerator
    from sktsgen.over_sampling import LatentAdversarialSampler, RandomWindowOverSampler

    y = np.r_[np.zeros(15, int), np.ones(5, int)]
    tiny = {"latent_dim": 4, "n_iter": 1, "predictor_n_iter": 1, "batch_size": 4}
    return [
        ("AvatarGenerator", lambda X: AvatarGenerator(n_iter=1, hidden_size=2).fit(X)),
        ("RandomWindowOverSampler", lambda X: RandomWindowOverSampler().fit_resample(X, y)),
        ("LatentAdversarialSampler", lambda X: LatentAdversarialSampler(
            **tiny, minority_threshold=0.5, random_state=0).fit_resample(X, y + 0.1)),
    ]


@pytest.mark.parametrize("name, fit", _fitters(), ids=lambda v: v if isinstance(v, str) else "")
def test_generators_and_samplers_warn_on_2d_input(name, fit):
    X = RNG.normal(size=(20, 3))
    with pytest.warns(UserWarning, match=rf"{name} got 2-D X.*sktsgen\.utils\.sliding_windows"):
        fit(X)
    with pytest.warns(UserWarning, match="sliding_windows"):
        fit(pd.DataFrame(X, columns=["a", "b", "c"]))


@pytest.mark.parametrize("name, fit", _fitters(), ids=lambda v: v if isinstance(v, str) else "")
def test_3d_length_one_windows_fit_without_warning(name, fit, recwarn):
    fit(RNG.normal(size=(20, 1, 3)))
    assert not [w for w in recwarn if "sliding_windows" in str(w.message)]


def test_the_warning_points_at_the_callers_line():
    from sktsgen.over_sampling import RandomWindowOverSampler

    with pytest.warns(UserWarning, match="sliding_windows") as record:
        RandomWindowOverSampler().fit_resample(RNG.normal(size=(8, 2)), [0] * 6 + [1] * 2)
    assert record[0].filename == __file__


def test_other_estimators_read_2d_input_silently(recwarn):
    Dummy().fit(RNG.normal(size=(8, 2)))
    assert not [w for w in recwarn if "sliding_windows" in str(w.message)]
