"""Flatten windows for classic scikit-learn models placed after a window sampler."""

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import _check_feature_names_in, check_array, check_is_fitted

from ..utils._validation import FLOAT_DTYPES, validate_windows


class WindowFlattener(TransformerMixin, BaseEstimator):
    """Reshape windows ``(n, seq_len, n_features)`` to rows ``(n, seq_len * n_features)``.

    Lets any scikit-learn estimator follow a window sampler in an
    :class:`imblearn.pipeline.Pipeline`. Row ``i`` of the output is window ``i`` read step by
    step: the ``n_features`` channels of step 0, then those of step 1, and so on. A class
    rather than a lambda in a ``FunctionTransformer``, so pipelines pickle (for
    ``GridSearchCV(n_jobs=2)``).

    Attributes
    ----------
    n_features_in_ : int
        Channels per step.
    seq_len_ : int
        Window length; ``transform`` requires the same.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names, when fitted on a DataFrame (2-D input).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.preprocessing import WindowFlattener
    >>> X = np.arange(12.0).reshape(2, 3, 2)
    >>> flat = WindowFlattener().fit(X)
    >>> flat.transform(X)
    array([[ 0.,  1.,  2.,  3.,  4.,  5.],
           [ 6.,  7.,  8.,  9., 10., 11.]])
    >>> flat.get_feature_names_out(["a", "b"])[:3]
    array(['a_t0', 'b_t0', 'a_t1'], dtype=object)
    """

    _parameter_constraints: ClassVar[dict] = {}

    def __init__(self):
        pass

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the window shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : WindowFlattener
        """
        validate_windows(self, X, reset=True)
        return self

    def transform(self, X):
        """Flatten windows.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)

        Returns
        -------
        X_flat : ndarray of shape (n_samples, seq_len * n_features)
            Same float dtype as the validated input; a copy.
        """
        X = validate_windows(self, X, reset=False)
        return X.reshape(X.shape[0], -1).copy()

    def inverse_transform(self, X):
        """Reshape flat rows back to windows ``(n_samples, seq_len_, n_features_in_)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len_ * n_features_in_)

        Returns
        -------
        windows : ndarray of shape (n_samples, seq_len_, n_features_in_)
        """
        check_is_fitted(self)
        X = check_array(X, dtype=list(FLOAT_DTYPES), input_name="X")
        width = self.seq_len_ * self.n_features_in_
        if X.shape[1] != width:
            raise ValueError(
                f"X has {X.shape[1]} columns, expected seq_len_ * n_features_in_ = {width}."
            )
        return X.reshape(X.shape[0], self.seq_len_, self.n_features_in_).copy()

    def get_feature_names_out(self, input_features=None):
        """Output names: ``"{channel}_t{step}"`` (the channel names alone for length 1).

        Parameters
        ----------
        input_features : array-like of str, default=None
            Channel names; defaults to ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self)
        channels = _check_feature_names_in(self, input_features)
        if self.seq_len_ == 1:
            return channels
        return np.asarray(
            [f"{name}_t{t}" for t in range(self.seq_len_) for name in channels], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
