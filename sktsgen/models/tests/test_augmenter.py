"""On-the-fly latent adversarial augmentation: ``GRURegressor(augmenter=...)`` and its hook."""

import pickle

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from torch.nn import functional as F

from sktsgen.models import GRUClassifier, GRURegressor
from sktsgen.nn._latent import ConvAutoencoder, LatentPerturbation
from sktsgen.over_sampling import JitterOverSampler, RandomWindowOverSampler
from sktsgen.over_sampling._latent_adversarial import LatentAdversarialSampler, _scaling_map
from sktsgen.preprocessing import WindowMinMaxScaler
from sktsgen.training._latent import BatchPerturber
from sktsgen.utils._torch import make_generator

MODEL = {"hidden_size": 8, "num_layers": 1, "max_iter": 2, "batch_size": 32, "random_state": 0}
AUG = {"latent_dim": 8, "n_iter": 2, "batch_size": 16, "noise_dim": 4, "rank": 3}


def _data(n=120, seq_len=8, d=3, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, seq_len, d))
    y = 10.0 * X[:, -3:, 0].mean(axis=1) + X[:, 0, 1]
    return X, y, float(np.quantile(y, 0.85))


def test_augmenter_is_cloned_fitted_and_trained_with_the_model():
    X, y, thr = _data()
    aug = LatentAdversarialSampler(minority_threshold=thr, random_state=1, **AUG)
    model = GRURegressor(**MODEL, augmenter=aug).fit(X, y)
    assert not hasattr(aug, "perturbation_module_")  # the parameter is left unfitted
    fitted = model.augmenter_
    assert fitted is not aug and fitted.predictor_module_ is None
    # Its perturbation module was trained: at initialisation a weight-normalised layer's
    # gains equal its directions' norms, and Adam moves the two apart.
    up = fitted.perturbation_module_.up
    assert not torch.allclose(up.gain, up.direction.norm(dim=1))
    # Model predictions are in y's scale and differ from training without the augmenter.
    plain = GRURegressor(**MODEL).fit(X, y)
    assert not np.array_equal(model.predict(X), plain.predict(X))
    assert GRURegressor(**MODEL).augmenter is None and plain.augmenter_ is None


def test_same_seeds_same_model_and_the_model_seeds_an_unseeded_augmenter():
    X, y, thr = _data()
    aug = LatentAdversarialSampler(minority_threshold=thr, **AUG)  # random_state=None
    a = GRURegressor(**MODEL, augmenter=aug).fit(X, y).predict(X)
    b = GRURegressor(**MODEL, augmenter=aug).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = GRURegressor(**MODEL, augmenter=clone(aug).set_params(random_state=5)).fit(X, y)
    assert not np.array_equal(a, c.predict(X))


def test_regression_augmenter_ignores_the_count_its_strategy_asks_for():
    X, y, thr = _data()
    # fit_resample would refuse: one rare window asked for, more already there.
    aug = LatentAdversarialSampler(minority_threshold=thr, sampling_strategy={"rare": 1}, **AUG)
    with pytest.raises(ValueError, match="cannot remove"):
        clone(aug).fit_resample(X, y)
    model = GRURegressor(**MODEL, augmenter=aug).fit(X, y)
    assert model.augmenter_.task_ == "regression"


def test_classifier_perturbs_the_classes_its_strategy_names():
    X, _, _ = _data()
    y = np.where(np.arange(X.shape[0]) < 20, "rare", "common")
    aug = LatentAdversarialSampler(random_state=0, **AUG)
    clf = GRUClassifier(**MODEL, augmenter=aug).fit(X, y)
    assert list(clf.augmenter_.sampling_strategy_) == ["rare"]
    assert clf.predict_proba(X[:3]).shape == (3, 2)


