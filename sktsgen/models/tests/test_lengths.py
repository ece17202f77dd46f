"""GRU models and GRUHead on windows of unequal lengths (NaN padding at the end)."""

import numpy as np
import pytest
import torch

from sktsgen.models import GRUClassifier, GRURegressor
from sktsgen.nn import GRUHead
from sktsgen.over_sampling import LatentAdversarialSampler
from sktsgen.training._supervised import train_supervised
from sktsgen.utils import pad_windows, window_lengths
from sktsgen.utils._torch import make_generator

SMALL = {"hidden_size": 6, "num_layers": 2, "max_iter": 3, "batch_size": 16, "random_state": 0}


def _ragged(n=48, d=2, low=3, high=9, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    windows = [rng.normal(size=(rng.integers(low, high + 1), d)).astype(dtype)
               for _ in range(n)]
    y = np.array([w[:, 0].mean() > 0 for w in windows]).astype(int)
    return windows, y


def _head_and_batch(seed=0):
    torch.manual_seed(seed)
    head = GRUHead(3, 7, num_layers=2, n_outputs=2)
    x = torch.randn(40, 9, 3, generator=make_generator(seed))
    lengths = torch.randint(1, 10, (40,), generator=make_generator(seed + 1))
    lengths[0] = 9
    return head, x, lengths


@pytest.mark.parametrize(("num_layers", "seq_len", "n"), [(2, 9, 40), (1, 30, 70), (3, 5, 33)])
def test_head_reads_each_window_up_to_its_own_last_step_exactly_at_inference(
        num_layers, seq_len, n):
    torch.manual_seed(0)
    head = GRUHead(3, 7, num_layers=num_layers, n_outputs=2).eval()
    x = torch.randn(n, seq_len, 3, generator=make_generator(0))
    lengths = torch.randint(1, seq_len + 1, (n,), generator=make_generator(1))
    with torch.no_grad():
        out = head(x, lengths=lengths)
        for i in range(x.shape[0]):
            cropped = head(x[i:i + 1, :int(lengths[i])])
            assert torch.equal(out[i], cropped[0]), i


def test_head_training_path_packs_and_matches_the_cropped_windows():
    head, x, lengths = _head_and_batch()
    head.train()
    out = head(x, lengths=lengths)
    out.sum().backward()  # gradients flow through the packed sequence
    assert head.gru.weight_ih_l0.grad is not None
    for i in range(x.shape[0]):
        cropped = head(x[i:i + 1, :int(lengths[i])])
        torch.testing.assert_close(out[i], cropped[0], rtol=1e-5, atol=1e-6)
    # The padding's values play no part.
    x2 = x.clone()
    for i, n in enumerate(lengths.tolist()):
        x2[i, n:] = 123.0
    torch.testing.assert_close(head(x2, lengths=lengths), out, rtol=0, atol=0)


@pytest.mark.parametrize("train", [True, False])
def test_head_full_lengths_are_the_unpadded_path_bit_for_bit(train):
    head, x, _ = _head_and_batch()
    head.train(train)
    with torch.set_grad_enabled(train):
        full = torch.full((x.shape[0],), x.shape[1])
        assert torch.equal(head(x, lengths=full), head(x))
        assert torch.equal(head(x, lengths=None), head(x))


def test_head_rejects_lengths_out_of_range():
    head, x, lengths = _head_and_batch()
    for bad in (torch.zeros(40, dtype=torch.long), lengths + 1, lengths[:5]):
        with pytest.raises(ValueError, match="lengths must hold one int"):
            head(x, lengths=bad)


def test_train_supervised_with_full_lengths_is_bit_for_bit_without():
    torch.manual_seed(0)
    x = torch.rand(48, 6, 2, generator=make_generator(0))
    y = x.mean(dim=(1, 2))
    states = []
    for lengths in (None, torch.full((48,), 6)):
        torch.manual_seed(1)
        head = GRUHead(2, 5)
        train_supervised(head, x, y, loss="squared_error", n_epochs=2, batch_size=16,
                         generator=make_generator(0), lengths=lengths,
                         validation=(x[:8], y[:8]) if lengths is None
                         else (x[:8], y[:8], lengths[:8]))
        states.append(head.state_dict())
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]), name


def test_train_supervised_rejects_a_hook_that_changes_the_batch_size_with_lengths():
    x = torch.rand(16, 4, 2, generator=make_generator(0))
    y = x.mean(dim=(1, 2))

    def grow(xb, yb, idx):
        return torch.cat([xb, xb]), torch.cat([yb, yb])

    with pytest.raises(RuntimeError, match="must keep the batch's rows"):
        train_supervised(GRUHead(2, 3), x, y, loss="squared_error", n_epochs=1,
                         batch_size=8, generator=make_generator(0), augment=grow,
                         lengths=torch.full((16,), 3))


