import numpy as np
import pytest

from sktsgen.datasets import make_sines


def _reference_loop(n_samples, seq_len, n_features, seed):
    # Scalar loop in the reference generator's draw order: window, feature, freq, phase.
    rng = np.random.RandomState(seed)
    out = np.empty((n_samples, seq_len, n_features))
    for i in range(n_samples):
        for k in range(n_features):
            freq = rng.uniform(0, 0.1)
            phase = rng.uniform(0, 0.1)
            out[i, :, k] = [np.sin(freq * j + phase) for j in range(seq_len)]
    return (out + 1) * 0.5


def test_shape_dtype_defaults():
    X = make_sines(random_state=0)
    assert X.shape == (10000, 24, 5)
    assert X.dtype == np.float64


def test_matches_reference_draw_order():
    X = make_sines(7, 11, 3, random_state=42)
    np.testing.assert_allclose(X, _reference_loop(7, 11, 3, 42), rtol=0, atol=1e-14)


def test_range_and_monotone_start():
    X = make_sines(500, 24, 5, random_state=1)
    # sin(f t + phi) with f, phi in [0, 0.1) and t <= 23 stays in [0, 2.4) -> (x+1)/2 in [0.5, 1].
    assert X.min() >= 0.5 and X.max() <= 1.0
    np.testing.assert_array_less(X[:, 0, :], 0.5 + 0.0500001)


def test_random_state_semantics():
    np.testing.assert_array_equal(make_sines(4, 5, 2, random_state=3),
                                  make_sines(4, 5, 2, random_state=3))
    assert not np.array_equal(make_sines(4, 5, 2, random_state=3),
                              make_sines(4, 5, 2, random_state=4))
    rs = np.random.RandomState(3)
    np.testing.assert_array_equal(make_sines(4, 5, 2, random_state=rs),
                                  make_sines(4, 5, 2, random_state=3))


def test_seeded_call_leaves_global_rng_untouched():
    # random_state=None follows sklearn and uses the global RandomState; seeds must not.
    np.random.seed(0)
    expected = np.random.random_sample()
    np.random.seed(0)
    make_sines(3, 4, 2, random_state=1)
    assert np.random.random_sample() == expected


@pytest.mark.parametrize("name", ["n_samples", "seq_len", "n_features"])
@pytest.mark.parametrize("value, exc", [(0, ValueError), (-2, ValueError), (2.5, TypeError),
                                        ("3", TypeError), (True, TypeError)])
def test_bad_arguments(name, value, exc):
    kwargs = {"n_samples": 2, "seq_len": 3, "n_features": 2, name: value}
    with pytest.raises(exc, match=name):
        make_sines(**kwargs)


def test_bad_random_state():
    with pytest.raises(ValueError, match="random_state|RandomState"):
        make_sines(2, 3, 2, random_state="seed")
