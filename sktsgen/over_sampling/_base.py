"""Base class of window over-samplers for imbalanced classification and regression.

The base decides *which* windows are augmented and *how many* new windows each class (or the
rare targets) gets; a subclass only says how one new window is made from one source window
(``_augment``), optionally after learning something from all windows (``_fit_augmenter``). A
sampler that needs the sources' indices or makes new targets (interpolation between windows)
overrides ``_augment_indices`` instead of ``_augment``.
"""

import copy
import numbers
from typing import ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from imblearn.utils._validation import ArraysTransformer
from sklearn.base import _fit_context
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..metrics._imbalanced_regression import rare_target_mask
from ..utils._lengths import _is_ragged, fill_padding, padding_mask, window_lengths
from ..utils._validation import _ndim, check_target, validate_windows

# Docstring piece shared by the augmenters: their common parameters, in numpydoc form.
_COMMON_PARAMS_DOC = """\
    sampling_strategy : float, str, dict or callable, default="auto"
        How many windows to add; see :class:`BaseWindowOverSampler`.
    minority_threshold : float, callable or None, default=None
        Regression only: rare windows are ``y > minority_threshold`` (or the callable's mask).
    random_state : int, RandomState instance or None, default=None
        Controls which windows are augmented and the random draws of the augmentation.
"""


def fill_common_params_doc(cls):
    """Replace the ``{common_params}`` line of a sampler's docstring by the shared piece."""
    cls.__doc__ = cls.__doc__.replace("    {common_params}\n", _COMMON_PARAMS_DOC)
    return cls


_REGRESSION_STRATEGIES = "'auto', a float in (0, 1] or a dict {'rare': n_rare_after}"