def test_pickle_clone_early_stopping_and_grid_search():
    X, y, thr = _data()
    aug = LatentAdversarialSampler(minority_threshold=thr, keep_features=[0], **AUG)
    model = GRURegressor(**MODEL, augmenter=aug, early_stopping=True).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert not hasattr(clone(model), "augmenter_")
    pipe = Pipeline([
        ("dup", RandomWindowOverSampler(minority_threshold=thr, random_state=0)),
        ("model", GRURegressor(**MODEL, augmenter=aug)),
    ])
    search = GridSearchCV(pipe, {"model__augmenter__scale": [0.05, 0.2]},
                          cv=KFold(2), scoring="neg_mean_squared_error", n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["model__augmenter__scale"] in (0.05, 0.2)


def test_augmenter_errors():
    X, y, thr = _data()
    with pytest.raises(TypeError, match="augmenter must be a LatentAdversarialSampler.*Pipeline"):
        GRURegressor(**MODEL, augmenter=JitterOverSampler(minority_threshold=thr)).fit(X, y)
    # The augmenter validates the training targets as fit_resample would.
    with pytest.raises(ValueError, match="minority_threshold"):
        GRURegressor(**MODEL, augmenter=LatentAdversarialSampler(**AUG)).fit(X, y)
    # The augmenter's own parameters are validated as fit_resample would.
    with pytest.raises(ValueError, match="scale"):
        GRURegressor(**MODEL, augmenter=LatentAdversarialSampler(
            minority_threshold=thr, scale=-1.0, **AUG)).fit(X, y)
    with pytest.raises(ValueError, match="hook cannot be combined"):
        GRURegressor(**MODEL, augmenter=LatentAdversarialSampler(
            minority_threshold=thr, **AUG))._fit(X, y, augment=lambda xb, yb, idx: (xb, yb))


def _networks(n_features=3, seq_len=8, mode="adversarial", scale=0.5):
    torch.manual_seed(0)
    ae = ConvAutoencoder(n_features, seq_len, latent_dim=8).eval()
    pert = LatentPerturbation(8, mode=mode, scale=scale, noise_dim=4, rank=3)
    X = torch.rand(64, seq_len, n_features, generator=make_generator(0))
    pert.update_statistics(ae.encode(X).detach())
    return ae, pert, X


def test_batch_perturber_changes_only_targeted_rows_and_non_kept_channels():
    ae, pert, X = _networks()
    targeted = torch.zeros(64, dtype=torch.bool)
    targeted[::4] = True
    keep = torch.tensor([True, False, False])
    hook = BatchPerturber(pert, ae, targeted=targeted, lr=1e-2, generator=make_generator(1),
                          keep=keep)
    y = X.mean(dim=(1, 2))
    idx = torch.arange(0, 32)
    with hook:
        assert not any(p.requires_grad for p in ae.parameters())
        xb, yb = hook(X[idx], y[idx], idx)
    assert all(p.requires_grad for p in ae.parameters())  # restored on exit
    changed = (xb != X[idx]).flatten(1).any(1)
    assert torch.equal(changed, targeted[idx])
    torch.testing.assert_close(xb[..., 0], X[idx][..., 0], rtol=0, atol=0)
    assert torch.equal(yb, y[idx]) and int(hook.n_perturbed) == 8
    # A batch without a targeted row goes through untouched.
    none = torch.arange(1, 64, 4)
    with hook:
        xb, _ = hook(X[none], y[none], none)
    assert torch.equal(xb, X[none])


def test_batch_perturber_probability_perturbs_a_fresh_share_of_the_targeted_rows():
    ae, pert, X = _networks()
    targeted = torch.arange(64) % 2 == 0
    hook = BatchPerturber(pert, ae, targeted=targeted, lr=1e-2, generator=make_generator(1),
                          probability=0.5)
    y = X.mean(dim=(1, 2))
    idx = torch.arange(64)
    changed = []
    with hook:
        for _ in range(2):
            xb, _ = hook(X, y, idx)
            changed.append((xb != X).flatten(1).any(1))
    for c in changed:
        # Only targeted rows, about half of the 32 (binomial 0.5), and a new draw each batch.
        assert not (c & ~targeted).any() and 6 <= int(c.sum()) <= 26
    assert not torch.equal(changed[0], changed[1])
    assert int(hook.n_perturbed) == int(changed[0].sum() + changed[1].sum())
    # Untargeted (None) rows are drawn from all rows.
    hook = BatchPerturber(pert, ae, targeted=None, lr=1e-2, generator=make_generator(2),
                          probability=0.25)
    with hook:
        xb, _ = hook(X, y, idx)
    assert 4 <= int((xb != X).flatten(1).any(1).sum()) <= 28


def test_augmenter_passes_perturb_fraction_to_its_hook():
    X, y, thr = _data()
    aug = LatentAdversarialSampler(minority_threshold=thr, perturb_fraction=0.3, **AUG)
    hook = aug._fit_batch_perturber(X, y, input_scaler=WindowMinMaxScaler().fit(X),
                                    device="cpu", random_state=0)
    assert hook.probability == 0.3


@pytest.mark.parametrize(("mode", "sign"), [("adversarial", 1), ("anti-adversarial", -1)])
def test_batch_perturber_moves_the_model_loss_in_its_direction(mode, sign):
    ae, pert, X = _networks(mode=mode)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 1))
    for p in model.parameters():
        p.requires_grad_(False)  # a fixed model: only the perturbation learns
    with torch.no_grad():
        y = model(X)[:, 0]  # so the loss measures only what the perturbation does
    hook = BatchPerturber(pert, ae, targeted=None, lr=5e-2, generator=make_generator(2))
    idx = torch.arange(64)
    losses = []
    with hook:
        for _ in range(40):
            xb, _ = hook(X, y, idx)
            loss = F.mse_loss(model(xb)[:, 0], y)
            loss.backward()
            losses.append(float(loss.detach()))
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last > 2 * first if sign > 0 else last < first / 2, (first, last)


