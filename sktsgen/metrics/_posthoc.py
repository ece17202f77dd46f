"""Post-hoc model scores of TimeGAN's protocol: discriminative and predictive (TSTR) scores."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..nn import GRUHead, GRUStepHead
from ..training._common import make_adam
from ..training._posthoc import train_step_predictor, train_window_classifier
from ..utils._torch import (
    make_generator,
    resolve_device,
    seed_from_random_state,
    to_tensor,
    torch_seed,
    torch_threads,
)
from ._validation import check_window_pair

_EVAL_CHUNK = 4096  # windows per forward pass at scoring time: bounded memory
_LR = 1e-3  # Adam's default, as in the protocol

_COMMON_CONSTRAINTS = {
    "X_real": ["array-like"],
    "X_synth": ["array-like"],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "hidden_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
}


def _forward_chunks(module, X):
    """Outputs of ``module`` on batch-first windows, in eval mode, without gradients."""
    module.eval()
    with torch.no_grad():
        return torch.cat([module(X[i:i + _EVAL_CHUNK]) for i in range(0, len(X), _EVAL_CHUNK)])


@validate_params(
    {**_COMMON_CONSTRAINTS,
     "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
     "test_size": [Interval(numbers.Real, 0, 1, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def discriminative_score(X_real, X_synth, *, n_iter=2000, batch_size=128, hidden_size=None,
                         test_size=0.2, device="cpu", random_state=None):
    """Discriminative score: how well a small GRU tells real windows from synthetic ones.

    The protocol of TimeGAN (Yoon et al., 2019), used by most papers since. Both sets are
    shuffled and each split into train and test parts. A one-layer GRU (hidden size
    ``max(n_features // 2, 1)``) whose last hidden state goes through a linear layer to one
    logit is trained with binary cross-entropy (real = 1, synthetic = 0) and Adam (default
    settings); every iteration uses a batch of ``batch_size`` real and ``batch_size``
    synthetic training windows, drawn with replacement. The score is
    ``|accuracy - 0.5|`` on the union of the two test parts (threshold 0.5). Lower is
    better: 0 means the classifier does no better than chance, 0.5 that it separates the
    sets perfectly.

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows.
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows, same ``seq_len`` and ``n_features``. When the counts differ, the
        larger set is randomly subsampled to the smaller count (the accuracy is only
        comparable to 0.5 on balanced test parts); pass sets of equal size to use all.
    n_iter : int, default=2000
        Training iterations (the protocol's 2,000).
    batch_size : int, default=128
        Windows per class and iteration.
    hidden_size : int, default=None
        GRU width; ``None`` means ``max(n_features // 2, 1)`` as in the protocol.
    test_size : float, default=0.2
        Fraction of each set held out for the accuracy (the protocol's 80/20 split;
        ``int(n * (1 - test_size))`` windows of each set are used for training).
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the classifier trains.
    random_state : int, RandomState instance or None, default=None
        Controls the subsampling, the split, the initialisation and the batches: the same
        integer gives the same score (bit-identical on CPU).

    Returns
    -------
    score : float
        ``|accuracy - 0.5|`` in ``[0, 0.5]``.

    Notes
    -----
    Nothing is rescaled: compute the score on data in the scale the published numbers use
    (Stocks and Energy after the per-column min-max to ``[0, 1]``, Sines in their
    ``(x + 1) / 2`` scale). On a CPU the classifier trains on a single torch thread (the
    global setting is restored afterwards): the network is too small to gain from a second
    one. The score is noisy, because the tiny classifier sometimes fails to learn and then
    scores about 0 even for a poor generator: report several seeds with
    :func:`repeat_metric` (mean, std and median), never a single run.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import discriminative_score
    >>> rng = np.random.RandomState(0)
    >>> X_real = rng.uniform(size=(40, 8, 2))
    >>> X_synth = rng.uniform(size=(40, 8, 2))
    >>> score = discriminative_score(X_real, X_synth, n_iter=20, random_state=0)
    >>> 0.0 <= score <= 0.5
    True
    """
    X_real, X_synth = check_window_pair(X_real, X_synth, min_samples=2,
                                        metric="discriminative_score")
    device = resolve_device(device)
    rng = check_random_state(random_state)
    seed = seed_from_random_state(rng)
    n = min(len(X_real), len(X_synth))
    # A permutation then its first n rows: shuffle and subsample in one step.
    real = X_real[rng.permutation(len(X_real))[:n]]
    synth = X_synth[rng.permutation(len(X_synth))[:n]]
    n_train = min(max(int(n * (1 - test_size)), 1), n - 1)
    n_features = real.shape[2]
    hidden = hidden_size if hidden_size is not None else max(n_features // 2, 1)

    train = np.concatenate([real[:n_train], synth[:n_train]]).transpose(1, 0, 2)
    X_train = to_tensor(train, device)
    X_test = to_tensor(np.concatenate([real[n_train:], synth[n_train:]]), device)
    with torch_threads(1, device), torch_seed(seed, device):
        module = GRUHead(n_features, hidden).to(device)
        optimizer = make_adam(module.parameters(), lr=_LR, device=device)
        train_window_classifier(module, X_train, n_train, n_iter=n_iter, batch_size=batch_size,
                                optimizer=optimizer, generator=make_generator(seed))
        logits = _forward_chunks(module, X_test).squeeze(-1)
    n_test = n - n_train
    labels = torch.arange(len(logits), device=device) < n_test  # real test windows come first
    accuracy = ((logits > 0) == labels).double().mean().item()
    return abs(accuracy - 0.5)


def _warn_outside_unit(values, name):
    lo, hi = float(values.min()), float(values.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        warnings.warn(
            f"The last feature of {name} spans [{lo:.3g}, {hi:.3g}], outside [0, 1]: the "
            "predictive score's sigmoid output cannot reach it. Compute the score on data "
            "min-max scaled as in the protocol.",
            UserWarning, stacklevel=3,
        )


@validate_params(
    {**_COMMON_CONSTRAINTS, "n_iter": [Interval(numbers.Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def predictive_score(X_real, X_synth, *, n_iter=5000, batch_size=128, hidden_size=None,
                     device="cpu", random_state=None):
    """Predictive score: train on synthetic, test on real (TSTR) one-step-ahead error.

    The protocol of TimeGAN (Yoon et al., 2019). A one-layer GRU (hidden size
    ``max(n_features // 2, 1)``) with a linear layer and a sigmoid at every step reads the
    first ``n_features - 1`` features at steps ``0 .. seq_len - 2`` and predicts the last
    feature at steps ``1 .. seq_len - 1``. It is trained on the SYNTHETIC windows only
    (L1 loss, Adam with default settings, batches drawn with replacement); the score is the
    mean absolute error of its predictions over ALL real windows. Lower is better; compare
    with the score of the real data against itself (about 0.036 on Stocks, 0.250 on
    Energy, 0.093 on Sines).

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows (the test set). ``seq_len >= 2`` and ``n_features >= 2``.
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows (the training set), same ``seq_len`` and ``n_features``; the
        counts may differ.
    n_iter : int, default=5000
        Training iterations (the protocol's 5,000).
    batch_size : int, default=128
        Windows per iteration.
    hidden_size : int, default=None
        GRU width; ``None`` means ``max(n_features // 2, 1)`` as in the protocol.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the predictor trains.
    random_state : int, RandomState instance or None, default=None
        Controls the initialisation and the batches: the same integer gives the same score
        (bit-identical on CPU).

    Returns
    -------
    score : float
        Mean absolute error on the real windows.

    Warns
    -----
    UserWarning
        When the last feature of either set leaves ``[0, 1]``, which the sigmoid cannot
        predict.

    Notes
    -----
    Nothing is rescaled: the error is in the units of the data, so the score is only
    comparable with published numbers on data in the protocol's scale (Stocks and Energy
    after the per-column min-max to ``[0, 1]``, Sines in their ``(x + 1) / 2`` scale:
    rescaling Sines to ``[0, 1]`` first doubles the score). On a CPU the predictor trains
    on a single torch thread (the global setting is restored afterwards).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import predictive_score
    >>> rng = np.random.RandomState(0)
    >>> X_real = rng.uniform(size=(40, 8, 3))
    >>> X_synth = rng.uniform(size=(40, 8, 3))
    >>> score = predictive_score(X_real, X_synth, n_iter=20, random_state=0)
    >>> 0.0 < score < 1.0
    True
    """
    X_real, X_synth = check_window_pair(X_real, X_synth, min_seq_len=2, min_features=2,
                                        metric="predictive_score")
    _warn_outside_unit(X_real[:, :, -1], "X_real")
    _warn_outside_unit(X_synth[:, :, -1], "X_synth")
    device = resolve_device(device)
    seed = seed_from_random_state(random_state)
    n_features = X_real.shape[2]
    hidden = hidden_size if hidden_size is not None else max(n_features // 2, 1)

    inputs = to_tensor(X_synth[:, :-1, :-1].transpose(1, 0, 2), device)
    targets = to_tensor(X_synth[:, 1:, -1:].transpose(1, 0, 2), device)
    with torch_threads(1, device), torch_seed(seed, device):
        module = GRUStepHead(n_features - 1, hidden, n_outputs=1, activation="sigmoid")
        module = module.to(device)
        optimizer = make_adam(module.parameters(), lr=_LR, device=device)
        train_step_predictor(module, inputs, targets, n_iter=n_iter, batch_size=batch_size,
                             optimizer=optimizer, generator=make_generator(seed))
        pred = _forward_chunks(module, to_tensor(X_real[:, :-1, :-1], device))
    error = (pred.double() - to_tensor(X_real[:, 1:, -1:], device, dtype=torch.float64)).abs()
    return error.mean().item()
