"""Latent adversarial oversampling (Kim, Choi & Choo, ACML 2021) as a window over-sampler."""

import numbers
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..nn._gru import GRUHead
from ..nn._latent import PERTURBATIONS, ConvAutoencoder, LatentPerturbation, WindowDiscriminator
from ..preprocessing import WindowMinMaxScaler
from ..training._common import recompute_batch_norm, report_step
from ..training._latent import (
    BatchPerturber,
    encode,
    perturb_windows,
    train_autoencoder,
    train_perturbation,
)
from ..utils._torch import (
    TorchPickleMixin,
    make_generator,
    resolve_device,
    seed_from_random_state,
    to_tensor,
    torch_seed,
    torch_threads,
)
from ..utils._validation import check_target, fill_missing, validate_windows
from ._base import BaseWindowOverSampler
from ._channels import kept_channels
from ._spectrum import apply_gain, spectral_gain

# The predictor the perturbation is trained against: the paper's downstream 2-layer GRU.
PREDICTOR_HIDDEN, PREDICTOR_LAYERS = 15, 2
# n_iter="auto": passes over the data, bounded so that tiny data still trains the networks and
# large data costs no more than the 600 iterations measured on 16,000-20,000 windows.
AUTO_EPOCHS, AUTO_MIN_ITER, AUTO_MAX_ITER = 5, 100, 600
# jitter="auto" with kept channels: noise of half a channel's spread on the other channels.
AUTO_JITTER = 0.5
# match_spectrum: at most this many targeted windows are perturbed to measure the changes.
SPECTRUM_WINDOWS = 4096


def _positive_int():
    return [Interval(numbers.Integral, 1, None, closed="left")]


def _positive_real():
    return [Interval(numbers.Real, 0, None, closed="neither")]


def _scaling_map(source, target):
    """Per-channel ``(scale, offset)`` with ``target.transform(x) = source.transform(x) * scale
    + offset`` for two fitted min-max window scalers."""
    s_src, lo_src = source._scale()
    s_tgt, lo_tgt = target._scale()
    scale = s_tgt / s_src
    offset = lo_tgt - lo_src * scale + (source.data_min_ - target.data_min_) * s_tgt
    return scale, offset


