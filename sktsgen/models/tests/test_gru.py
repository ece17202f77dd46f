"""GRURegressor / GRUClassifier: sklearn contract, 3-D behaviour, training loop hook."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.models import GRUClassifier, GRURegressor
from sktsgen.training._supervised import train_supervised
from sktsgen.utils._torch import make_generator

# Small, fast-learning settings: sklearn's checks fit many times and a few of them require a
# reasonable score (R^2 > 0.5, accuracy > 0.83) on their toy data.
TINY = {"hidden_size": 8, "num_layers": 1, "max_iter": 30, "batch_size": 32, "learning_rate": 0.01,
            "random_state": 0}


@parametrize_with_checks([GRURegressor(**TINY), GRUClassifier(**TINY)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _regression_data(n=160, seq_len=6, d=2, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, seq_len, d))
    y = 100.0 + 20.0 * X[:, -3:, 0].mean(axis=1) - 5.0 * X[:, 0, 1]
    return X, y


def test_regressor_learns_on_3d_windows_in_the_scale_of_y():
    X, y = _regression_data()
    model = GRURegressor(**{**TINY, "max_iter": 60}).fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (160,) and pred.dtype == np.float64
    assert model.score(X, y) > 0.8
    assert abs(pred.mean() - y.mean()) < 5.0  # standardisation was undone
    assert (model.n_features_in_, model.seq_len_, model.n_iter_) == (2, 6, 60)
    assert len(model.history_["train"]) == 60


def test_classifier_learns_string_labels_and_probabilities():
    X, _ = _regression_data()
    y = np.where(X[:, -1, 0] > 0, "high", "low")
    clf = GRUClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["high", "low"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.9


def test_paper_defaults():
    model = GRURegressor()
    assert (model.hidden_size, model.num_layers) == (15, 2)
    X, y = _regression_data(n=20)
    model.set_params(max_iter=1).fit(X, y)
    assert model.module_.gru.num_layers == 2 and model.module_.gru.hidden_size == 15


def test_same_seed_same_model_and_global_rng_untouched():
    X, y = _regression_data()
    state = torch.get_rng_state()
    preds = [GRURegressor(**{**TINY, "max_iter": 3, "random_state": s}).fit(X, y).predict(X)
             for s in (1, 1, 2)]
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.allclose(preds[0], preds[2])


def test_pickle_and_clone():
    X, y = _regression_data()
    model = GRURegressor(**{**TINY, "max_iter": 2}).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert not hasattr(clone(model), "module_")


def test_warm_start_continues_training():
    X, y = _regression_data()
    model = GRURegressor(**{**TINY, "max_iter": 2, "warm_start": True}).fit(X, y)
    module, before = model.module_, model.predict(X)
    model.fit(X, y)
    assert model.module_ is module  # same network, trained further
    assert not np.allclose(model.predict(X), before)
    cold = GRURegressor(**{**TINY, "max_iter": 2}).fit(X, y)
    np.testing.assert_array_equal(cold.predict(X), GRURegressor(**{**TINY, "max_iter": 2})
                                  .fit(X, y).predict(X))


def test_warm_start_classifier_rejects_new_classes():
    X, _ = _regression_data()
    y = np.arange(160) % 2
    clf = GRUClassifier(**{**TINY, "max_iter": 1, "warm_start": True}).fit(X, y)
    with pytest.raises(ValueError, match="not seen"):
        clf.fit(X, np.arange(160) % 3)


def test_early_stopping_keeps_the_best_epoch():
    X, y = _regression_data()
    model = GRURegressor(**{**TINY, "max_iter": 40, "early_stopping": True,
                            "n_iter_no_change": 3, "learning_rate": 0.05}).fit(X, y)
    val = np.asarray(model.history_["val"])
    assert len(val) == model.n_iter_ <= 40
    assert model.history_["best_epoch"] == int(np.argmin(val))


@pytest.mark.parametrize(
    "params, fit_args, match",
    [
        ({"hidden_size": 0}, "reg", "hidden_size"),
        ({"learning_rate": -1.0}, "reg", "learning_rate"),
        ({"device": "gpu"}, "reg", "device"),
        ({"early_stopping": True, "validation_fraction": 0.01}, "reg", "validation_fraction"),
        ({}, "one_class", "2 classes"),
    ],
)
def test_bad_input_errors(params, fit_args, match):
    X, y = _regression_data(n=20)
    if fit_args == "one_class":
        with pytest.raises(ValueError, match=match):
            GRUClassifier(**{**TINY, **params}).fit(X, np.zeros(20, dtype=int))
    else:
        with pytest.raises(ValueError, match=match):
            GRURegressor(**{**TINY, **params}).fit(X, y)


def test_predict_checks_channels_and_length():
    X, y = _regression_data(n=20)
    model = GRURegressor(**{**TINY, "max_iter": 1}).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :, :1])
    with pytest.raises(ValueError, match="seq_len"):
        model.predict(X[:, :3])


def test_training_hook_sees_every_batch_and_may_extend_it():
    X = torch.rand(50, 4, 2, generator=make_generator(0))
    y = X.mean(dim=(1, 2))
    sizes = []

    def doubling(xb, yb, idx):
        sizes.append(xb.shape[0])
        return torch.cat([xb, xb + 0.01]), torch.cat([yb, yb])

    from sktsgen.nn import GRUHead

    history, _ = train_supervised(GRUHead(2, 4), X, y, loss="squared_error", n_epochs=2,
                                  batch_size=16, generator=make_generator(0), augment=doubling)
    assert sizes == [16, 16, 16, 2] * 2
    assert len(history["train"]) == 2
    with pytest.raises(ValueError, match="loss"):
        train_supervised(GRUHead(2, 4), X, y, loss="huber", n_epochs=1, batch_size=16,
                         generator=make_generator(0))


def test_private_fit_with_hook_validates_parameters_and_uses_the_hook():
    X, y = _regression_data(n=40)
    calls = []

    def hook(xb, yb, idx):
        calls.append(xb.shape[0])
        return xb, yb

    model = GRURegressor(**{**TINY, "max_iter": 2})
    model._fit(X, y, augment=hook)
    assert calls == [32, 8, 32, 8]
    with pytest.raises(ValueError, match="batch_size"):
        GRURegressor(batch_size=0)._fit(X, y, augment=hook)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_heads_inference_matches_nn_gru(num_layers):
    # Eval mode without gradients on a CPU runs the folded recurrence of sktsgen.nn._fast_gru.
    from sktsgen.nn import GRUHead, GRUStepHead
    from sktsgen.nn._fast_gru import inference_on_cpu

    torch.manual_seed(0)
    x = torch.randn(37, 9, 4, dtype=torch.float64)
    for head in (GRUHead(4, 5, num_layers, n_outputs=3),
                 GRUStepHead(4, 5, n_outputs=2, num_layers=num_layers, activation="sigmoid")):
        head = head.double().eval()
        want = head(x)  # with gradients: nn.GRU
        with torch.no_grad():
            assert inference_on_cpu(head)
            got = head(x)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want)


def test_predictions_do_not_depend_on_their_batch():
    # Bit for bit: the inference pads the batch (see sktsgen.nn._fast_gru.with_ones_row).
    X, y = _regression_data(n=90)
    for est, target in ((GRURegressor(**{**TINY, "max_iter": 2}), y),
                        (GRUClassifier(**{**TINY, "max_iter": 2}), y > 100)):
        est.fit(X, target)
        full = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
        rng = np.random.RandomState(0)
        for _ in range(10):
            idx = rng.permutation(len(X))[: rng.randint(1, len(X) + 1)]
            part = est.predict_proba(X[idx]) if hasattr(est, "predict_proba") else est.predict(X[idx])
            np.testing.assert_array_equal(part, full[idx])
