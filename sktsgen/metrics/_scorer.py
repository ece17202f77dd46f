"""Scorers that let ``GridSearchCV`` tune any generator with a ``sample(n_samples)`` method."""

import inspect

import numpy as np
from sklearn.utils import check_random_state

from ._registry import get_metric
from ._repeat import accepts_random_state


class GenerationScorer:
    """Callable ``scorer(estimator, X, y=None)`` comparing ``estimator.sample(len(X))`` with X.

    Build it with :func:`make_generation_scorer`. Module-level and holding only plain
    values (a metric name or a module-level callable), so it pickles for
    ``GridSearchCV(n_jobs=...)``.

    Parameters
    ----------
    metric : str or callable
        Name of a metric of :mod:`sktsgen.metrics` or ``metric(X_real, X_synth, **params)``.
    sign : {1, -1}
        Multiplies the metric so that greater is better.
    metric_params : dict
        Keyword arguments of the metric.
    random_state : int, RandomState instance or None
        Seeds the draw from the generator and the metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import make_generation_scorer
    >>> class Replay:  # a "generator" that hands back (shifted) training windows
    ...     def __init__(self, X, shift=0.0):
    ...         self.X, self.shift = X, shift
    ...     def sample(self, n_samples, random_state=None):
    ...         rng = np.random.RandomState(random_state)
    ...         return self.X[rng.randint(len(self.X), size=n_samples)] + self.shift
    >>> X = np.random.RandomState(0).normal(size=(60, 6, 2))
    >>> scorer = make_generation_scorer("mmd", random_state=0)
    >>> bool(scorer(Replay(X), X) > scorer(Replay(X, shift=1.0), X))  # greater is better
    True
    """

    def __init__(self, metric, sign, metric_params, random_state):
        self.metric = metric
        self.sign = sign
        self.metric_params = metric_params
        self.random_state = random_state

    def __call__(self, estimator, X, y=None):
        """Draw ``len(X)`` windows from ``estimator`` and score them against ``X``.

        Parameters
        ----------
        estimator : object
            Fitted generator with a ``sample(n_samples)`` method returning windows (or a
            tuple whose first element is the windows, like ``GaussianMixture.sample``).
            When ``sample`` takes a ``random_state`` keyword, a seed from the scorer's
            ``random_state`` is passed for reproducibility.
        X : array-like of shape (n_samples, seq_len, n_features)
            Held-out real windows.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Greater is better (``-metric`` for the lower-is-better metrics).
        """
        if not hasattr(estimator, "sample"):
            raise TypeError(
                f"{type(estimator).__name__} has no sample(n_samples) method: a generation "
                "scorer needs a generator."
            )
        rng = check_random_state(self.random_state)
        sample_seed, metric_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        sample_kw = {}
        if "random_state" in _parameters(estimator.sample):
            sample_kw["random_state"] = sample_seed
        X_synth = estimator.sample(len(X), **sample_kw)
        if isinstance(X_synth, tuple):
            X_synth = X_synth[0]
        func = get_metric(self.metric)
        params = dict(self.metric_params)
        if accepts_random_state(func) and "random_state" not in params:
            params["random_state"] = metric_seed
        return self.sign * float(func(X, np.asarray(X_synth), **params))

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else getattr(
            self.metric, "__name__", repr(self.metric))
        params = "".join(f", {k}={v!r}" for k, v in sorted(self.metric_params.items()))
        return (f"make_generation_scorer({name!r}{params}, "
                f"random_state={self.random_state!r})")


def _parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


def make_generation_scorer(metric="discriminative", *, greater_is_better=None,
                           random_state=None, **metric_params):
    """Make a scorer for model selection of generators, e.g. with ``GridSearchCV``.

    The scorer ``scorer(estimator, X, y=None)`` draws ``len(X)`` windows with
    ``estimator.sample(len(X))`` and compares them with the held-out windows ``X`` using
    ``metric``. It returns a greater-is-better value: the negated score for the
    lower-is-better metrics (all of those of :mod:`sktsgen.metrics`), so ``best_score_`` is
    ``-best_metric``.

    Parameters
    ----------
    metric : {"discriminative", "predictive", "correlational", "autocorrelation", "mmd"} \
or callable, default="discriminative"
        A metric of :mod:`sktsgen.metrics` by name, or a callable
        ``metric(X_real, X_synth, **metric_params)``. Pass a module-level function (not a
        lambda) if the search runs with ``n_jobs > 1``.
    greater_is_better : bool, default=None
        Whether a larger metric value is better. ``None`` means False (every named metric
        is lower-is-better); set it for your own callables.
    random_state : int, RandomState instance or None, default=None
        Seeds both the draw (when ``sample`` takes a ``random_state``) and the metric. An
        integer gives every candidate the same seeds, which makes their comparison less
        noisy and the search reproducible.
    **metric_params : dict
        Keyword arguments of the metric, e.g. ``n_iter``. The protocol's defaults apply
        when left out (2,000 iterations for the discriminative score, 5,000 for the
        predictive score): a search fits one classifier per candidate and fold.

    Returns
    -------
    scorer : GenerationScorer

    Notes
    -----
    The discriminative score is noisy (see :func:`discriminative_score`); with few folds,
    prefer ``metric="predictive"`` or a distance such as ``"mmd"`` for a first screen, or
    raise ``cv``. The generator is fitted on the training folds and scored against windows
    it has not seen.

    Examples
    --------
    >>> from sktsgen.metrics import make_generation_scorer
    >>> make_generation_scorer("mmd", max_samples=500, random_state=0)
    make_generation_scorer('mmd', max_samples=500, random_state=0)
    >>> make_generation_scorer("discriminative", n_iter=500)
    make_generation_scorer('discriminative', n_iter=500, random_state=None)

    In a search over a generator ``gen`` with a ``sample`` method (``X`` of shape
    ``(n, seq_len, n_features)``)::

        from sklearn.model_selection import GridSearchCV
        search = GridSearchCV(gen, {"n_iter": [1000, 4000]}, cv=3, n_jobs=2,
                              scoring=make_generation_scorer("predictive", random_state=0))
        search.fit(X)
    """
    get_metric(metric)  # fail early on an unknown name
    if greater_is_better is None:
        greater_is_better = False
    if not isinstance(greater_is_better, (bool, np.bool_)):
        raise TypeError(f"greater_is_better must be a bool or None, got {greater_is_better!r}.")
    if isinstance(metric, str) and greater_is_better:
        raise ValueError(
            f"metric={metric!r} is lower-is-better; greater_is_better=True only makes sense "
            "for your own callable."
        )
    return GenerationScorer(metric, 1 if greater_is_better else -1, dict(metric_params),
                            random_state)


#: Negated :func:`discriminative_score` with the protocol's 2,000 iterations and fixed seeds
#: (``random_state=0``): every candidate is scored with the same classifier seed.
discriminative_scorer = make_generation_scorer("discriminative", n_iter=2000, random_state=0)

#: Negated :func:`predictive_score` with the protocol's 5,000 iterations and fixed seeds
#: (``random_state=0``).
predictive_scorer = make_generation_scorer("predictive", n_iter=5000, random_state=0)