class LatentAdversarialSampler(TorchPickleMixin, BaseWindowOverSampler):
    """Over-sample windows by adversarial perturbation in an autoencoder's latent space.

    Implements Kim, Choi & Choo (ACML 2021). ``fit_resample`` first trains a Conv1d
    autoencoder on all windows against a window discriminator (two time-scale update rule,
    cost-sensitive discriminator loss), then, with the autoencoder frozen, trains a
    perturbation module jointly with a predictor of ``y`` (the paper's 2-layer GRU with 15
    units): the predictor learns from real windows plus decoded perturbed windows of the
    classes (or rare targets) to be over-sampled, and the perturbation learns to make those
    windows hard for it. Each new window is a source window encoded, perturbed with fresh
    noise and decoded; it keeps its source's target. Read more in ``docs/over_sampling.md``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many windows to add; see :class:`BaseWindowOverSampler`. In regression a float
        ``r`` asks for ``int(r * n_frequent)`` rare windows after resampling; the paper's
        "oversample x4" is ``r = 4 * n_rare / n_frequent`` (or ``{"rare": 4 * n_rare}``).
    perturbation : {"adversarial", "random", "anti-adversarial"}, default="adversarial"
        Objective of the perturbation module: maximise the predictor's loss (the method),
        add Gaussian noise re-scaled by the latent spread without any training (DeVries &
        Taylor's random latent perturbation), or minimise the loss (the paper's ablation).
    scale : float, default=0.1
        Size of the perturbation in units of each latent element's standard deviation.
    minority_threshold : float, callable or None, default=None
        Regression only: windows with ``y > minority_threshold`` (or the callable's mask)
        are rare. ``None`` means classification.
    residual : bool, default=True
        Make each new window ``x + decoder(z + delta) - decoder(z)``, the source window plus
        the change the perturbation makes to its decoding, instead of the paper's
        ``decoder(z + delta)``. The autoencoder smooths sharp peaks (which are often what
        makes a window rare); the residual form keeps them. See
        ``docs/design/latent_adversarial_sampler.md`` for the measured effect.
    center : bool, default=False
        Centre the perturbation module's layer-normed direction over each batch (a running
        mean when generating), so that the perturbations share no common direction. The
        paper's module (``center=False``) learns to shift every rare window the same way;
        see ``docs/over_sampling.md``.
    random_fraction : float in [0, 1], default=0.0
        Share of the perturbation direction's variance drawn as fresh Gaussian noise, the
        rest coming from the trained module: ``sqrt(1 - f) * learned + sqrt(f) * noise``.
        The paper's module (0) learns to ignore its noise input, so the new windows of one
        source are nearly identical; 1 is ``perturbation="random"``. See
        ``docs/over_sampling.md``.
    jitter : float or "auto", default="auto"
        Gaussian noise added to every perturbed channel of each new window in
        ``fit_resample``, independent per step and channel, with standard deviation
        ``jitter`` times the channel's standard deviation over all windows
        (``channel_std_``); kept channels (``keep_features``) get none. ``"auto"`` is 0.5
        when some channels are kept, so that the noise only reaches channels that do not
        carry the target, and 0 otherwise (classification, or no channel kept): noise of
        that size on the target's own channel would change what the window says about its
        label. The value used is ``jitter_``. Models perturbing on the fly
        (``augmenter=``) do not add it. On Energy this noise is what gains on duplication;
        see ``docs/over_sampling.md``.
    perturb_fraction : float in (0, 1], default=1.0
        Share of the targeted windows that are perturbed; the others stay exact copies of
        their sources. On the fly (``augmenter=``, the paper's protocol) each targeted window
        in a batch is perturbed with this probability, drawn afresh every batch (the paper
        perturbed 80% of the rare windows a model received); in ``fit_resample`` each new
        window is a perturbed copy with this probability and a plain duplicate otherwise.
        See ``docs/design/latent_adversarial_sampler.md`` for the measured effect.
    perturbation_snapshots : int, default=1
        Number of states of the perturbation module the new windows come from: copies taken
        at evenly spaced points of its training (the last one is the final state), the new
        windows assigned to them in turn. The paper's module learns to ignore its noise, so
        with one state the new windows of one source are nearly identical; several states
        make them differ, as the windows of an on-the-fly augmentation differ from epoch to
        epoch. See ``docs/design/latent_adversarial_sampler.md`` for the measured effect.
    keep_features : "auto", array-like of int or bool, default="auto"
        Channels that every new window copies unchanged from its source window, as indices
        or as a boolean mask over the ``n_features`` channels; the perturbation can only act
        through the other channels, in training as in generation. For a regression target
        whose own history is one of the channels, keeping that channel stops the adversary
        from making rare windows look ordinary while they keep their rare targets (see
        ``docs/design/latent_adversarial_sampler.md`` for the measured effect). ``"auto"``
        picks, in regression, the channels that carry the target: those whose window alone
        explains at least 25% of the target's variance in a ridge regression (leave-one-out
        R^2, in ``target_scores_``) beyond chance (F-test at 1%, corrected for the number of
        channels); if none or all do, every channel is perturbed. In
        classification ``"auto"`` keeps no channel. ``None`` perturbs every channel.
    symmetric : bool, default=True
        Move each new window of ``fit_resample`` a random part of the way along its
        perturbation, in either direction: ``u * delta`` with ``u`` uniform in [-1, 1]
        (``x + decoder(z + u * delta) - decoder(z)`` with ``residual``), instead of the full
        ``delta`` (False, the paper's step). The trained module gives all the new windows of
        one source nearly the same perturbation, and the rare windows largely a common
        push; as fixed windows that push becomes a feature of their label which real
        windows do not have, and the downstream model learns it. Symmetric steps keep the
        directions the adversary found and lose the push. Models perturbing on the fly
        (``augmenter=``) take full steps. See ``docs/over_sampling.md`` for the measured
        effect.
    match_spectrum : bool, default=True
        Shape the change a perturbation makes to each new window of ``fit_resample`` (new
        window minus source, before ``jitter``) so that, per channel, it holds no more of
        its power at any frequency than its overall share of the data's power there: a
        filter along time whose gain (``spectral_gain_``, at most 1) is set at fit time from
        the training windows and one draw of changes of the targeted windows. The decoder's
        changes are broadband; on smooth series (GunPoint) they make the new windows far
        rougher than any real window, and a GRU learns that roughness as a feature of the
        label. On data with power at every frequency the gain is close to 1. False is the
        paper's change as decoded. Models perturbing on the fly (``augmenter=``) do not
        filter. See ``docs/over_sampling.md`` for the measured effect.
    recompute_batch_norm : bool, default=False
        After the autoencoder's training, replace its batch-norm moving averages by
        statistics averaged over one pass of the training windows with the final weights, as
        :class:`~sktsgen.generation.AvatarGenerator` does by default. See
        ``docs/design/latent_adversarial_sampler.md`` for the measured effect.
    latent_dim : int, default=512
        Elements of the latent vector (512 is the paper's size for 32-step windows).
    n_iter : int or "auto", default="auto"
        Training iterations (batches) of the autoencoder and its discriminator. ``"auto"``
        follows the data size: five passes over the windows, at least 100 and at most 600
        iterations (``min(600, max(100, ceil(5 * n_samples / batch_size)))``), so a few
        hundred windows train in seconds and 20,000 windows get the 600 iterations the
        benchmarks were measured with. The value used is ``n_iter_``.
    predictor_n_iter : int or "auto", default="auto"
        Iterations of the joint training of perturbation module and predictor (unused with
        ``perturbation="random"``, which has nothing to train). ``"auto"`` is the same rule
        as ``n_iter``; the value used is ``predictor_n_iter_``.
    batch_size : int, default=128
        Windows per batch in both stages.
    learning_rate : float, default=5e-4
        Adam learning rate of the autoencoder.
    discriminator_learning_rate : float, default=2e-3
        Adam learning rate of the discriminator; larger than the autoencoder's (TTUR).
    adversarial_weight : float, default=0.05
        Weight of the discriminator's loss in the autoencoder's objective, next to the
        reconstruction error.
    discriminator_costs : tuple of two floats, default=(1.0, 0.1)
        Cost of calling a real window fake, and of calling a reconstruction real
        (cost-sensitive discriminator: the first is the larger).
    perturbation_learning_rate : float, default=1e-3
        Adam learning rate of the perturbation module.
    predictor_learning_rate : float, default=1e-3
        Adam learning rate of the predictor.
    noise_dim : int, default=100
        Size of the noise vector fed to the perturbation module.
    rank : int, default=100
        Width between the perturbation module's two affine maps.
    allow_nan : bool, default=False
        Accept missing values (NaN) in ``X``; inf is always rejected. The autoencoder's
        reconstruction loss then averages over the observed entries only, and its
        discriminator sees real windows completed by their reconstruction at the missing
        entries. Everything else (encoder, predictor, perturbation, the choice of kept
        channels) sees the scaled windows with each missing entry filled with the last
        observed value of its channel in the window (before the first observed value, with
        that value; a channel missing over a whole window with the channel's mean);
        ``channel_std_`` is taken over the observed entries. The original windows come back
        unchanged, with their NaN; the new windows are complete, made from the filled
        windows. False rejects NaN with a ``ValueError``.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the networks are trained.
    verbose : int, default=0
        Print a progress bar with the losses of each stage to stderr when positive.
    random_state : int, RandomState instance or None, default=None
        Seeds network initialisation, batches, the choice of source windows and the noise.
        The same int gives identical output on CPU; torch's global RNG is left untouched.

    Attributes
    ----------
    sampling_strategy_ : dict
        New windows per class, or ``{"rare": n_new}`` in regression.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Index in ``X`` of the source of each output window.
    task_ : {"classification", "regression"}
    scaler_ : WindowMinMaxScaler
        Scaling of the windows to [0, 1] for the networks.
    autoencoder_module_ : ConvAutoencoder
    discriminator_module_ : WindowDiscriminator
    perturbation_module_ : LatentPerturbation
    predictor_module_ : GRUHead or None
        The predictor trained with the perturbation (None with ``perturbation="random"``).
    history_ : dict
        Loss curves: ``history_["autoencoder"]`` (reconstruction, adversarial, disc_real,
        disc_fake) and ``history_["perturbation"]`` (loss_real, loss_perturbed).
    n_iter_ : int
        Iterations the autoencoder trained for (``n_iter`` resolved).
    predictor_n_iter_ : int
        Iterations of the perturbation's training (``predictor_n_iter`` resolved; not set
        when the sampler is used as a model's on-the-fly ``augmenter``).
    jitter_ : float
        Noise level added to the perturbed channels (``jitter`` resolved).
    spectral_gain_ : ndarray of shape (seq_len // 2 + 1, n_features) or None
        With ``match_spectrum``, the filter's gain per frequency (``np.fft.rfftfreq``) and
        channel; None otherwise.
    channel_std_ : ndarray of shape (n_features,)
        Per-channel standard deviation over all windows, the unit of ``jitter``.
    perturbation_snapshots_ : torch.nn.ModuleList or None
        The earlier states of the perturbation module new windows also come from
        (``perturbation_snapshots - 1`` of them; None with one state).
    keep_mask_ : ndarray of shape (n_features,) of bool or None
        The channels new windows copy from their sources (None: all are perturbed).
    target_scores_ : ndarray of shape (n_features,) or None
        With ``keep_features="auto"`` in regression, each channel's leave-one-out R^2 of
        the target (the channels scoring at least 0.25 are kept); None otherwise.
    device_ : torch.device
    n_features_in_ : int
    seq_len_ : int

    See Also
    --------
    RandomWindowOverSampler : Over-sampling by duplication.

    Notes
    -----
    Measured against duplication (``RandomWindowOverSampler``, ``docs/benchmarks.md``, 10
    seeds): on Energy (regression, rare windows x4) the defaults gain 2.18 +- 0.59 Wh of
    RMSE-macro, as much as ``JitterOverSampler(sigma=0.5, keep_features="auto")`` and no
    more: the gain comes from the noise of ``jitter="auto"``. In classification they beat
    duplication on JapaneseVowels with a GRU (+3.0 +- 0.8 points of balanced accuracy, 10 of
    10 seeds) and tie with it on GunPoint (GRU +0.4 +- 3.7, logistic regression -0.2 +-
    0.3). Without ``match_spectrum`` a GRU on GunPoint stays near chance on 11 of 30 runs
    (-7.3 +- 5.8 points). On Stocks volume surges, a regression task that played no part in
    choosing the defaults, they are slightly worse than duplication: 0.002 +- 0.001 of
    RMSE-macro (0.4%), as ``WindowSMOTE`` is. The paper's full step (``symmetric=False``)
    loses 6.2 +- 1.0 points on GunPoint with a logistic regression.

    The paper perturbs on the fly while the downstream model trains; an over-sampler has to
    return fixed windows, so the perturbation module is trained against its own copy of the
    downstream model and the new windows are drawn from its final state. For the paper's own
    protocol pass the sampler to a model instead, as
    ``GRURegressor(augmenter=LatentAdversarialSampler(...))``: the windows it targets are
    then perturbed in every batch, against the model being trained.

    Windows of unequal lengths (NaN-padded, or a list of 2-D arrays): the autoencoder, the
    predictor and the perturbation see every window with its padding filled by its last
    step, over the full ``seq_len``; each new window keeps its source's length (see
    :class:`BaseWindowOverSampler`). As a model's ``augmenter`` the same filled windows are
    perturbed, and the model reads each window's own steps only.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import LatentAdversarialSampler
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 16, 2)), rng.gamma(2.0, size=40)
    >>> sampler = LatentAdversarialSampler(minority_threshold=np.quantile(y, 0.9),
    ...                                    sampling_strategy=0.3, latent_dim=16, n_iter=2,
    ...                                    predictor_n_iter=2, batch_size=16, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, int((y_res > sampler.minority_threshold).sum())
    ((46, 16, 2), 10)
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "perturbation": [StrOptions(set(PERTURBATIONS))],
        "scale": _positive_real(),
        "residual": ["boolean"],
        "center": ["boolean"],
        "random_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "perturb_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "perturbation_snapshots": _positive_int(),
        "jitter": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "keep_features": ["array-like", StrOptions({"auto"}), None],
        "symmetric": ["boolean"],
        "match_spectrum": ["boolean"],
        "recompute_batch_norm": ["boolean"],
        "latent_dim": _positive_int(),
        "n_iter": [*_positive_int(), StrOptions({"auto"})],
        "predictor_n_iter": [Interval(numbers.Integral, 0, None, closed="left"),
                             StrOptions({"auto"})],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "learning_rate": _positive_real(),
        "discriminator_learning_rate": _positive_real(),
        "adversarial_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "discriminator_costs": [tuple],
        "perturbation_learning_rate": _positive_real(),
        "predictor_learning_rate": _positive_real(),
        "noise_dim": _positive_int(),
        "rank": _positive_int(),
        "allow_nan": ["boolean"],
        "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
        "verbose": ["verbose"],
    }

    def __init__(self, *, sampling_strategy="auto", perturbation="adversarial", scale=0.1,
                 minority_threshold=None, residual=True, center=False, random_fraction=0.0,
                 jitter="auto", perturb_fraction=1.0, perturbation_snapshots=1,
                 keep_features="auto", symmetric=True, match_spectrum=True,
                 recompute_batch_norm=False, latent_dim=512,
                 n_iter="auto", predictor_n_iter="auto", batch_size=128, learning_rate=5e-4,
                 discriminator_learning_rate=2e-3, adversarial_weight=0.05,
                 discriminator_costs=(1.0, 0.1), perturbation_learning_rate=1e-3,
                 predictor_learning_rate=1e-3, noise_dim=100, rank=100, allow_nan=False,
                 device="cpu", verbose=0, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.perturbation = perturbation
        self.scale = scale
        self.residual = residual
        self.center = center
        self.random_fraction = random_fraction
        self.perturb_fraction = perturb_fraction
        self.jitter = jitter
        self.perturbation_snapshots = perturbation_snapshots
        self.keep_features = keep_features
        self.symmetric = symmetric
        self.match_spectrum = match_spectrum
        self.recompute_batch_norm = recompute_batch_norm
        self.latent_dim = latent_dim
        self.n_iter = n_iter
        self.predictor_n_iter = predictor_n_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.adversarial_weight = adversarial_weight
        self.discriminator_costs = discriminator_costs
        self.perturbation_learning_rate = perturbation_learning_rate
        self.predictor_learning_rate = predictor_learning_rate
        self.noise_dim = noise_dim
        self.rank = rank
        self.allow_nan = allow_nan
        self.device = device
        self.verbose = verbose

    def _accepts_nan(self):
        return self.allow_nan

    def _filled(self, X, Xs=None):
        """Scaled windows (``Xs``, else computed) with missing entries filled, the windows
        filled in the original scale (``X`` itself when complete) and the mask of observed
        entries (or None)."""
        Xs = self.scaler_.transform(X) if Xs is None else Xs
        if not self.allow_nan:
            return Xs, X, None
        Xs, mask = fill_missing(Xs, self._channel_fill)
        if mask is None:
            return Xs, X, None
        # Observed entries exact, not round trips through the scaling.
        return Xs, np.where(mask, X, self.scaler_.inverse_transform(Xs)), mask

    def _check_costs(self):
        costs = self.discriminator_costs
        if len(costs) != 2 or not all(
            isinstance(c, numbers.Real) and not isinstance(c, bool) and c >= 0 for c in costs
        ):
            raise ValueError(
                "discriminator_costs must be a tuple (real_cost, fake_cost) of two "
                f"non-negative numbers, got {costs!r}."
            )
        return float(costs[0]), float(costs[1])

    def _keep_mask(self, X, y):
        """Boolean mask of the channels copied from the source, or None."""
        mask, self.target_scores_ = kept_channels(self.keep_features, X, y, self.task_)
        return mask

    def _iterations(self, n_iter, n_samples):
        """``n_iter`` resolved: an int as given, or ``"auto"``'s five passes in [100, 600]."""
        if n_iter != "auto":
            return int(n_iter)
        epochs = -(-AUTO_EPOCHS * n_samples // self.batch_size)  # ceil
        return int(min(AUTO_MAX_ITER, max(AUTO_MIN_ITER, epochs)))

    def _targets(self, y):
        """Targets as the predictor sees them: standardised floats or class codes."""
        if self.task_ == "regression":
            y = np.asarray(y, dtype=np.float64)
            std = y.std()
            return torch.as_tensor((y - y.mean()) / (std if std > 0 else 1.0),
                                   dtype=torch.float32, device=self.device_), 1
        classes, codes = np.unique(y, return_inverse=True)
        return torch.as_tensor(codes, dtype=torch.long, device=self.device_), len(classes)

    def _source_weights(self, y, rare):
        """Where the perturbed windows of stage 2 come from: what the base will augment."""
        if rare is not None:
            weights = rare.astype(np.float64)
        else:
            # Balanced over the targeted classes, independent of how many windows are asked
            # for (the base fits the augmenter before it draws sources).
            weights = np.zeros(y.shape[0])
            for label, n_new in self.sampling_strategy_.items():
                mask = y == label
                if n_new > 0 and mask.any():
                    weights[mask] = 1.0 / mask.sum()
        if not weights.any():
            return None
        return torch.as_tensor(weights, dtype=torch.float32, device=self.device_)

    def _prepare(self, X, y, random_state, device=None):
        """Device (``device`` overrides the parameter), scaler and kept channels; returns the
        scaled (filled) windows, the mask of observed entries as a float tensor (None when
        complete), the kept channels as a tensor (or None) and the seed."""
        self.device_ = resolve_device(self.device if device is None else device)
        seed = seed_from_random_state(random_state)
        self.scaler_ = WindowMinMaxScaler().fit(X)
        Xs = self.scaler_.transform(X)
        # Fill value of a channel missing over a whole window.
        self._channel_fill = np.nanmean(Xs, axis=(0, 1)) if self.allow_nan else None
        Xs, X_filled, mask = self._filled(X, Xs)
        Xt = to_tensor(Xs, self.device_)
        observed = None if mask is None else to_tensor(mask, self.device_)
        with report_step(self.verbose and self.keep_features == "auto", "channels",
                         "scoring which channels carry the target"):
            self.keep_mask_ = self._keep_mask(X_filled, y)
        keep = (None if self.keep_mask_ is None
                else torch.as_tensor(self.keep_mask_, device=self.device_))
        return Xt, observed, keep, seed

    def _fit_autoencoder(self, Xt, seed, generator, observed=None):
        """Stage 1, inside the caller's ``torch_seed`` block: the autoencoder trained against
        its discriminator, then a fresh perturbation module."""
        real_cost, fake_cost = self._check_costs()
        _, seq_len, n_features = Xt.shape
        self.n_iter_ = self._iterations(self.n_iter, Xt.shape[0])
        self.autoencoder_module_ = ConvAutoencoder(
            n_features, seq_len, self.latent_dim).to(self.device_)
        self.discriminator_module_ = WindowDiscriminator(n_features, seq_len).to(self.device_)
        history = train_autoencoder(
            self.autoencoder_module_, self.discriminator_module_, Xt, n_iter=self.n_iter_,
            batch_size=self.batch_size, lr=self.learning_rate,
            disc_lr=self.discriminator_learning_rate,
            adversarial_weight=self.adversarial_weight, real_cost=real_cost,
            fake_cost=fake_cost, generator=generator, device=self.device_,
            verbose=self.verbose, mask=observed,
        )
        if self.recompute_batch_norm:
            with report_step(self.verbose, "batch norm", f"statistics over {len(Xt)} windows"):
                recompute_batch_norm(self.autoencoder_module_, Xt, self.batch_size,
                                     make_generator(seed, self.device_))
        self.perturbation_module_ = LatentPerturbation(
            self.latent_dim, mode=self.perturbation, scale=self.scale,
            noise_dim=self.noise_dim, rank=self.rank, center=self.center,
            random_fraction=self.random_fraction).to(self.device_)
        self.history_ = {"autoencoder": history, "perturbation": {}}

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        Xt, observed, keep, seed = self._prepare(X, y, random_state)
        # Over the observed entries (np.std itself on complete windows, bit for bit).
        std = np.std if observed is None else np.nanstd
        self.channel_std_ = std(X, axis=(0, 1), dtype=np.float64)
        self.jitter_ = (float(self.jitter) if self.jitter != "auto"
                        else AUTO_JITTER if self.keep_mask_ is not None else 0.0)
        yt, n_outputs = self._targets(y)
        trained = self.perturbation != "random"
        self.predictor_n_iter_ = self._iterations(self.predictor_n_iter, X.shape[0])
        with torch_threads(1, self.device_), torch_seed(seed, self.device_):
            generator = make_generator(seed, self.device_)
            self._fit_autoencoder(Xt, seed, generator, observed)
            self.predictor_module_ = (
                GRUHead(X.shape[2], PREDICTOR_HIDDEN, PREDICTOR_LAYERS, n_outputs)
                .to(self.device_) if trained else None
            )
            self.history_["perturbation"], states = train_perturbation(
                self.perturbation_module_, self.autoencoder_module_, self.predictor_module_,
                encode(self.autoencoder_module_, Xt), Xt, yt,
                source_weights=self._source_weights(y, rare_mask), task=self.task_,
                n_iter=self.predictor_n_iter_ if trained else 0, batch_size=self.batch_size,
                lr=self.perturbation_learning_rate, predictor_lr=self.predictor_learning_rate,
                generator=generator, device=self.device_, residual=self.residual,
                keep=keep, snapshots=self.perturbation_snapshots, verbose=self.verbose,
            )
        # The final state is perturbation_module_ itself; earlier ones are kept only if used.
        self.perturbation_snapshots_ = (
            torch.nn.ModuleList(states[:-1]) if len(states) > 1 else None)
        self.spectral_gain_ = None
        if self.match_spectrum:
            self.spectral_gain_ = self._spectral_gain(Xt, self._source_weights(y, rare_mask),
                                                      seed)

    def _spectral_gain(self, Xt, weights, seed):
        """The ``match_spectrum`` filter: the training windows' spectrum against that of the
        changes one draw of perturbations makes to (up to ``SPECTRUM_WINDOWS`` of) the
        targeted windows, with a generator of its own so the draw moves no other result."""
        rows = (np.arange(Xt.shape[0]) if weights is None
                else np.flatnonzero(weights.cpu().numpy() > 0))
        rng = np.random.RandomState(seed)
        if rows.size > SPECTRUM_WINDOWS:
            rows = np.sort(rng.choice(rows, SPECTRUM_WINDOWS, replace=False))
        sources = Xt[torch.as_tensor(rows, device=Xt.device)]
        with (report_step(self.verbose, "spectrum", f"changes of {len(rows)} windows"),
              torch_threads(1, self.device_)):
            generator = make_generator(rng.randint(2**31), self.device_)
            changed = perturb_windows(self.perturbation_module_, self.autoencoder_module_,
                                      sources, generator=generator, residual=self.residual,
                                      symmetric=self.symmetric)
            return spectral_gain(Xt.cpu().numpy(), (changed - sources).cpu().numpy())

    def _fit_batch_perturber(self, X, y, *, input_scaler, device, random_state):
        """Train the autoencoder on ``X`` and return the hook that perturbs, on the fly, the
        windows this sampler would over-sample while a model trains (the paper's protocol).

        Called by models with ``augmenter=`` (e.g. :class:`~sktsgen.models.GRURegressor`):
        ``X``, ``y`` are the model's training windows and targets, ``input_scaler`` the
        model's window scaling, ``device`` the model's device. The targeted windows are the
        rare ones (regression, where ``sampling_strategy`` plays no part) or those of the
        classes ``sampling_strategy`` names (classification, validated as imbalanced-learn
        does; the counts it asks for play no part). The perturbation
        module is trained by the hook, against the model itself: no predictor of its own
        (``predictor_module_`` is None).
        """
        self._validate_params()  # fit_resample validates via _fit_context; models call this
        if self.minority_threshold is None:
            X, y, _, _ = self._check_X_y(X, y)
            targeted = np.isin(y, list(self.sampling_strategy_))
        else:
            # Only the rare rule matters: no count of new windows to check against.
            X = validate_windows(self, X, reset=True, warn_2d=True, allow_nan=self.allow_nan)
            y = check_target(y, n_samples=X.shape[0])
            targeted = self._rare_mask(y)
            self.task_ = "regression"
        Xt, observed, keep, seed = self._prepare(X, y, random_state, device)
        with torch_threads(1, self.device_), torch_seed(seed, self.device_):
            generator = make_generator(seed, self.device_)
            self._fit_autoencoder(Xt, seed, generator, observed)
            # The encoder is frozen from here on: its latents' variance is final.
            self.perturbation_module_.update_statistics(encode(self.autoencoder_module_, Xt))
        self.predictor_module_ = None
        scale, offset = _scaling_map(input_scaler, self.scaler_)
        to_autoencoder = None
        if not (np.allclose(scale, 1.0) and np.allclose(offset, 0.0)):
            to_autoencoder = (to_tensor(scale, self.device_), to_tensor(offset, self.device_))
        return BatchPerturber(
            self.perturbation_module_, self.autoencoder_module_,
            targeted=None if targeted.all() else torch.as_tensor(targeted, device=self.device_),
            lr=self.perturbation_learning_rate, generator=generator,
            to_autoencoder=to_autoencoder, residual=self.residual, keep=keep,
            probability=self.perturb_fraction,
        )

    def _augment(self, X_source, y_source, random_state):
        check_is_fitted(self, "perturbation_module_")
        with report_step(self.verbose, "new windows", f"perturbing {len(X_source)} windows"):
            return self._perturb(X_source, random_state)

    def _perturb(self, X_source, random_state):
        generator = make_generator(seed_from_random_state(random_state), self.device_)
        Xs, X_source, _ = self._filled(X_source)  # complete sources: new windows are too
        Xt = to_tensor(Xs, self.device_)
        states = [self.perturbation_module_]
        if getattr(self, "perturbation_snapshots_", None) is not None:
            states = [*self.perturbation_snapshots_, self.perturbation_module_]
        kw = {"generator": generator, "residual": self.residual, "symmetric": self.symmetric}
        if len(states) == 1:
            X_new = perturb_windows(states[0], self.autoencoder_module_, Xt, **kw)
        else:
            # New window i comes from state i mod K; the sources are in random order.
            X_new = torch.empty_like(Xt)
            turn = torch.arange(Xt.shape[0], device=Xt.device) % len(states)
            for k, state in enumerate(states):
                rows = turn == k
                X_new[rows] = perturb_windows(state, self.autoencoder_module_, Xt[rows], **kw)
        X_new = X_new.cpu().numpy()
        if getattr(self, "spectral_gain_", None) is not None:
            X_new = Xs + apply_gain(X_new - Xs, self.spectral_gain_)
        X_new = X_new.astype(X_source.dtype, copy=False)
        X_new = self.scaler_.inverse_transform(X_new)
        if self.perturb_fraction < 1:
            # Drawn after the perturbation's noise, so the perturbed windows are those of
            # perturb_fraction=1; copies are exact, not decoder round trips.
            copy = (torch.rand(X_new.shape[0], generator=generator, device=generator.device)
                    >= self.perturb_fraction).cpu().numpy()
            X_new[copy] = X_source[copy]
        if self.keep_mask_ is not None:
            # Copied in the original scale, so that kept channels are exact, not round trips.
            X_new[..., self.keep_mask_] = X_source[..., self.keep_mask_]
        if self.jitter_ > 0:
            free = (np.ones(X_new.shape[2], dtype=bool) if self.keep_mask_ is None
                    else ~self.keep_mask_)
            shape = (X_new.shape[0], X_new.shape[1], int(free.sum()))
            noise = random_state.normal(size=shape) * self.jitter_ * self.channel_std_[free]
            if self.perturb_fraction < 1:
                noise[copy] = 0.0  # the plain copies stay exact
            X_new[..., free] += noise.astype(X_new.dtype, copy=False)
        return X_new
