"""Over-sampling with a conditional generator: new windows drawn for a class or a target."""

from typing import ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods

from ._base import BaseWindowOverSampler, fill_common_params_doc


@fill_common_params_doc
class GenerativeWindowOverSampler(BaseWindowOverSampler):
    """Over-sample windows with a generator fitted to all windows and asked for rare ones.

    ``fit_resample`` fits a clone of ``generator`` on every window with its class label
    (classification) or target (regression), then asks it for the new windows:
    ``generator_.sample(n, y=y_source)``, where the base class draws ``y_source`` as the
    labels or targets of source windows picked uniformly with replacement from each class to
    over-sample (or from the rare windows). The new windows are not copies or perturbations
    of the sources: they decode fresh codes drawn from the generator's density for that
    class (or for that target), and keep the label or target they were drawn for. Windows
    of unequal lengths (NaN-padded) are handled by the base class: the generator is fitted
    on the windows with their padding filled by their last step, and each new window is cut
    to its source window's length (NaN after it).

    The default generator, :class:`~sktsgen.generation.AvatarGenerator`, conditions its
    code density after an unconditional training: one Gaussian mixture per class, shrunk
    towards the pooled within-class covariance so that a class of a few windows borrows the
    way windows of every class vary; in regression a joint mixture of codes and target,
    sampled given the target. See ``docs/over_sampling.md`` for how it compares with
    duplication.

    Parameters
    ----------
    generator : estimator with ``fit(X, y)`` and ``sample(n, random_state=, y=)``, \
default=None
        Cloned at every ``fit_resample``. None means ``AvatarGenerator()`` (its defaults:
        2000 iterations per stage, minutes on a CPU for a few thousand windows). When the
        generator has a ``target_type`` parameter, it is set to ``"classes"`` in
        classification and ``"continuous"`` in regression; when its ``random_state`` is
        None, it is drawn from this sampler's ``random_state``.
    {common_params}

    Attributes
    ----------
    generator_ : estimator
        The fitted clone of ``generator``.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        For each output window, the index in ``X`` of its source: for a new window, the
        window whose label or target it was generated for (it is not derived from that
        window's values). The originals map to themselves.
    sampling_strategy_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    See Also
    --------
    RandomWindowOverSampler : Duplication, the reference.
    LatentAdversarialSampler : Adversarial perturbations of the rare windows' codes.
    sktsgen.generation.AvatarGenerator : The default generator (``fit(X, y)``,
        ``sample(n, y=...)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.datasets import make_sines
    >>> from sktsgen.generation import AvatarGenerator
    >>> from sktsgen.over_sampling import GenerativeWindowOverSampler
    >>> X = make_sines(60, seq_len=8, n_features=2, random_state=0)
    >>> y = np.array(["common"] * 50 + ["rare"] * 10)
    >>> sampler = GenerativeWindowOverSampler(
    ...     generator=AvatarGenerator(n_iter=5, hidden_size=8), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape
    (100, 8, 2)
    >>> [int(n) for n in np.unique(y_res, return_counts=True)[1]]
    [50, 50]
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "generator": [HasMethods(["fit", "sample"]), None],
    }

    def __init__(self, *, generator=None, sampling_strategy="auto", minority_threshold=None,
                 random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.generator = generator

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        if self.generator is None:
            from ..generation import AvatarGenerator

            generator = AvatarGenerator()
        else:
            generator = clone(self.generator)
        params = generator.get_params(deep=False)
        seed = random_state.randint(np.iinfo(np.int32).max)
        if "target_type" in params:
            generator.set_params(
                target_type="continuous" if rare_mask is not None else "classes")
        if "random_state" in params and params["random_state"] is None:
            generator.set_params(random_state=seed)
        self.generator_ = generator.fit(X, y)

    def _augment_indices(self, X, y, source, random_state):
        y_new = y[source]
        seed = random_state.randint(np.iinfo(np.int32).max)
        X_new = self.generator_.sample(len(source), random_state=seed, y=y_new)
        return X_new, y_new
