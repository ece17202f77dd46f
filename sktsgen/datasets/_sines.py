"""The "Sines" benchmark of TimeGAN: random-frequency, random-phase sine windows."""

import numpy as np
from sklearn.utils import check_random_state

from ..utils._validation import check_n_samples


def make_sines(n_samples=10000, seq_len=24, n_features=5, *, random_state=None):
    """Generate the "Sines" benchmark windows of TimeGAN (Yoon et al., 2019).

    For every window and every feature, a frequency ``f ~ U(0, 0.1)`` and then a phase
    ``phi ~ U(0, 0.1)`` are drawn; the channel is ``sin(f * t + phi)`` for
    ``t = 0, ..., seq_len - 1``, rescaled by ``(x + 1) / 2``. The draws happen in the same
    order as TimeGAN's reference generator, so a given seed reproduces its stream of
    random numbers.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of windows.
    seq_len : int, default=24
        Time steps per window.
    n_features : int, default=5
        Channels per window.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the draws (the global NumPy RNG is never used directly).

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len, n_features), dtype float64
        Values lie in about ``[0.5, 1]`` (the arguments of ``sin`` stay in ``[0, 2.4]``
        for ``seq_len=24``). This is the scale the published scores are measured in:
        do not rescale before computing metrics.

    Examples
    --------
    >>> from sktsgen.datasets import make_sines
    >>> X = make_sines(n_samples=3, seq_len=24, n_features=5, random_state=0)
    >>> X.shape, X.dtype
    ((3, 24, 5), dtype('float64'))
    >>> bool(X.min() >= 0.5) and bool(X.max() <= 1.0)
    True
    """
    n_samples = check_n_samples(n_samples, name="n_samples")
    seq_len = check_n_samples(seq_len, name="seq_len")
    n_features = check_n_samples(n_features, name="n_features")
    rng = check_random_state(random_state)
    # Drawn in C order as (window, feature, [freq, phase]): the reference draws freq then
    # phase inside a loop over windows and features, so the streams match exactly.
    params = rng.uniform(0.0, 0.1, size=(n_samples, n_features, 2))
    freq, phase = params[..., 0], params[..., 1]
    t = np.arange(seq_len, dtype=np.float64)
    X = np.sin(freq[:, None, :] * t[None, :, None] + phase[:, None, :])
    return (X + 1.0) / 2.0