def test_random_mode_has_nothing_to_train():
    ae, pert, X = _networks(mode="random")
    hook = BatchPerturber(pert, ae, targeted=None, lr=1e-2, generator=make_generator(0))
    assert hook.optimizer is None
    with hook:
        xb, _ = hook(X[:8], X[:8, 0, 0], torch.arange(8))
    assert not torch.equal(xb, X[:8])


def test_scaling_map_carries_one_scaling_to_the_other():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5, 2)) * [1.0, 50.0]
    a = WindowMinMaxScaler().fit(X)
    b = WindowMinMaxScaler(feature_range=(-1, 1)).fit(X[:10] * 2.0 + 3.0)
    scale, offset = _scaling_map(a, b)
    np.testing.assert_allclose(a.transform(X) * scale + offset, b.transform(X), atol=1e-12)
    scale, offset = _scaling_map(a, a)
    np.testing.assert_allclose(scale, 1.0)
    np.testing.assert_allclose(offset, 0.0, atol=1e-15)


def test_hook_works_in_the_model_scaling_when_the_scalers_differ():
    ae, pert, X = _networks(scale=0.3)
    # The model scales to [-1, 1]; the autoencoder saw [0, 1]: x_ae = (x + 1) / 2.
    scale, offset = torch.full((3,), 0.5), torch.full((3,), 0.5)
    x_model = X * 2 - 1
    direct = BatchPerturber(pert, ae, targeted=None, lr=1e-2, generator=make_generator(3))
    mapped = BatchPerturber(pert, ae, targeted=None, lr=1e-2, generator=make_generator(3),
                            to_autoencoder=(scale, offset))
    idx = torch.arange(16)
    with torch.no_grad(), direct:
        out_ae, _ = direct(X[:16], X[:16, 0, 0], idx)
    with torch.no_grad(), mapped:
        out_model, _ = mapped(x_model[:16], X[:16, 0, 0], idx)
    torch.testing.assert_close(out_model, out_ae * 2 - 1, rtol=1e-5, atol=1e-5)