class BaseWindowOverSampler(BaseOverSampler):
    """Base class for over-samplers of windows ``(n_samples, seq_len, n_features)``.

    Works for classification (discrete ``y``, imbalanced-learn's ``sampling_strategy``
    semantics) and regression (continuous ``y`` with a ``minority_threshold`` marking rare
    targets). ``fit_resample`` returns the original windows first, then the new ones; each new
    window is made from a source window drawn uniformly with replacement among the windows of
    its class (or among the rare windows) and keeps that source's target, unless the sampler
    makes new targets (``_augment_indices``, see Notes).

    Subclasses implement ``_augment`` (or ``_augment_indices``) and may override
    ``_fit_augmenter``; their ``__init__`` lists every keyword-only parameter, and their
    ``_parameter_constraints`` extend this class's dict. Read more in ``docs/over_sampling.md``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many windows to add.

        Classification (imbalanced-learn's meaning): a float is the ratio minority/majority
        after resampling (binary only); ``"auto"`` (= ``"not majority"``), ``"minority"``,
        ``"not minority"``, ``"all"`` equalise the targeted classes with the majority; a dict
        maps each targeted class to its count after resampling; a callable takes ``y`` and
        returns such a dict.

        Regression: ``"auto"`` adds rare windows until there are as many rare as frequent
        ones; a float ``r`` adds rare windows until ``n_rare = int(r * n_frequent)``; a dict
        ``{"rare": n}`` asks for ``n`` rare windows after resampling (for example
        ``{"rare": 4 * n_rare}`` over-samples the rare windows x4, as in the paper).
    minority_threshold : float, callable or None, default=None
        Regression only. A number ``t`` marks windows with ``y > t`` as rare; a callable
        gets ``y`` (1-D array) and returns a boolean mask of rare windows (define it at module
        level so that the sampler pickles, e.g. in ``GridSearchCV(n_jobs=2)``). Setting it
        makes ``fit_resample`` treat ``y`` as a regression target; ``None`` means
        classification, and a continuous ``y`` then raises an error.
    random_state : int, RandomState instance or None, default=None
        Controls which windows are augmented and the augmentation itself. An int gives the
        same output on every call.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of new windows per class (classification) or ``{"rare": n_new}`` (regression).
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        For each output window, the index of its source window in ``X`` (originals map to
        themselves). For a sampler interpolating between two windows, the source is the window
        the new one was interpolated *from*.
    task_ : {"classification", "regression"}
        The task ``fit_resample`` detected.
    n_features_in_ : int
        Number of channels.
    seq_len_ : int
        Window length.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names, when ``X`` is a DataFrame (2-D input) with string column names.

    Notes
    -----
    The hooks a subclass implements:

    - ``_fit_augmenter(X, y, rare_mask, random_state)``: learn from all windows before
      augmenting (``rare_mask`` is the boolean rare mask in regression, ``None`` in
      classification). The default does nothing. It gets a copy of the random state, so
      whatever it draws, the source windows are those :class:`RandomWindowOverSampler`
      draws with the same ``random_state``.
    - ``_augment(X_source, y_source, random_state)``: return an array shaped like
      ``X_source``, one new window per source row.
    - ``_augment_indices(X, y, source, random_state)``: return ``(X_new, y_new)``, one new
      window and one target per entry of ``source`` (the int indices in ``X`` of the source
      windows, grouped by class). Override it instead of ``_augment`` to make new windows
      from other windows than the source (e.g. a neighbour, as :class:`WindowSMOTE` does) or
      to give them new targets. The default calls ``_augment(X[source], y[source],
      random_state)`` and keeps the sources' targets.

    All receive windows in the original scale and validated float dtype (float64 or
    float32), must not modify their inputs in place, and get the same
    :class:`numpy.random.RandomState` drawn from ``random_state``. The output windows are
    cast back to ``X``'s dtype; new targets are concatenated to ``y`` as they are (numpy's
    type promotion). A ``RuntimeError`` reports new windows or targets of the wrong shape and
    non-finite windows (or non-finite regression targets).

    ``X`` with NaN is rejected unless ``_accepts_nan()`` returns True (a sampler with an
    ``allow_nan`` parameter returns it; the ``allow_nan`` input tag follows). The hooks then
    receive the windows with their NaN (missing values), the original windows come back
    unchanged, with their NaN, and the new windows must still be complete. 2-D input
    ``(n, d)`` is read as windows of length 1, with a ``UserWarning`` naming
    :func:`sktsgen.utils.sliding_windows` (one long series is the likelier meaning), and
    returned 2-D.

    Windows of unequal lengths are accepted by every sampler: one array padded with NaN at
    the end (a window's padding is its trailing steps that are NaN on every channel, see
    :func:`sktsgen.utils.window_lengths`), or a list of 2-D arrays, which is padded so
    (:func:`sktsgen.utils.pad_windows`) and comes back as one padded array. The hooks
    receive the windows with each window's padding filled by repeating its last step, so
    that every method works on them unchanged; each new window must be complete there, and
    then takes its source window's length (NaN after it); the original windows come back
    unchanged, padding included.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseOverSampler._parameter_constraints,
        "minority_threshold": [numbers.Real, callable, None],
    }

    def __init__(self, *, sampling_strategy="auto", minority_threshold=None, random_state=None):
        self.sampling_strategy = sampling_strategy
        self.minority_threshold = minority_threshold
        self.random_state = random_state

    # -- hooks -------------------------------------------------------------------------
    def _fit_augmenter(self, X, y, rare_mask, random_state):
        """Learn what ``_augment`` needs from all windows; the default learns nothing."""

    def _augment(self, X_source, y_source, random_state):
        """Return one new window per row of ``X_source``, same shape."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _augment(X_source, y_source, random_state) "
            "or override _augment_indices(X, y, source, random_state)."
        )

    def _augment_indices(self, X, y, source, random_state):
        """Return ``(X_new, y_new)``: one new window and target per index in ``source``.

        The default makes each new window from its source alone (``_augment``) and keeps the
        source's target.
        """
        return self._augment(X[source], y[source], random_state), y[source]

    def _accepts_nan(self):
        """Whether ``X`` may hold NaN (missing values); a sampler that handles them
        overrides this, e.g. to return its ``allow_nan`` parameter."""
        return False

    # -- validation ----------------------------------------------------------------------
    def _check_X_y(self, X, y):
        """Validate windows and target; decide the task and the number of new windows.

        Returns ``X`` (3-D float), ``y`` (1-D), the rare mask (regression) or None, and
        whether ``y`` was one-vs-all encoded. Sets ``task_`` and ``sampling_strategy_``.
        """
        X = validate_windows(self, X, reset=True, warn_2d=True, allow_nan=self._accepts_nan(),
                             allow_padding=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "pass the class labels or regression targets of the windows."
            )
        if self.minority_threshold is not None:
            y = check_target(y, n_samples=X.shape[0])
            rare = self._rare_mask(y)
            self.task_ = "regression"
            self.sampling_strategy_ = self._regression_strategy(rare)
            return X, y, rare, False
        y_type = type_of_target(y, input_name="y")
        if y_type.startswith("continuous"):
            raise ValueError(
                "Unknown label type: y is continuous (a regression target) but "
                "minority_threshold=None. For imbalanced regression set minority_threshold "
                "to a number t (windows with y > t are rare) or to a callable returning a "
                "boolean mask of the rare targets; for classification pass discrete labels."
            )
        check_classification_targets(y)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        y = check_target(y, n_samples=X.shape[0], dtype=None)
        self.task_ = "classification"
        self.sampling_strategy_ = check_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        return X, y, None, binarize_y

    def _rare_mask(self, y):
        threshold = self.minority_threshold
        mask = rare_target_mask(y, threshold)
        if not mask.any():
            raise ValueError(
                f"minority_threshold={threshold!r} marks none of the {y.shape[0]} targets as "
                f"rare (max y = {y.max():.6g}): nothing to over-sample."
            )
        if mask.all():
            raise ValueError(
                f"minority_threshold={threshold!r} marks all {y.shape[0]} targets as rare "
                f"(min y = {y.min():.6g}): there are no frequent windows to balance against."
            )
        return mask

    def _regression_strategy(self, rare):
        n_rare = int(rare.sum())
        n_freq = rare.shape[0] - n_rare
        strategy = self.sampling_strategy
        if isinstance(strategy, str):
            if strategy != "auto":
                raise ValueError(
                    f"sampling_strategy={strategy!r} is a classification option; for "
                    f"regression use {_REGRESSION_STRATEGIES}."
                )
            target = n_freq
        elif isinstance(strategy, numbers.Real):
            target = int(strategy * n_freq)
        elif isinstance(strategy, dict):
            if set(strategy) != {"rare"} or not isinstance(strategy["rare"], numbers.Integral):
                raise ValueError(
                    "sampling_strategy as a dict must be {'rare': n} with n the int number of "
                    f"rare windows wanted after resampling for regression, got {strategy!r}."
                )
            target = int(strategy["rare"])
        else:
            # Strings such as "minority" land here too: a value error, as in imblearn.
            raise ValueError(  # noqa: TRY004
                f"sampling_strategy={strategy!r} is not supported for regression; use "
                f"{_REGRESSION_STRATEGIES}."
            )
        n_new = target - n_rare
        if n_new < 0:
            raise ValueError(
                f"sampling_strategy={strategy!r} asks for {target} rare windows but there are "
                f"already {n_rare} (and {n_freq} frequent ones); an over-sampler cannot remove "
                "windows. Ask for more rare windows."
            )
        return {"rare": n_new}

    # -- resampling ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Validate ``X`` and ``y`` and compute ``sampling_strategy_`` without resampling.

        Use :meth:`fit_resample` to get the new windows.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows; see :meth:`fit_resample`.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        self._check_X_y(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y):
        """Resample: the original windows, then the new ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features), \
or list of array-like of shape (len_i, n_features)
            Windows. 2-D input is read as windows of length 1 and returned 2-D. Windows of
            unequal lengths: padded with NaN at the end, or a list of 2-D arrays (returned
            as one NaN-padded array); each new window has its source window's length.
        y : array-like of shape (n_samples,)
            Class labels, or regression targets when ``minority_threshold`` is set.

        Returns
        -------
        X_resampled : ndarray of shape (n_samples_new, seq_len, n_features)
            Same dtype and container type (array, list, DataFrame) as ``X``.
        y_resampled : ndarray of shape (n_samples_new,)
            Each new window keeps its source window's target, unless the sampler makes new
            targets (e.g. :class:`WindowSMOTE` in regression).
        """
        ragged = _is_ragged(X)
        # A ragged list comes back as one padded array, not as a list.
        arrays = ArraysTransformer(np.empty(0) if ragged else X, y)
        was_2d = not ragged and _ndim(X) == 2
        X, y, rare, binarize_y = self._check_X_y(X, y)
        X_res, y_res = self._fit_resample(X, y, rare)
        if was_2d:
            X_res = X_res[:, 0, :]
        if binarize_y:
            y_res = label_binarize(y_res, classes=np.unique(y))
        return arrays.transform(X_res, y_res)

    def _source_indices(self, y, rare, random_state):
        """Source window of every new window, grouped by class in ``sampling_strategy_`` order."""
        pools = (
            [np.flatnonzero(rare)] if rare is not None
            else [np.flatnonzero(y == label) for label in self.sampling_strategy_]
        )
        picks = [
            pool[random_state.randint(0, pool.shape[0], size=n_new)]
            for pool, n_new in zip(pools, self.sampling_strategy_.values())
        ]
        return np.concatenate(picks).astype(np.intp, copy=False)

    def _fit_resample(self, X, y, rare=None):
        random_state = check_random_state(self.random_state)
        lengths = window_lengths(X)
        padded = bool((lengths < X.shape[1]).any())
        # The hooks see shorter windows with their last step repeated over the padding.
        X_hooks = fill_padding(X, lengths) if padded else X
        # Fit before drawing sources, so that a learned augmenter does not depend on how
        # many windows are asked for, and on a copy of the random state, so that the sources
        # are those RandomWindowOverSampler draws with the same random_state: changing the
        # sampler changes how the new windows are made, not which windows they come from.
        self._fit_augmenter(X_hooks, y, rare, copy.deepcopy(random_state))
        source = self._source_indices(y, rare, random_state)
        self.sample_indices_ = np.concatenate([np.arange(X.shape[0]), source])
        if source.shape[0] == 0:
            return X.copy(), y.copy()
        X_new, y_new = self._augment_indices(X_hooks, y, source, random_state)
        X_new, y_new = np.asarray(X_new), np.asarray(y_new)
        expected = (source.shape[0],) + X.shape[1:]
        hook = ("_augment_indices" if type(self)._augment_indices
                is not BaseWindowOverSampler._augment_indices else "_augment")
        if X_new.shape != expected:
            raise RuntimeError(
                f"{type(self).__name__}.{hook} returned shape {X_new.shape}, expected "
                f"{expected} (one new window per source window)."
            )
        if not np.isfinite(X_new).all():
            raise RuntimeError(
                f"{type(self).__name__} produced non-finite windows (NaN or inf)."
            )
        if y_new.shape != source.shape:
            raise RuntimeError(
                f"{type(self).__name__}._augment_indices returned targets of shape "
                f"{y_new.shape}, expected {source.shape} (one target per new window)."
            )
        if rare is not None and not np.isfinite(y_new).all():
            raise RuntimeError(
                f"{type(self).__name__} produced non-finite targets (NaN or inf)."
            )
        X_new = X_new.astype(X.dtype, copy=False)
        if padded:
            # Each new window ends where its source does (np.where: the hook's array may be
            # read-only or shared).
            own = padding_mask(lengths[source], X.shape[1])[:, :, None]
            X_new = np.where(own, X_new, np.nan).astype(X.dtype, copy=False)
        X_res = np.concatenate([X, X_new], axis=0)
        return X_res, np.concatenate([y, y_new])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self._accepts_nan()
        tags.sampler_tags.sample_indices = True
        return tags


