"""AvatarGenerator on windows of unequal lengths (NaN padding after each window's end)."""

import io

import numpy as np
import pytest

from sktsgen.datasets import load_ts, make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.generation._avatar import lengths_from_channel
from sktsgen.utils import pad_windows, unpad_windows, window_lengths

TINY = {"n_iter": 3, "hidden_size": 4, "num_layers": 1, "batch_size": 16,
        "code_mixture_components": 2, "random_state": 0}


def tiny(**kw):
    return AvatarGenerator(**{**TINY, **kw})


@pytest.fixture(scope="module")
def windows():
    """60 sine windows of 3 to 9 steps; the long ones (class "b") have 7 to 9 steps."""
    full = make_sines(60, seq_len=9, n_features=2, random_state=0) * 10.0 + 5.0
    lengths = np.r_[np.random.default_rng(0).integers(3, 7, size=30),
                    np.random.default_rng(1).integers(7, 10, size=30)]
    return [full[i, :n] for i, n in enumerate(lengths)], np.repeat(["a", "b"], 30)


@pytest.fixture(scope="module")
def fitted(windows):
    return tiny().fit(windows[0])


def test_list_and_padded_array_give_the_same_model(windows, fitted):
    X = pad_windows(windows[0])
    before = X.copy()
    other = tiny().fit(X)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(fitted.sample(20, random_state=1),
                                  other.sample(20, random_state=1))
    assert fitted.seq_len_ == 9
    lengths = [len(w) for w in windows[0]]
    np.testing.assert_array_equal(fitted.length_counts_, np.bincount(lengths, minlength=10)[1:])


def test_padding_values_do_not_matter(windows):
    """The padding is masked: what fills it before scaling cannot change the model, so a
    window padded with NaN trains exactly like the same window cut short."""
    X = pad_windows(windows[0])
    a = tiny().fit(X)
    b = tiny().fit(unpad_windows(X))
    np.testing.assert_array_equal(a.sample(10, random_state=0), b.sample(10, random_state=0))


def test_samples_are_padded_after_the_length_they_were_generated_with(fitted):
    S = fitted.sample(500, random_state=0)
    lengths = window_lengths(S)
    assert lengths.min() >= 1 and lengths.max() <= 9
    # NaN exactly on the padding, every channel; finite before it
    steps = np.arange(S.shape[1])[None, :]
    np.testing.assert_array_equal(np.isnan(S).all(axis=2), steps >= lengths[:, None])
    assert np.isfinite(S[steps < lengths[:, None]]).all()
    # the same codes decoded to full length: the own steps are the same values
    full = fitted.sample(500, random_state=0, lengths=9)
    own = steps < lengths[:, None]
    np.testing.assert_array_equal(S[own], full[own])


def test_lengths_from_channel():
    channel = np.array([[1.0, 1.0, 0.9, 0.2, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                        [1.2, 1.1, 1.0, 1.0, 0.7]])
    np.testing.assert_array_equal(lengths_from_channel(channel), [3, 1, 5])


def test_lengths_are_learned_with_the_content(windows):
    """Where a window ends is learned with what it holds: given the class, the windows of
    the long class come out longer, and the lengths spread like the training ones."""
    X, y = windows
    gen = tiny(n_iter=300).fit(X, y)
    short = window_lengths(gen.sample(300, y="a", random_state=0))
    long = window_lengths(gen.sample(300, y="b", random_state=0))
    assert long.mean() > short.mean() + 1.5
    real = np.array([len(w) for w in X])
    sampled = window_lengths(gen.sample(1000, random_state=0))
    assert abs(sampled.mean() - real.mean()) < 1.0
    assert sampled.std() > 0.5 * real.std()


def test_lengths_given(fitted):
    S = fitted.sample(4, random_state=0, lengths=[1, 9, 2, 5])
    np.testing.assert_array_equal(window_lengths(S), [1, 9, 2, 5])
    np.testing.assert_array_equal(window_lengths(fitted.sample(3, lengths=4)), [4, 4, 4])
    # the codes do not depend on the lengths: only the padding differs
    full = fitted.sample(4, random_state=0, lengths=9)
    np.testing.assert_array_equal(S[1], full[1])
    with pytest.raises(ValueError, match="between 1 and seq_len=9"):
        fitted.sample(2, lengths=[0, 3])
    with pytest.raises(ValueError, match="one entry per window"):
        fitted.sample(2, lengths=[3, 3, 3])
    with pytest.raises(TypeError, match="lengths must be an int"):
        fitted.sample(2, lengths=2.5)


def test_complete_windows_sample_complete_windows():
    X = make_sines(40, seq_len=6, n_features=2, random_state=0)
    gen = tiny().fit(X)
    assert gen.length_counts_ is None
    assert np.isfinite(gen.sample(50, random_state=0)).all()
    cut = gen.sample(5, random_state=0, lengths=[1, 2, 3, 4, 6])
    np.testing.assert_array_equal(window_lengths(cut), [1, 2, 3, 4, 6])


def test_streaming_paths_pad_the_same_windows(fitted, tmp_path):
    fitted._chunk_size = 64  # several chunks, and blocks of whole chunks for the memmap
    try:
        expected = fitted.sample(700, random_state=3)
        chunks = list(fitted.sample_iter(700, chunk_size=250, random_state=3))
        out = np.lib.format.open_memmap(tmp_path / "s.npy", mode="w+",
                                        dtype=expected.dtype, shape=expected.shape)
        fitted.sample(700, random_state=3, out=out)
    finally:
        del fitted._chunk_size
    assert np.isnan(expected).any()
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected)


def test_transform_and_inverse_transform_keep_the_padding(fitted, windows):
    X = windows[0]
    H = fitted.transform(X)
    lengths = np.array([len(w) for w in X])
    np.testing.assert_array_equal(window_lengths(H), lengths)
    back = fitted.inverse_transform(H)
    np.testing.assert_array_equal(window_lengths(back), lengths)
    # the codes of a window's own steps do not depend on its padding (causal encoder)
    np.testing.assert_allclose(fitted.transform(X[:1])[0, :len(X[0])], H[0, :len(X[0])],
                               rtol=1e-6)
    H_bad = H.copy()
    H_bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN on a window's own steps"):
        fitted.inverse_transform(H_bad)


def test_float32_and_errors(windows):
    X32 = [w.astype(np.float32) for w in windows[0]]
    gen = tiny().fit(X32)
    assert gen.sample(3).dtype == np.float32
    X = pad_windows(windows[0])
    X[0, 0, 0] = np.nan  # a missing value, not padding
    with pytest.raises(ValueError, match=r"NaN inside window 0.*allow_nan=True"):
        tiny().fit(X)
    tiny(allow_nan=True).fit(X)
    X[1] = np.nan
    with pytest.raises(ValueError, match="Window 1 of X is empty"):
        tiny(allow_nan=True).fit(X)
    with pytest.raises(ValueError, match="missing or padded entries"):
        tiny(early_stopping=True).fit(windows[0])


def test_fits_a_ts_file_of_unequal_lengths():
    text = "@dimensions 2\n@equalLength false\n@classLabel true u d\n@data\n"
    rng = np.random.default_rng(0)
    for i in range(30):
        n = 4 + i % 5
        a, b = rng.normal(size=(2, n))
        text += ",".join(map(str, a)) + ":" + ",".join(map(str, b)) + f":{'ud'[i % 2]}\n"
    X, y = load_ts(io.StringIO(text), pad="nan")
    gen = tiny().fit(X, y)
    S = gen.sample(40, y="u", random_state=0)
    assert set(window_lengths(S)) <= {4, 5, 6, 7, 8}
