"""Input checks shared by the metrics: a pair of window sets that describe the same kind of data."""

from ..utils import check_windows


def check_window_pair(X_real, X_synth, *, min_samples=1, min_seq_len=1, min_features=1,
                      metric="this metric"):
    """Validate real and synthetic windows and check that they are comparable.

    Both must be 3-D ``(n_samples, seq_len, n_features)`` float arrays without NaN/inf,
    with the same ``seq_len`` and ``n_features`` (their counts may differ).

    Returns
    -------
    X_real, X_synth : ndarray of shape (n, seq_len, n_features)
    """
    X_real = check_windows(X_real, input_name="X_real", ensure_min_samples=min_samples,
                           allow_2d=False)
    X_synth = check_windows(X_synth, input_name="X_synth", ensure_min_samples=min_samples,
                            allow_2d=False)
    if X_synth.shape[1:] != X_real.shape[1:]:
        raise ValueError(
            f"X_real and X_synth must have the same seq_len and n_features: X_real has "
            f"windows of shape {X_real.shape[1:]}, X_synth {X_synth.shape[1:]}."
        )
    if X_real.shape[1] < min_seq_len:
        raise ValueError(
            f"{metric} needs windows of at least {min_seq_len} steps, got "
            f"seq_len={X_real.shape[1]}."
        )
    if X_real.shape[2] < min_features:
        raise ValueError(
            f"{metric} needs at least {min_features} features (channels), got "
            f"n_features={X_real.shape[2]}."
        )
    return X_real, X_synth
