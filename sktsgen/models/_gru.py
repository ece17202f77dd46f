"""GRU regressor and classifier on windows: the paper's downstream models as sklearn estimators."""

import contextlib
import numbers
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..nn import GRUHead
from ..preprocessing import WindowMinMaxScaler
from ..training._supervised import train_supervised
from ..utils._lengths import fill_padding, window_lengths
from ..utils._torch import (
    TorchPickleMixin,
    make_generator,
    resolve_device,
    seed_from_random_state,
    to_tensor,
    torch_seed,
    torch_threads,
)
from ..utils._validation import check_target, validate_windows

_PREDICT_CHUNK = 4096  # windows per forward pass at predict time (bounds memory)


class _BaseGRUModel(TorchPickleMixin, BaseEstimator):
    """Shared fit/predict plumbing; subclasses say how targets are encoded and decoded."""

    _loss = None
    _y_dtype = None  # check_array dtype of y: "numeric" for regression, labels kept as is

    _parameter_constraints: ClassVar[dict] = {
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "augmenter": "no_validation",  # checked in fit, with a message naming what fits
    }

    def __init__(self, *, hidden_size=15, num_layers=2, dropout=0.0, max_iter=50,
                 batch_size=64, learning_rate=1e-3, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, device="cpu",
                 verbose=0, random_state=None, warm_start=False, augmenter=None):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start
        self.augmenter = augmenter

    def fit(self, X, y):
        """Train the GRU on windows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows (2-D input is read as windows of length 1). Windows of unequal lengths
            come as one array padded with NaN at the end (the padding: trailing steps NaN on
            every channel, see :func:`sktsgen.utils.window_lengths`) or as a list of 2-D
            arrays, padded so; ``seq_len_`` is then the longest window's length.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, augment=None):
        """``fit`` with an optional per-batch hook, for samplers that train this model.

        ``augment(xb, yb, idx) -> (xb, yb)`` is passed to
        :func:`sktsgen.training._supervised.train_supervised`: it sees the tensors the module
        sees, windows scaled by ``scaler_`` and targets encoded by this estimator
        (standardised floats for the regressor, int64 class codes for the classifier), and
        the batch's rows among the training windows. ``augmenter`` uses the same hook. The
        padding of shorter windows reaches it filled with their last step, and the network
        reads each window's own steps only, whatever the hook does to the padding.
        """
        warm = self.warm_start and hasattr(self, "module_")
        X = validate_windows(self, X, reset=not warm, allow_padding=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = check_target(column_or_1d(y, warn=True), n_samples=X.shape[0], dtype=self._y_dtype)
        target = self._encode_target(y, warm)
        device = resolve_device(self.device)
        seed = seed_from_random_state(self.random_state)
        if not warm:
            self.scaler_ = WindowMinMaxScaler().fit(X)  # NaN-aware: padding is left out
        lengths = self._lengths(X)
        Xt = to_tensor(self._scaled(X, lengths), device)
        yt = torch.as_tensor(target, device=device)
        lt = None if lengths is None else torch.as_tensor(lengths, device=device)
        train_idx, val_idx = self._split(X.shape[0], seed)
        validation = None if val_idx is None else (
            Xt[val_idx], yt[val_idx], None if lt is None else lt[val_idx])
        rows = train_idx if isinstance(train_idx, slice) else train_idx.numpy()
        if lengths is not None:
            # The augmenter learns from, and perturbs, windows whose padding repeats their
            # last step; the network reads each window's own steps only.
            X = fill_padding(X, lengths)
        perturber = self._fit_batch_augmenter(X[rows], y[rows], augment, device, seed)
        if perturber is not None:
            augment = perturber
        with torch_threads(1, device), torch_seed(seed, device), \
                (perturber if perturber is not None else contextlib.nullcontext()):
            if not warm:
                self.module_ = GRUHead(
                    self.n_features_in_, self.hidden_size, self.num_layers,
                    n_outputs=self._n_outputs(), dropout=self.dropout,
                ).to(device)
                self.optimizer_ = None
            elif getattr(self, "device_", device) != device:
                self.module_.to(device)
                self.optimizer_ = None  # its state lives on the old device
            self.history_, self.optimizer_ = train_supervised(
                self.module_, Xt[train_idx], yt[train_idx], loss=self._loss,
                n_epochs=self.max_iter, batch_size=self.batch_size,
                generator=make_generator(seed), optimizer=getattr(self, "optimizer_", None),
                learning_rate=self.learning_rate, validation=validation,
                n_iter_no_change=self.n_iter_no_change, tol=self.tol, augment=augment,
                lengths=None if lt is None else lt[train_idx],
                verbose=self.verbose, desc=type(self).__name__,
            )
        self.device_ = device
        self.n_iter_ = len(self.history_["train"])
        return self

    def _fit_batch_augmenter(self, X, y, augment, device, seed):
        """Fit ``augmenter_`` (a clone of ``augmenter``) on the training windows and return
        its per-batch hook, or None without an augmenter."""
        if self.augmenter is None:
            self.augmenter_ = None
            return None
        if not hasattr(self.augmenter, "_fit_batch_perturber"):
            raise TypeError(
                "augmenter must be a LatentAdversarialSampler (which can perturb batches "
                f"while the model trains) or None, got {type(self.augmenter).__name__}. To "
                "add fixed new windows with another sampler, put it before the model in an "
                "imblearn Pipeline."
            )
        if augment is not None:
            raise ValueError("augmenter and an augment hook cannot be combined.")
        self.augmenter_ = clone(self.augmenter)
        own_state = self.augmenter_.random_state
        return self.augmenter_._fit_batch_perturber(
            X, y, input_scaler=self.scaler_, device=device,
            random_state=seed if own_state is None else own_state,
        )

    def _split(self, n_samples, seed):
        """Row indices for training and (with early stopping) validation."""
        if not self.early_stopping:
            return slice(None), None
        # int(): under NumPy 1.x, round() of a NumPy float stays a float.
        n_val = int(round(self.validation_fraction * n_samples))  # noqa: RUF046
        if n_val < 1 or n_val >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_val} of "
                f"{n_samples} windows for validation; early_stopping needs at least one "
                "window for validation and one for training."
            )
        perm = np.random.RandomState(seed).permutation(n_samples)
        return torch.as_tensor(perm[n_val:]), torch.as_tensor(perm[:n_val])

    @staticmethod
    def _lengths(X):
        """Each window's own steps, or None when every window is complete."""
        lengths = window_lengths(X)
        return None if (lengths == X.shape[1]).all() else lengths

    def _scaled(self, X, lengths):
        """Scaled windows, the padding of shorter windows filled with their last step (any
        finite value would do: the network does not read it)."""
        Xs = self.scaler_.transform(X)
        return Xs if lengths is None else fill_padding(Xs, lengths)

    def _forward(self, X):
        """Raw network outputs for windows ``X``, as a float64 array (chunked, no gradients)."""
        check_is_fitted(self, "module_")
        X = validate_windows(self, X, reset=False, allow_padding=True)
        lengths = self._lengths(X)
        Xs = self._scaled(X, lengths)
        self.module_.eval()
        outs = []
        # One torch thread, as in training: a second one gains little on these small GRUs
        # and costs many times over when another process holds the other core.
        with torch.no_grad(), torch_threads(1, self.device_):
            for start in range(0, Xs.shape[0], _PREDICT_CHUNK):
                xb = to_tensor(Xs[start:start + _PREDICT_CHUNK], self.device_)
                lb = None if lengths is None else lengths[start:start + _PREDICT_CHUNK]
                outs.append(self.module_(xb, lengths=lb).double().cpu().numpy())
        return np.concatenate(outs, axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class GRURegressor(RegressorMixin, _BaseGRUModel):
    """GRU regression on windows: the paper's downstream model (2 layers of 15 units).

    A GRU stack reads each window; its last hidden state goes through a linear layer to one
    value. Windows are min-max scaled per channel and ``y`` is standardised inside; predictions
    come back in ``y``'s scale. Trained with mean squared error and Adam on shuffled
    mini-batches for ``max_iter`` epochs, optionally stopping early on a held-out fraction.

    Windows of unequal lengths, padded with NaN at the end (see
    :func:`sktsgen.utils.pad_windows`) or given as a list of 2-D arrays, are read on their
    own steps: the GRU runs over packed sequences and the linear layer reads each window's
    hidden state at its own last step, so the padding plays no part in fit or predict.

    Parameters
    ----------
    hidden_size : int, default=15
        Units per GRU layer.
    num_layers : int, default=2
        Stacked GRU layers.
    dropout : float, default=0.0
        Dropout between GRU layers.
    max_iter : int, default=50
        Maximum number of epochs.
    batch_size : int, default=64
    learning_rate : float, default=1e-3
        Adam's step size.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the windows (drawn at random), stop when their
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the best
        weights. After an over-sampler, copies of a window may fall on both sides of this
        split, which makes the validation loss optimistic.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    device : {"cpu", "cuda", "auto"}, default="cpu"
    verbose : int, default=0
        Progress bar on stderr when > 0.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batch order and the validation split; an int gives identical
        results on CPU.
    warm_start : bool, default=False
        Continue training the fitted network (same scaling) instead of starting anew.
    augmenter : LatentAdversarialSampler or None, default=None
        Latent adversarial augmentation on the fly, the paper's own protocol: a clone of it
        trains its autoencoder on the training windows, then, while this model trains, the
        windows it would over-sample (the rare ones, or those of the classes its
        ``sampling_strategy`` names) are replaced in every batch by perturbed versions, and
        its perturbation module is trained jointly with this model to make them hard for
        it. Nothing is added to the data: put a sampler (e.g. duplication) before the model
        in an imblearn ``Pipeline`` for that. Runs on this model's ``device``; when the
        augmenter's ``random_state`` is None, this model's seeds it. Every ``fit`` trains a
        new clone, with ``warm_start`` too. Windows of unequal lengths are supported: the
        augmenter learns from, and perturbs, the windows with their padding filled by
        repeating their last step, and the model still reads each window's own steps only.
        See ``docs/over_sampling.md``.

    Attributes
    ----------
    module_ : sktsgen.nn.GRUHead
    scaler_ : sktsgen.preprocessing.WindowMinMaxScaler
    y_mean_, y_std_ : float
        Standardisation of ``y``.
    history_ : dict
        Loss per epoch (``"train"``, and ``"val"`` with early stopping) in standardised units.
    n_iter_ : int
        Epochs run by the last ``fit``.
    augmenter_ : LatentAdversarialSampler or None
        The fitted clone of ``augmenter`` (its ``perturbation_module_`` as trained with this
        model).
    device_ : torch.device
    n_features_in_ : int
    seq_len_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.models import GRURegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 6, 2))
    >>> y = X[:, -1, 0] * 10 + 50
    >>> model = GRURegressor(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)

    The same model with the rare windows (top 10% of ``y``) perturbed on the fly:

    >>> from sktsgen.over_sampling import LatentAdversarialSampler
    >>> aug = LatentAdversarialSampler(minority_threshold=np.quantile(y, 0.9), latent_dim=16,
    ...                                n_iter=5)
    >>> model = GRURegressor(hidden_size=8, max_iter=5, random_state=0, augmenter=aug).fit(X, y)
    >>> model.augmenter_.perturbation_module_ is not None
    True
    """

    _loss = "squared_error"
    _y_dtype = "numeric"

    def __init__(self, *, hidden_size=15, num_layers=2, dropout=0.0, max_iter=50,
                 batch_size=64, learning_rate=1e-3, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, device="cpu",
                 verbose=0, random_state=None, warm_start=False, augmenter=None):
        super().__init__(
            hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, max_iter=max_iter,
            batch_size=batch_size, learning_rate=learning_rate, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            tol=tol, device=device, verbose=verbose, random_state=random_state,
            warm_start=warm_start, augmenter=augmenter,
        )

    def _n_outputs(self):
        return 1

    def _encode_target(self, y, warm):
        y = y.astype(np.float64)
        if not warm:
            self.y_mean_ = float(y.mean())
            std = float(y.std())
            self.y_std_ = std if std > 0 else 1.0
        return ((y - self.y_mean_) / self.y_std_).astype(np.float32)

    def predict(self, X):
        """Predict targets for windows.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows of ``seq_len_`` steps; shorter windows padded with NaN at the end, or a
            list of windows of unequal lengths (padded to ``seq_len_``). Each window is
            read on its own steps only.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,), float64
        """
        return self._forward(X)[:, 0] * self.y_std_ + self.y_mean_


class GRUClassifier(ClassifierMixin, _BaseGRUModel):
    """GRU classification on windows (2 layers of 15 units by default).

    Same network and training as :class:`GRURegressor`, with one logit per class and the
    cross-entropy loss. Labels may be any hashable values (ints, strings). Windows of
    unequal lengths (NaN-padded, or a list of 2-D arrays) are read on their own steps, as
    in :class:`GRURegressor`.

    Parameters
    ----------
    hidden_size : int, default=15
    num_layers : int, default=2
    dropout : float, default=0.0
    max_iter : int, default=50
        Maximum number of epochs.
    batch_size : int, default=64
    learning_rate : float, default=1e-3
    early_stopping : bool, default=False
        See :class:`GRURegressor`.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    device : {"cpu", "cuda", "auto"}, default="cpu"
    verbose : int, default=0
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Continue training the fitted network; ``y`` may only contain classes seen before.
    augmenter : LatentAdversarialSampler or None, default=None
        On-the-fly latent adversarial augmentation of the windows of the classes its
        ``sampling_strategy`` names; see :class:`GRURegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : sktsgen.nn.GRUHead
    scaler_ : sktsgen.preprocessing.WindowMinMaxScaler
    history_ : dict
    n_iter_ : int
    augmenter_ : LatentAdversarialSampler or None
    device_ : torch.device
    n_features_in_ : int
    seq_len_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.models import GRUClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 6, 2))
    >>> y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    >>> clf = GRUClassifier(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _loss = "cross_entropy"

    def __init__(self, *, hidden_size=15, num_layers=2, dropout=0.0, max_iter=50,
                 batch_size=64, learning_rate=1e-3, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, device="cpu",
                 verbose=0, random_state=None, warm_start=False, augmenter=None):
        super().__init__(
            hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, max_iter=max_iter,
            batch_size=batch_size, learning_rate=learning_rate, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            tol=tol, device=device, verbose=verbose, random_state=random_state,
            warm_start=warm_start, augmenter=augmenter,
        )

    def _n_outputs(self):
        return len(self.classes_)

    def _encode_target(self, y, warm):
        check_classification_targets(y)
        if warm:
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(
                    f"warm_start=True: y has classes {unseen.tolist()} not seen in the first "
                    f"fit (classes_ = {self.classes_.tolist()})."
                )
            return np.searchsorted(self.classes_, y).astype(np.int64)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"GRUClassifier needs at least 2 classes in y, got 1 class "
                f"({self.classes_[0]!r})."
            )
        return codes.astype(np.int64)

    def predict_proba(self, X):
        """Class probabilities for windows.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows of ``seq_len_`` steps; shorter windows padded with NaN at the end, or a
            list of windows of unequal lengths (padded to ``seq_len_``). Each window is
            read on its own steps only.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        logits = self._forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict class labels for windows.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows of ``seq_len_`` steps; shorter windows padded with NaN at the end, or a
            list of windows of unequal lengths (padded to ``seq_len_``). Each window is
            read on its own steps only.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        codes = np.argmax(self._forward(X), axis=1)
        return self.classes_[codes]
