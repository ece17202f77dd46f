"""Spectral shaping of the change an augmenter makes to a window.

A decoder's change to a window tends to be broadband, while many series (GunPoint's gestures,
smooth sensor traces) hold almost no power at high frequencies. Added to a smooth window, a
broadband change makes it rougher than any real window, and a downstream model can learn that
roughness as a feature of the label. The gain below caps the change's power at every
frequency to the share of the data's power that the change holds overall, per channel.
"""

import numpy as np


def power_spectrum(X):
    """Mean power of ``X`` (n_windows, seq_len, n_features) per frequency and channel, shape
    ``(seq_len // 2 + 1, n_features)``; each window's mean over time is removed first."""
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    return (np.abs(np.fft.rfft(X, axis=1)) ** 2).mean(axis=0)


def spectral_gain(reference, change):
    """Per-frequency, per-channel gain in [0, 1] that shapes ``change`` like ``reference``.

    With ``P_ref`` and ``P_chg`` the power spectra of the two window sets and ``rho`` the
    change's total power over the reference's (per channel, without the mean), the gain is
    ``min(1, sqrt(rho * P_ref / P_chg))``: a frequency where the change holds more than its
    overall share of the data's power is scaled down to that share, the others are left as
    they are. The mean (frequency 0) is never changed. A channel whose reference is constant
    keeps only the change's mean.
    """
    p_ref, p_chg = power_spectrum(reference), power_spectrum(change)
    total_ref, total_chg = p_ref[1:].sum(axis=0), p_chg[1:].sum(axis=0)
    rho = np.divide(total_chg, total_ref, out=np.zeros_like(total_chg), where=total_ref > 0)
    allowed = rho * p_ref
    ratio = np.divide(allowed, p_chg, out=np.ones_like(p_chg), where=p_chg > 0)
    gain = np.sqrt(np.minimum(1.0, ratio))
    gain[0] = 1.0
    return gain


def apply_gain(change, gain):
    """``change`` (n_windows, seq_len, n_features) filtered by ``gain`` along time, float64.

    The filter is circular (a product of discrete Fourier transforms): a window's last steps
    and its first ones are neighbours to it."""
    spectrum = np.fft.rfft(np.asarray(change, dtype=np.float64), axis=1)
    return np.fft.irfft(spectrum * gain, n=change.shape[1], axis=1)