@pytest.mark.parametrize("model", [GRUClassifier, GRURegressor])
def test_complete_windows_predict_as_the_module_without_lengths(model):
    # The complete-window path is the one of the models before padding was supported: the
    # module is called without lengths on the scaled windows.
    windows, y = _ragged()
    X = pad_windows(windows)[:, :3]  # every window has at least 3 steps: complete
    assert (window_lengths(X) == 3).all()
    est = model(**SMALL).fit(X, y)
    with torch.no_grad():
        raw = est.module_.eval()(torch.as_tensor(est.scaler_.transform(X), dtype=torch.float32))
    np.testing.assert_array_equal(est._forward(X), raw.double().numpy())


def test_classifier_on_a_ragged_list_and_on_its_padded_array_alike():
    windows, y = _ragged(dtype=np.float32)
    X = pad_windows(windows)
    assert X.dtype == np.float32
    X_before = X.copy()
    clf = GRUClassifier(**SMALL).fit(windows, y)
    assert clf.seq_len_ == X.shape[1] and clf.n_features_in_ == 2
    clf2 = GRUClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(X, X_before)  # input not modified
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, clf2.predict_proba(X))
    np.testing.assert_array_equal(proba, clf.predict_proba(windows))
    # A list of windows all shorter than seq_len_ is padded to it.
    np.testing.assert_array_equal(clf.predict_proba(windows[:5]), proba[:5])
    assert 0.0 <= clf.score(windows, y) <= 1.0


def test_model_prediction_ignores_the_padding_and_matches_cropped_windows():
    windows, y = _ragged()
    reg = GRURegressor(**SMALL).fit(windows, y.astype(float))
    X = pad_windows(windows)
    lengths = window_lengths(X)
    pred = reg.predict(X)
    # The prediction of a padded window is the network's output on the window cropped to its
    # own steps (scaled alike).
    Xs = reg.scaler_.transform(X)
    for i in range(0, X.shape[0], 7):
        crop = torch.as_tensor(Xs[i:i + 1, :lengths[i]], dtype=torch.float32)
        with torch.no_grad():
            want = reg.module_(crop).double().numpy()[0, 0] * reg.y_std_ + reg.y_mean_
        assert pred[i] == want


def test_regressor_learns_from_the_own_steps_of_padded_windows():
    # The target is the last own value of channel 0: a model reading the padding's place
    # (or NaN) could not learn it.
    rng = np.random.default_rng(1)
    windows = [rng.normal(size=(rng.integers(2, 8), 1)) for _ in range(240)]
    y = np.array([w[-1, 0] for w in windows])
    reg = GRURegressor(hidden_size=8, num_layers=1, max_iter=60, batch_size=32,
                       learning_rate=0.01, random_state=0).fit(windows, y)
    assert reg.score(windows, y) > 0.8


def test_early_stopping_and_warm_start_on_padded_windows():
    windows, y = _ragged()
    clf = GRUClassifier(**{**SMALL, "early_stopping": True, "warm_start": True})
    clf.fit(windows, y)
    assert "val" in clf.history_ and np.isfinite(clf.history_["val"]).all()
    clf.fit(windows, y)
    assert clf.predict(windows).shape == (len(windows),)


def test_errors_on_nan_inside_a_window_empty_windows_and_longer_windows():
    windows, y = _ragged()
    X = pad_windows(windows)
    bad = X.copy()
    bad[0, 0, 0] = np.nan  # inside the window: a missing value, not padding
    with pytest.raises(ValueError, match="NaN inside window 0"):
        GRUClassifier(**SMALL).fit(bad, y)
    empty = X.copy()
    empty[1] = np.nan
    with pytest.raises(ValueError, match="Window 1 of X is empty"):
        GRUClassifier(**SMALL).fit(empty, y)
    clf = GRUClassifier(**SMALL).fit(X, y)
    longer = [np.zeros((X.shape[1] + 2, 2)), np.zeros((2, 2))]
    with pytest.raises(ValueError, match="seq_len"):
        clf.predict(longer)


def test_latent_augmenter_on_padded_windows():
    windows, _ = _ragged(n=64)
    X = pad_windows(windows)
    y = np.nanmean(X[:, :, 0], axis=1)
    aug = LatentAdversarialSampler(minority_threshold=float(np.quantile(y, 0.8)),
                                   latent_dim=8, n_iter=3, batch_size=16)
    reg = GRURegressor(**SMALL, augmenter=aug).fit(X, y)
    assert int(reg.augmenter_.perturbation_module_ is not None)
    pred = reg.predict(windows)
    assert pred.shape == (64,) and np.isfinite(pred).all()
