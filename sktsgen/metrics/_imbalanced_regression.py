"""Macro-averaged errors for imbalanced regression: rare and frequent targets weigh the same.

With 5% rare targets, a plain RMSE is dominated by the frequent ones; Kim, Choi & Choo (2021)
compute the error separately on rare and frequent targets and average the two, as if both
groups had the same size.
"""

import numbers

import numpy as np
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_array


def rare_target_mask(y, minority_threshold):
    """Boolean mask of rare targets: ``y > minority_threshold``, or a callable's mask.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    minority_threshold : float or callable
        A finite number, or a callable taking ``y`` and returning a boolean mask of the same
        shape.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples,)
    """
    if callable(minority_threshold):
        mask = np.asarray(minority_threshold(y))
        if mask.dtype != bool or mask.shape != y.shape:
            raise ValueError(
                "minority_threshold, when callable, must return a boolean mask of shape "
                f"{y.shape} marking the rare targets; got dtype {mask.dtype} and shape "
                f"{mask.shape}."
            )
        return mask
    if (isinstance(minority_threshold, (bool, np.bool_))
            or not isinstance(minority_threshold, numbers.Real)
            or not np.isfinite(minority_threshold)):
        raise ValueError(
            "minority_threshold must be a finite number or a callable returning a boolean "
            f"mask, got {minority_threshold!r}."
        )
    return y > minority_threshold


def _group_errors(y_true, y_pred, minority_threshold, error):
    y_true = check_array(y_true, ensure_2d=False, dtype="numeric", input_name="y_true")
    y_pred = check_array(y_pred, ensure_2d=False, dtype="numeric", input_name="y_pred")
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D, got shapes {y_true.shape} and {y_pred.shape}."
        )
    check_consistent_length(y_true, y_pred)
    rare = rare_target_mask(y_true, minority_threshold)
    if rare.all() or not rare.any():
        raise ValueError(
            f"minority_threshold={minority_threshold!r} marks {int(rare.sum())} of "
            f"{rare.size} targets as rare: a macro average needs both rare and frequent "
            "targets in y_true."
        )
    diff = y_pred.astype(np.float64) - y_true
    return {"rare": float(error(diff[rare])), "frequent": float(error(diff[~rare]))}


def _finish(groups, average):
    if average == "macro":
        return (groups["rare"] + groups["frequent"]) / 2.0
    if average is None:
        return groups
    raise ValueError(f"average must be 'macro' or None, got {average!r}.")


def macro_root_mean_squared_error(y_true, y_pred, *, minority_threshold, average="macro"):
    """Root mean squared error averaged over rare and frequent targets.

    ``(RMSE(rare) + RMSE(frequent)) / 2``, where rare targets are ``y_true >
    minority_threshold`` (the "RMSE-macro" of Kim, Choi & Choo, 2021).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
    minority_threshold : float or callable
        Rare targets are ``y_true > minority_threshold``; a callable gets ``y_true`` and
        returns a boolean mask of the rare ones. Both groups must be non-empty.
    average : {"macro", None}, default="macro"
        ``None`` returns ``{"rare": rmse, "frequent": rmse}`` instead of their mean.

    Returns
    -------
    error : float or dict
        Lower is better. For model selection use
        ``make_scorer(macro_root_mean_squared_error, greater_is_better=False,
        minority_threshold=t)`` (with a module-level function as a callable threshold when
        the search runs in parallel).

    Examples
    --------
    >>> from sktsgen.metrics._imbalanced_regression import macro_root_mean_squared_error
    >>> y_true = [10, 20, 30, 200]
    >>> y_pred = [12, 18, 30, 150]
    >>> macro_root_mean_squared_error(y_true, y_pred, minority_threshold=150)
    25.816...
    >>> macro_root_mean_squared_error(y_true, y_pred, minority_threshold=150, average=None)
    {'rare': 50.0, 'frequent': 1.632...}
    """
    groups = _group_errors(y_true, y_pred, minority_threshold,
                           lambda d: np.sqrt(np.mean(d ** 2)))
    return _finish(groups, average)


def macro_mean_absolute_error(y_true, y_pred, *, minority_threshold, average="macro"):
    """Mean absolute error averaged over rare and frequent targets.

    ``(MAE(rare) + MAE(frequent)) / 2``, where rare targets are ``y_true >
    minority_threshold`` (the "MAE-macro" of Kim, Choi & Choo, 2021).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
    minority_threshold : float or callable
        Rare targets are ``y_true > minority_threshold``; a callable gets ``y_true`` and
        returns a boolean mask of the rare ones. Both groups must be non-empty.
    average : {"macro", None}, default="macro"
        ``None`` returns ``{"rare": mae, "frequent": mae}`` instead of their mean.

    Returns
    -------
    error : float or dict
        Lower is better; see :func:`macro_root_mean_squared_error` for use as a scorer.

    Examples
    --------
    >>> from sktsgen.metrics._imbalanced_regression import macro_mean_absolute_error
    >>> macro_mean_absolute_error([10, 20, 30, 200], [12, 18, 30, 150], minority_threshold=150)
    25.666...
    """
    groups = _group_errors(y_true, y_pred, minority_threshold, lambda d: np.mean(np.abs(d)))
    return _finish(groups, average)
