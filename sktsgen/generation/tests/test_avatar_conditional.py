"""AvatarGenerator fitted with y: windows of a class or for a target value."""

import pickle

import numpy as np
import pytest
import torch

from sktsgen.generation import AvatarGenerator
from sktsgen.generation._code_density import fit_class_code_mixture, fit_target_code_mixture
from sktsgen.nn import ClassCodeMixture, TargetCodeMixture

SMALL = {"n_iter": 60, "hidden_size": 8, "num_layers": 1, "batch_size": 32}


def gen(**kw):
    return AvatarGenerator(**{**SMALL, "random_state": 0, **kw})


def two_level_windows(n=120, seq_len=8, seed=0):
    """Windows around level ``y`` in [0, 10] with a little noise on 2 channels; class "high"
    for the 30 windows with the largest levels."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(0, 10, size=n)
    t = np.arange(seq_len)
    X = level[:, None, None] + 0.3 * np.sin(t[None, :, None] + rng.uniform(0, 6, (n, 1, 2)))
    labels = np.where(level >= np.sort(level)[-30], "high", "low")
    return X, level, labels


@pytest.fixture(scope="module")
def data():
    return two_level_windows()


@pytest.fixture(scope="module")
def by_class(data):
    X, _, labels = data
    return gen().fit(X, labels)


@pytest.fixture(scope="module")
def by_target(data):
    X, level, _ = data
    return gen().fit(X, level)


def test_class_samples_have_the_requested_class_and_shape(by_class, data):
    X, _, labels = data
    assert list(by_class.classes_) == ["high", "low"]
    assert by_class.target_type_ == "classes"
    y = np.array(["high"] * 40 + ["low"] * 40)
    out = by_class.sample(80, y=y, random_state=0)
    assert out.shape == (80, 8, 2) and out.dtype == X.dtype
    high, low = out[:40].mean(axis=(1, 2)), out[40:].mean(axis=(1, 2))
    # Real "high" windows have levels above about 7.5; "low" ones below.
    threshold = X[labels == "high"].mean(axis=(1, 2)).min()
    assert np.mean(high > threshold - 1.0) > 0.9
    assert np.mean(low < threshold) > 0.9


def test_a_scalar_label_asks_for_every_window_of_it(by_class):
    np.testing.assert_array_equal(by_class.sample(5, y="high", random_state=1),
                                  by_class.sample(5, y=["high"] * 5, random_state=1))


@pytest.mark.parametrize("bins", [20, None])
def test_target_samples_follow_the_requested_value(by_target, data, bins):
    _X, level, _ = data
    if bins is None:  # the joint mixture of codes and target
        by_target = gen(target_bins=None).fit(_X, level)
        assert isinstance(by_target.conditional_density_module_, TargetCodeMixture)
    else:
        assert by_target.target_bin_edges_.shape == (19,)
    assert by_target.target_type_ == "continuous"
    assert by_target.target_range_ == (level.min(), level.max())
    wanted = np.repeat([1.0, 5.0, 9.0], 50)
    means = by_target.sample(150, y=wanted, random_state=0).mean(axis=(1, 2))
    per_value = means.reshape(3, 50).mean(axis=1)
    assert per_value[0] < per_value[1] < per_value[2]
    np.testing.assert_allclose(per_value, [1.0, 5.0, 9.0], atol=1.5)


def test_unconditional_samples_do_not_change_with_y(by_class, by_target, data):
    X = data[0]
    plain = gen().fit(X)
    assert plain.target_type_ is None and plain.conditional_density_module_ is None
    ref = plain.sample(30, random_state=4)
    np.testing.assert_array_equal(by_class.sample(30, random_state=4), ref)
    np.testing.assert_array_equal(by_target.sample(30, random_state=4), ref)


def test_same_random_state_same_conditional_samples(by_class, data):
    X, _, labels = data
    again = gen().fit(X, labels)
    np.testing.assert_array_equal(by_class.sample(20, y="high", random_state=2),
                                  again.sample(20, y="high", random_state=2))
    assert not np.array_equal(by_class.sample(20, y="high", random_state=2),
                              by_class.sample(20, y="high", random_state=3))


@pytest.mark.parametrize("y, match", [
    ("medium", "not seen at fit"),
    (["high", "low"], "one value per window"),
    (np.array(["high", "low", "high", "oops"]), "oops"),
])
def test_bad_labels_are_named(by_class, y, match):
    with pytest.raises(ValueError, match=match):
        by_class.sample(4, y=y)


@pytest.mark.parametrize("y", [-1.0, 10.5, [5.0, 5.0, 99.0]])
def test_targets_outside_the_fitted_range_are_rejected(by_target, y):
    with pytest.raises(ValueError, match="outside the range seen at fit"):
        by_target.sample(3, y=y)


def test_nan_target_is_rejected(by_target):
    with pytest.raises(ValueError, match="NaN"):
        by_target.sample(2, y=[np.nan, 5.0])


def test_sample_with_y_needs_a_generator_fitted_with_y(data):
    fitted = gen(n_iter=2).fit(data[0])
    with pytest.raises(ValueError, match=r"fit\(X, y\)"):
        fitted.sample(3, y="high")


def test_refit_without_y_forgets_the_classes(data):
    X, _, labels = data
    g = gen(n_iter=2).fit(X, labels)
    g.fit(X)
    assert g.target_type_ is None and not hasattr(g, "classes_")
    with pytest.raises(ValueError, match="fitted with y"):
        g.sample(2, y="high")


def test_target_type_overrides_the_dtype_rule(data):
    X, level, _ = data
    as_classes = gen(n_iter=2, target_type="classes").fit(X, (level > 5).astype(float))
    assert as_classes.target_type_ == "classes"
    assert list(as_classes.classes_) == [0.0, 1.0]
    as_target = gen(n_iter=2, target_type="continuous").fit(X, np.round(level).astype(int))
    assert as_target.target_type_ == "continuous"
    assert as_target.sample(2, y=3, random_state=0).shape == (2, 8, 2)
    with pytest.raises(ValueError, match="target_type='continuous'"):
        gen(n_iter=2, target_type="continuous").fit(X, np.array(["a", "b"] * 60))


def test_fit_rejects_a_target_of_the_wrong_length(data):
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gen(n_iter=2).fit(data[0], data[2][:-1])


def test_pickle_keeps_the_conditional_density(by_class):
    back = pickle.loads(pickle.dumps(by_class))
    np.testing.assert_array_equal(back.sample(10, y="low", random_state=0),
                                  by_class.sample(10, y="low", random_state=0))


def test_every_latent_sampling_can_sample_by_class(data):
    X, _, labels = data
    g = gen(n_iter=2, latent_sampling="prior").fit(X, labels)
    assert g.code_density_module_ is None
    assert g.sample(4, y="low", random_state=0).shape == (4, 8, 2)


# -- the densities ---------------------------------------------------------------------------
def test_class_mixture_of_a_single_window_borrows_the_pooled_spread():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(41, 3, 2))
    codes[40] += 20.0  # the single window of class 1, far from class 0
    labels = np.r_[np.zeros(40, int), 1]
    mix = fit_class_code_mixture(codes, labels, n_classes=2, n_components=6, n_mixture=3,
                                 random_state=0)
    draws = mix.sample(2000, condition=torch.ones(2000, dtype=torch.long),
                       generator=torch.Generator().manual_seed(0)).numpy().reshape(2000, -1)
    np.testing.assert_allclose(draws.mean(axis=0), codes[40].ravel(), atol=0.2)
    # Its own scatter is zero: the spread is 10 / 11 of the pooled within-class variance.
    assert 0.5 < draws.std(axis=0).mean() < 1.2


def test_class_mixture_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match="means and scale_tril"):
        ClassCodeMixture(torch.zeros(2), torch.eye(1, 2), torch.ones(2, 1), torch.zeros(2, 1),
                         torch.ones(2, 1, 1, 1), seq_len=1, latent_size=2)


def test_target_mixture_conditions_a_gaussian_exactly():
    # One component: coordinate = 2 * target + small noise; given y the mean is 2 * y.
    rng = np.random.default_rng(0)
    y = rng.normal(size=4000)
    first = 2.0 * y + 0.1 * rng.normal(size=4000)
    codes = np.stack([first, rng.normal(size=4000)], axis=1)[:, None, :]
    mix = fit_target_code_mixture(codes, y, n_components=2, n_mixture=1, random_state=0)
    assert isinstance(mix, TargetCodeMixture)
    draws = mix.sample(3000, condition=torch.full((3000,), 1.5),
                       generator=torch.Generator().manual_seed(0)).numpy()[:, 0, :]
    assert abs(draws[:, 0].mean() - 3.0) < 0.05
    assert abs(draws[:, 0].std() - 0.1) < 0.03
    assert abs(draws[:, 1].std() - 1.0) < 0.1


def test_target_mixture_rejects_a_condition_of_the_wrong_length():
    rng = np.random.default_rng(0)
    mix = fit_target_code_mixture(rng.normal(size=(50, 2, 2)), rng.normal(size=50),
                                  n_components=3, n_mixture=1, random_state=0)
    with pytest.raises(ValueError, match="condition must hold 4 targets"):
        mix.sample(4, condition=torch.zeros(3))


def test_discrete_targets_leave_no_empty_bin(data):
    X = data[0]
    y = np.repeat([0.0, 1.0, 5.0], 40)  # most quantiles fall on three values
    g = gen(n_iter=2, target_bins=10).fit(X, y)
    bins = np.searchsorted(g.target_bin_edges_, y, side="right")
    assert set(bins) == set(range(len(g.target_bin_edges_) + 1))
    out = g.sample(30, y=np.repeat([0.0, 0.5, 5.0], 10), random_state=0)
    assert np.isfinite(out).all()


def test_target_bins_draw_from_the_bin_of_the_requested_target(data):
    X, level, _ = data
    g = gen(target_bins=4).fit(X, level)
    assert g.target_bin_edges_.shape == (3,)
    np.testing.assert_allclose(g.target_bin_edges_, np.quantile(level, [0.25, 0.5, 0.75]))
    means = g.sample(120, y=np.repeat([0.5, 9.5], 60), random_state=0).mean(axis=(1, 2))
    assert means[:60].mean() < g.target_bin_edges_[0] + 1.0
    assert means[60:].mean() > g.target_bin_edges_[2] - 1.0
    with pytest.raises(ValueError, match="outside the range"):
        g.sample(1, y=11.0)
    g.set_params(target_bins=None).fit(X, level)
    assert not hasattr(g, "target_bin_edges_")


@pytest.mark.parametrize("target", ["labels", "level"])
def test_early_stopping_pairs_the_training_windows_with_their_targets(data, target):
    """The conditional density is fitted on the training windows (early stopping holds some
    out) with their own labels or targets."""
    X, level, labels = data
    y = labels if target == "labels" else level
    fitted = gen(n_iter=20, early_stopping=True, validation_interval=10, metric_n_iter=5).fit(X, y)
    wanted = "high" if target == "labels" else 9.0
    out = fitted.sample(40, y=wanted, random_state=0)
    assert out.shape == (40, 8, 2) and np.isfinite(out).all()