class RandomWindowOverSampler(BaseWindowOverSampler):
    """Over-sample windows by duplication (random over-sampling with replacement).

    The paper's "oversample" baseline: each new window is an exact copy of a window drawn
    uniformly with replacement from its class (classification) or from the rare windows
    (regression).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        See :class:`BaseWindowOverSampler`.
    minority_threshold : float, callable or None, default=None
        Regression only: rare windows are ``y > minority_threshold`` (or the callable's mask).
    random_state : int, RandomState instance or None, default=None
        Controls which windows are duplicated.

    Attributes
    ----------
    sampling_strategy_ : dict
        New windows per class, or ``{"rare": n_new}`` in regression.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Index in ``X`` of the source of each output window.
    task_ : {"classification", "regression"}
    n_features_in_ : int
    seq_len_ : int

    Examples
    --------
    Regression with rare targets above 2.5, over-sampled x4:

    >>> import numpy as np
    >>> from sktsgen.over_sampling import RandomWindowOverSampler
    >>> X = np.arange(24.0).reshape(6, 2, 2)
    >>> y = np.array([0.1, 0.5, 3.0, 0.2, 0.4, 0.3])
    >>> sampler = RandomWindowOverSampler(sampling_strategy={"rare": 4},
    ...                                   minority_threshold=2.5, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, y_res[6:]
    ((9, 2, 2), array([3., 3., 3.]))
    >>> sampler.sample_indices_[6:]
    array([2, 2, 2])

    Classification, balancing the classes:

    >>> X_res, y_res = RandomWindowOverSampler(random_state=0).fit_resample(X, [0, 0, 0, 0, 1, 1])
    >>> np.bincount(y_res)
    array([4, 4])
    """

    def __init__(self, *, sampling_strategy="auto", minority_threshold=None, random_state=None):
        super().__init__(
            sampling_strategy=sampling_strategy, minority_threshold=minority_threshold,
            random_state=random_state,
        )

    def _augment(self, X_source, y_source, random_state):
        # X_source is already a fresh copy (fancy indexing); duplication needs nothing more.
        return X_source
