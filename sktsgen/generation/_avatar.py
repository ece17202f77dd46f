"""AVATAR as a scikit-learn estimator: fit on windows, sample new ones in the original scale."""

import numbers
import sys
import time
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..nn._avatar import AvatarNet, Prior, default_hidden_size
from ..nn._calibration import CovarianceCalibration, QuantileCalibration
from ..preprocessing import WindowMinMaxScaler
from ..preprocessing._scaling import chunk_rows
from ..training._avatar import STAGES, train_avatar
from ..training._common import recompute_batch_norm, report_step
from ..utils._chunks import map_chunks
from ..utils._lengths import check_lengths, padding_mask, window_lengths
from ..utils._streaming import CHUNKS_PER_BLOCK, check_out, is_shared_memmap, release_pages
from ..utils._torch import (
    TorchPickleMixin,
    make_generator,
    resolve_device,
    seed_from_random_state,
    to_tensor,
    torch_seed,
    torch_threads,
)
from ..utils._validation import (
    _ndim,
    check_n_samples,
    check_target,
    check_windows,
    fill_missing,
    validate_windows,
)
from ._code_density import (
    fit_class_code_mixture,
    fit_code_diffusion,
    fit_code_mixture,
    fit_target_code_mixture,
)

# Principal components of the fitted code densities when code_pca_components is None.
DEFAULT_PCA = {"fitted": 64, "diffusion": 128}


class AvatarGenerator(TorchPickleMixin, TransformerMixin, BaseEstimator):
    """AVATAR time-series generator: adversarial autoencoder with autoregressive refinement.

    An encoder maps windows to latent codes, a decoder maps codes back, a supervisor refines
    the decoder's output step by step, and a discriminator pushes the codes towards a prior
    (helped by a distribution loss matching their batch mean and spread). New windows are
    ``supervisor(decoder(z))`` for codes ``z``. Training has three stages of ``n_iter``
    iterations each: autoencoder, supervisor, then all networks jointly with two autoencoder
    steps per discriminator step (Beyki et al., 2025, "AVATAR: Adversarial Autoencoders with
    Autoregressive Refinement for Time Series Generation").

    Four defaults depart from the paper because they measured better (see the design notes,
    ``docs/design/avatar_generator.md``):
    new windows decode codes drawn from a Gaussian mixture fitted to the training windows'
    codes after training (``latent_sampling="fitted"``) rather than from the prior; maps
    fitted after training give them the training windows' mean, covariance and
    distribution of each value (``calibration``); the prior is correlated along time like
    the encoder's codes (``prior_correlation``); and the joint stage weighs reconstruction
    by 100 (``reconstruction_weight``). ``latent_sampling="prior", calibration=None,
    prior_correlation=0.0, reconstruction_weight=1.0`` gives the paper's method. After
    training, the batch-norm statistics used in eval mode are recomputed for the final
    weights (``recompute_batch_norm``).

    Data are min-max scaled to [0, 1] per channel inside; samples come back in the original
    scale and dtype. ``fit`` makes one copy of ``X`` (scaled, in float32) and never writes to
    ``X``. On many windows two statistics come from a random subset: the recomputed
    batch-norm statistics (100,000 windows, see ``recompute_batch_norm``) and the fitted code
    density (20,000 windows); the scaling and the training batches use every window.

    With ``allow_nan=True``, ``X`` may have missing values (NaN): the reconstruction losses
    average over the observed entries only, the networks' inputs have every missing entry
    filled with the last observed value of its channel in the window (see ``allow_nan``),
    and samples are complete windows.

    Parameters
    ----------
    hidden_size : int, default=None
        Width of every GRU and of the latent code. None uses ``max(2 * n_features, 24)``;
        the authors' code uses ``n_features``.
    num_layers : int, default=3
        GRU layers of encoder, decoder and discriminator; the supervisor has one fewer
        (the authors' code uses 4).
    n_iter : int, default=2000
        Training iterations per stage (the paper's "iterations"; the authors use 8000).
        4000 scored better on the Stocks and Energy benchmarks, for twice the fit time.
    batch_size : int, default=128
        Windows per mini-batch (drawn at random with replacement per batch).
    learning_rate : float, default=1e-3
        Adam learning rate of encoder, decoder and supervisor (and of the discriminator when
        ``d_learning_rate`` is None).
    d_learning_rate : float, default=None
        Adam learning rate of the latent discriminator; None uses ``learning_rate`` (the
        paper). A larger value is the two time-scale update rule.
    lr_schedule : {"constant", "cosine"}, default="constant"
        Learning rates of the joint stage: constant (the paper) or annealed to a tenth along
        a half cosine over its ``n_iter`` iterations.
    prior : {"gaussian", "uniform", "mixture"}, default="gaussian"
        Latent prior: N(0, 1) as in the paper, U(0, 1) as in the authors' code (the encoder
        then ends in a sigmoid), or an equal-weight mixture of ``prior_components`` Gaussians
        (one component per window).
    prior_components : int, default=5
        Components of the mixture prior.
    prior_correlation : float in [0, 1) or "auto", default="auto"
        Lag-one correlation along time of the prior's codes (an AR(1) process with the
        prior's marginal at every step). 0 draws i.i.d. codes as the paper does; "auto" sets
        it per latent unit, after stage 1, to the autocorrelation of the encoder's codes, so
        that the prior has the temporal smoothness the decoder was trained on (the i.i.d.
        prior feeds the decoder codes far rougher than any it reconstructed: lag-one
        autocorrelation 0 against about 0.85 on Sines).
    reconstruction_weight : float, default=100.0
        Weight of the reconstruction loss in the joint stage; 1 is the paper's unweighted
        sum, which lets the prior-matching losses degrade reconstruction about tenfold.
    latent_sampling : {"fitted", "diffusion", "prior"}, default="fitted"
        Where :meth:`sample` draws codes from. ``"prior"``: the prior (the paper).
        ``"fitted"``: after training, the codes of the training windows are flattened per
        window, reduced to ``code_pca_components`` principal components, and a Gaussian
        mixture of ``code_mixture_components`` full-covariance components is fitted to them
        (ex-post density estimation, Ghosh et al., 2020). A deterministic encoder of data
        with a few degrees of freedom cannot fill a prior over every step and unit, so
        decoded prior draws miss the data where decoded fitted draws do not.
        ``"diffusion"``: a denoising diffusion model (:class:`sktsgen.nn.CodeDiffusion`)
        is trained on the whitened principal coordinates instead, for
        ``diffusion_n_iter`` iterations. It models many-channel codes far better (Energy:
        discriminative .26 against the mixture's .38; see
        ``docs/design/avatar_generator.md``), but its training takes about 2 minutes on a
        GPU and about an hour on 2 CPU cores (about half with
        ``diffusion_precision="bfloat16"``), and sampling is about 70 times slower (717
        windows/s on 2 CPU cores); use it with ``device="cuda"``.
    code_pca_components : int, default=None
        Principal components of the flattened codes kept by the fitted density (at most
        ``n_samples - 1`` and ``seq_len * hidden_size_``). None: 64 for ``"fitted"``, 128
        for ``"diffusion"``.
    code_mixture_components : int, default=30
        Gaussian components of the fitted code density (at most one per
        ``code_pca_components + 1`` training windows). 30 scored better than 10 on Sines
        and the same on Stocks and Energy (``docs/design/avatar_generator.md``).
    diffusion_n_iter : int, default=20000
        Training iterations of the code diffusion (``latent_sampling="diffusion"``).
    diffusion_batch_size : int, default=1024
        Codes per iteration of the code diffusion.
    diffusion_hidden_size : int, default=512
        Width of the code diffusion's denoising network (4 residual blocks).
    diffusion_steps : int, default=25
        Deterministic (DDIM) denoising steps per drawn code, at most 1000.
    diffusion_precision : {"float32", "bfloat16"}, default="float32"
        Precision of the code diffusion's training. ``"bfloat16"`` runs its loss under
        ``torch.autocast`` (weights, optimizer and weight average stay float32): on a
        CPU with bfloat16 instructions (AVX512-BF16, AMX) an iteration takes about half
        as long, at about the same quality (Energy: discriminative .275 against .261 in
        float32; see ``docs/design/avatar_generator.md``). Drawing stays float32.
    diffusion_loss_weighting : {"noise", "velocity"}, default="noise"
        How the code diffusion's training loss weighs its noise levels. ``"noise"``: the
        noise-prediction loss of DDPM, computed from the network's velocity prediction.
        ``"velocity"``: the unweighted velocity loss (this estimator's only loss before;
        Energy: discriminative .290 against .261 with ``"noise"``; see
        ``docs/design/avatar_generator.md``).
    calibration : {"auto", "covariance-quantiles", "covariance"} or None, default="auto"
        Two maps fitted at the end of :meth:`fit` and applied to every generated window,
        in the internal [0, 1] scale. First an affine map of the whole window (flattened
        over steps and channels) gives the samples the training windows' mean and
        covariance: how much each channel varies inside a window, how channels move
        together, how a step relates to the others. Of all such maps it moves the samples
        least (the optimal transport map between two Gaussians); the samples' covariance is
        slightly shrunk first, so that directions in which they barely vary are not blown
        up, and the result is clipped to each channel's range in the data. Then each value
        (each step and channel) goes through a monotone piecewise-linear map that gives it
        the data's distribution at its position (quantile mapping, 101 quantile levels):
        skewed channels, floors and ceilings that the networks smooth over. Both are fitted
        on uncalibrated samples (100 per value of a window, at most 20,000) and up to
        20,000 training windows; while they are fitted, ``fit`` holds a few float32 copies
        of those samples (about 160 MB for windows of 24 x 28 values, 0.5 GB at 2,048).
        ``"covariance-quantiles"``: both maps whenever the windows
        are complete (a ``ValueError`` otherwise); ``"covariance"``: the affine map alone;
        ``"auto"``: both maps when the windows are complete (no padding, no missing
        values), have at most 2,048 values (``seq_len * n_features``) and there are at
        least twice as many training windows as values, else none; None: samples are
        decoded as they are. Windows asked for a class or target (``sample(y=...)``) are
        not calibrated: the maps are fitted to all windows together, not to the windows of
        one class. :meth:`transform` and :meth:`inverse_transform` are not affected.
    use_supervisor : bool, default=True
        Train and sample through the supervisor (False reproduces the paper's ablation:
        no supervisor, no supervised loss, no stage 2).
    use_distribution_loss : bool, default=True
        Add the distribution loss in the joint stage (False: the paper's ablation).
    d_threshold : float, default=0.15
        The discriminator steps only while its loss is above this value.
    recompute_batch_norm : bool, default=True
        After training (and before every early-stopping evaluation), replace the batch-norm
        layers' moving averages by statistics averaged over one pass of the training windows
        with the final weights, for the eval mode in which the networks sample and encode.
        Beyond 100,000 training windows the pass covers a random 100,000 of them (781
        batches of 128: the statistics of a few hundred batches are as good, and a pass over
        1,000,000 windows took 64 s on 2 CPU cores). False keeps the moving averages of
        training.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the windows, measure the discriminative score of
        samples against them every ``validation_interval`` joint iterations, stop after
        ``n_iter_no_change`` evaluations without improvement and keep the best weights.
        With ``latent_sampling="diffusion"`` the evaluations draw codes from a mixture
        (``"fitted"``), which fits in seconds; the diffusion is trained once, at the end.
    validation_fraction : float, default=0.1
    validation_interval : int, default=250
    n_iter_no_change : int, default=4
    metric_n_iter : int, default=500
        Training iterations of the post-hoc classifier in each early-stopping evaluation.
    score_n_iter : int, default=2000
        Training iterations of the post-hoc classifier in :meth:`score`.
    warm_start : bool, default=False
        When True and the estimator is already fitted, :meth:`fit` runs ``n_iter`` more
        joint-stage iterations on the current networks (same scaling; windows must have the
        fitted shape) instead of training from scratch. Optimizer moments restart.
    target_type : {"auto", "classes", "continuous"}, default="auto"
        How :meth:`fit` reads a ``y``: class labels (``"classes"``) or a continuous target
        (``"continuous"``). ``"auto"``: continuous when ``y`` has a floating dtype, class
        labels otherwise (integers, strings, booleans). Ignored without ``y``.
    target_bins : int or None, default=20
        How windows are drawn for a continuous target. An int: the target is cut into this
        many equal-count bins, each treated as a class (a mixture per bin, as for class
        labels), and a window for target ``t`` comes from the bin holding ``t``. None: from
        a Gaussian mixture of the codes jointly with the target, conditioned on the
        requested value (on Energy, over-sampling with its windows cost about twice as much
        against duplication; see ``docs/design/generative_window_over_sampler.md``).
    allow_nan : bool, default=False
        Accept missing values (NaN) in ``X`` for :meth:`fit` and :meth:`transform`; inf is
        always rejected. The reconstruction losses (stage 1, and both reconstruction terms
        of the joint stage) average over the observed entries only, so a missing entry
        never pulls the reconstruction towards a made-up value. The networks' inputs need
        a number everywhere: each missing entry is filled in the scaled windows with the
        last observed value of its channel earlier in the window (before the first
        observed value, with that value; a channel missing over a whole window with the
        channel's mean over all observed entries at fit). The filled windows are also what
        the batch-norm statistics and the code density are computed from. Samples are
        complete windows. :meth:`score` and ``early_stopping`` need complete windows
        (their metric compares whole windows) and raise a ``ValueError`` on missing
        values. With complete windows, ``True`` gives the same model as ``False``. False
        rejects NaN with a ``ValueError``.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    n_jobs : int, default=None
        CPU threads for :meth:`sample`, :meth:`transform` and :meth:`inverse_transform`
        (and the sampling inside :meth:`score` and early stopping), each running whole
        chunks of windows on one torch thread. None means 1 unless in a
        :func:`joblib.parallel_config` context; -1 means all CPUs. Two threads sample about
        1.5 times as fast as one: threads of one process take turns at Python's GIL between
        torch operations. The result does not change with it beyond float32 rounding.
        Training is not affected. Ignored on a GPU.
    verbose : int, default=0
        Show a progress bar with the current losses for each stage.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batches and prior draws. The same value gives bit-identical
        samples on CPU. The global torch and NumPy RNGs are left untouched.

    Attributes
    ----------
    module_ : AvatarNet
        Encoder, decoder, supervisor and discriminator (in eval mode after fit).
    code_density_module_ : CodeMixture, CodeDiffusion or None
        The code density fitted after training (``latent_sampling="fitted"`` or
        ``"diffusion"``), else None.
    calibration_module_ : torch.nn.Sequential, CovarianceCalibration or None
        The maps applied to generated windows (see ``calibration``): a
        :class:`~sktsgen.nn.CovarianceCalibration` followed by a
        :class:`~sktsgen.nn.QuantileCalibration`, the first alone with
        ``calibration="covariance"``; None when not applied.
    conditional_density_module_ : ClassCodeMixture, TargetCodeMixture or None
        The code density :meth:`sample` draws from when given ``y``: one Gaussian mixture
        per class, or a mixture of codes and target; None when fitted without ``y``.
    target_type_ : {"classes", "continuous"} or None
        How the ``y`` given to :meth:`fit` was read; None when fitted without ``y``.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen at fit (only with ``target_type_ == "classes"``).
    target_range_ : tuple of float
        Smallest and largest target seen at fit (only with ``target_type_ ==
        "continuous"``); :meth:`sample` accepts targets within it.
    target_bin_edges_ : ndarray
        Inner edges of the target's bins (only with ``target_bins`` and a continuous
        target).
    scaler_ : WindowMinMaxScaler
        Internal [0, 1] scaling.
    history_ : dict
        Loss curves per stage (``"autoencoder"``, ``"supervisor"``, ``"joint"``) and, with
        early stopping, ``"validation"`` (iterations, scores, best iteration and score);
        with ``latent_sampling="diffusion"``, ``"code_diffusion"`` (its loss every 100
        iterations).
    hidden_size_ : int
    n_iter_ : int
        Joint-stage iterations run (fewer than ``n_iter`` after early stopping; summed over
        warm-started fits).
    device_ : torch.device
    n_features_in_ : int
        Channels.
    seq_len_ : int
        Window length (the longest window, for windows of unequal lengths).
    length_counts_ : ndarray of int or None
        After a fit on windows of unequal lengths, how many had each length 1, 2, ...,
        ``seq_len_``, e.g. to compare with the lengths of samples
        (:func:`sktsgen.utils.window_lengths`). None when every window was complete.

    Examples
    --------
    >>> from sktsgen.datasets import make_sines
    >>> from sktsgen.generation import AvatarGenerator
    >>> X = make_sines(64, seq_len=8, n_features=2, random_state=0)
    >>> gen = AvatarGenerator(n_iter=3, hidden_size=4, random_state=0).fit(X)
    >>> gen.sample(5, random_state=0).shape
    (5, 8, 2)
    >>> gen.transform(X).shape
    (64, 8, 4)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "d_learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "prior": [StrOptions({"gaussian", "uniform", "mixture"})],
        "prior_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "prior_correlation": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "reconstruction_weight": [Interval(numbers.Real, 0, None, closed="neither")],
        "latent_sampling": [StrOptions({"fitted", "diffusion", "prior"})],
        "code_pca_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "code_mixture_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "diffusion_n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "diffusion_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "diffusion_hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "diffusion_steps": [Interval(numbers.Integral, 1, 1000, closed="both")],
        "diffusion_precision": [StrOptions({"float32", "bfloat16"})],
        "diffusion_loss_weighting": [StrOptions({"noise", "velocity"})],
        "calibration": [StrOptions({"auto", "covariance-quantiles", "covariance"}), None],
        "use_supervisor": ["boolean"],
        "use_distribution_loss": ["boolean"],
        "d_threshold": [Interval(numbers.Real, 0, None, closed="left")],
        "recompute_batch_norm": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "validation_interval": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric_n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "score_n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "target_type": [StrOptions({"auto", "classes", "continuous"})],
        "target_bins": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "allow_nan": ["boolean"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        # joblib's convention: 0 means nothing, so it is rejected here by name.
        "n_jobs": [Interval(numbers.Integral, None, -1, closed="right"),
                   Interval(numbers.Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # Windows generated per forward pass: bounds memory and keeps results independent of n.
    # 2048 measured fastest on a 2-core CPU (17k windows/s vs 7.7k at 16384: cache-sized
    # activations for the element-wise GRU gate ops).
    _chunk_size = 2048
    # Codes the fitted density is estimated from: enough for its 10 x 64-dimensional Gaussians,
    # and a bound on the PCA's and the mixture's cost for very many windows.
    _density_max_windows = 20000
    # Windows the batch-norm statistics are recomputed from (a random subset beyond): 781
    # batches of 128, where precise batch norm needs a few hundred; a pass over 1,000,000
    # windows took 64 s on 2 CPU cores, over 100,000 about 6 s.
    _batch_norm_max_windows = 100_000
    # Windows the fill values of missing channels are averaged over in one pass; beyond,
    # chunks of this many windows (see _channel_means).
    _full_pass_max_windows = 100_000
    # Covariance calibration ("auto"): at most this many values per window (the map is a
    # square matrix of that size, its fit an eigendecomposition), at least this many training
    # windows per value (fewer estimate the data's covariance too loosely). Samples drawn to
    # fit it: 100 per value (a covariance estimated within a few percent), at most the cap,
    # which also bounds the training windows used.
    _calibration_max_values = 2048
    _calibration_windows_per_value = 2
    _calibration_draws_per_value = 100
    _calibration_windows = 20000
    # Shrinkage of the generated windows' covariance (see sktsgen.nn.CovarianceCalibration).
    _calibration_shrinkage = 1e-2
    # Quantile levels of the quantile map (every 1%): as good as every 0.1% on Energy, at a
    # tenth of the size.
    _calibration_knots = 101

    def __init__(self, *, hidden_size=None, num_layers=3, n_iter=2000, batch_size=128,
                 learning_rate=1e-3, d_learning_rate=None, lr_schedule="constant",
                 prior="gaussian", prior_components=5, prior_correlation="auto",
                 reconstruction_weight=100.0, latent_sampling="fitted",
                 code_pca_components=None, code_mixture_components=30,
                 diffusion_n_iter=20000, diffusion_batch_size=1024, diffusion_hidden_size=512,
                 diffusion_steps=25, diffusion_precision="float32",
                 diffusion_loss_weighting="noise", calibration="auto",
                 use_supervisor=True, use_distribution_loss=True, d_threshold=0.15,
                 recompute_batch_norm=True, early_stopping=False, validation_fraction=0.1,
                 validation_interval=250,
                 n_iter_no_change=4, metric_n_iter=500, score_n_iter=2000, warm_start=False,
                 target_type="auto", target_bins=20, allow_nan=False, device="cpu",
                 n_jobs=None, verbose=0, random_state=None):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.d_learning_rate = d_learning_rate
        self.lr_schedule = lr_schedule
        self.prior = prior
        self.prior_components = prior_components
        self.prior_correlation = prior_correlation
        self.reconstruction_weight = reconstruction_weight
        self.latent_sampling = latent_sampling
        self.code_pca_components = code_pca_components
        self.code_mixture_components = code_mixture_components
        self.diffusion_n_iter = diffusion_n_iter
        self.diffusion_batch_size = diffusion_batch_size
        self.diffusion_hidden_size = diffusion_hidden_size
        self.diffusion_steps = diffusion_steps
        self.diffusion_precision = diffusion_precision
        self.diffusion_loss_weighting = diffusion_loss_weighting
        self.calibration = calibration
        self.use_supervisor = use_supervisor
        self.use_distribution_loss = use_distribution_loss
        self.d_threshold = d_threshold
        self.recompute_batch_norm = recompute_batch_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.metric_n_iter = metric_n_iter
        self.score_n_iter = score_n_iter
        self.warm_start = warm_start
        self.target_type = target_type
        self.target_bins = target_bins
        self.allow_nan = allow_nan
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.allow_nan
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train encoder, decoder, supervisor and discriminator on windows ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features)
            Training windows in any scale. 2-D input is read as windows of length 1, with
            a ``UserWarning``: it is more often one long series, to be cut with
            :func:`sktsgen.utils.sliding_windows` first. NaN marks missing values with
            ``allow_nan=True`` (a channel must have at least one observed value).
            Windows of unequal lengths are accepted whatever ``allow_nan``: a list of 2-D
            arrays, or an array padded with NaN after each window's end
            (:func:`sktsgen.utils.pad_windows`). The networks see the padding filled with
            each window's last step, and one more channel that marks the window's own steps,
            so that :meth:`sample` gives every new window the length that goes with its
            content.
        y : array-like of shape (n_samples,), default=None
            Optional class labels or continuous targets of the windows (see
            ``target_type``), so that :meth:`sample` can be asked for windows of a class or
            of a target value. The networks are trained on ``X`` alone either way; ``y``
            only adds a conditional code density, so the unconditional :meth:`sample` is
            the same with or without it.

        Returns
        -------
        self : AvatarGenerator
        """
        warm = self.warm_start and hasattr(self, "module_")
        # A warm start keeps the fitted scaling and requires windows of the fitted shape.
        X = validate_windows(self, X, reset=not warm, ensure_min_samples=2, warn_2d=True,
                             allow_nan=self.allow_nan, allow_padding=True)
        lengths = window_lengths(X)
        padded = bool((lengths < X.shape[1]).any())
        y = self._check_fit_target(y, len(X))
        if not warm:
            self._fit_dtype = X.dtype
            self.device_ = resolve_device(self.device)
            self.scaler_ = WindowMinMaxScaler().fit(X)
            self.hidden_size_ = self.hidden_size or default_hidden_size(X.shape[2])
            self.length_counts_ = (np.bincount(lengths, minlength=X.shape[1] + 1)[1:]
                                   if padded else None)
            self._length_channel = padded
        if self.early_stopping and (padded or self.allow_nan):
            n_missing = _count_nan(X)
            if n_missing:
                raise ValueError(
                    "early_stopping needs complete windows (its discriminative score "
                    f"compares whole windows), but X has {n_missing} missing or padded "
                    "entries (NaN). Use early_stopping=False, or impute X first.")
        if self.calibration not in ("auto", None) and (
                padded or (self.allow_nan and _count_nan(X))):
            raise ValueError(
                f"calibration={self.calibration!r} needs complete windows (it matches "
                "statistics of whole windows), but X has missing or padded entries (NaN). "
                "Use calibration='auto' (skipped for such windows) or None.")
        # Samples drawn during training (early stopping) are not calibrated.
        self.calibration_module_ = None
        if self.allow_nan and (not warm or getattr(self, "_channel_fill", None) is None):
            # Fill value of a channel missing over a whole window.
            self._channel_fill = self._channel_means(X)
        seed = seed_from_random_state(self.random_state)
        if warm:  # a new, still reproducible stream for each continuation
            seed = (seed + self.n_iter_) % (2**31 - 1)
        rng = np.random.RandomState(seed)
        X_val = rows = None
        if self.early_stopping:
            # int(): under NumPy 1.x, round() of a NumPy float stays a float.
            n_val = int(round(self.validation_fraction * len(X)))  # noqa: RUF046
            if n_val < 2 or len(X) - n_val < 2:
                raise ValueError(
                    f"early_stopping needs at least 2 training and 2 validation windows; "
                    f"validation_fraction={self.validation_fraction} of {len(X)} windows "
                    f"gives {n_val}. Use more windows or a larger validation_fraction."
                )
            perm = rng.permutation(len(X))
            # float32 as the training windows: the metric trains on float32 tensors anyway.
            X_val = np.empty((n_val, *X.shape[1:]), dtype=np.float32)
            X_val, rows = self.scaler_._transform_into(X, X_val, perm[:n_val]), perm[n_val:]
        # The scaled (and filled) training windows, in float32: the one copy of X that fit
        # makes; the training tensor shares its memory on a CPU.
        own = lengths if rows is None else lengths[rows]
        Xs, mask = self._scaled_training_windows(X, rows, own if padded else None)
        if getattr(self, "_length_channel", False):
            Xs, mask = _with_length_channel(Xs, mask, own)
        with torch_threads(1, self.device_), torch_seed(seed, self.device_):
            auto_corr = self.prior_correlation == "auto"
            if not warm:
                prior = Prior(self.prior, self.hidden_size_, self.prior_components,
                              correlation=0.0 if auto_corr else self.prior_correlation)
                self.module_ = AvatarNet(
                    Xs.shape[2], self.hidden_size_, self.num_layers, prior,
                    use_supervisor=self.use_supervisor,
                    use_distribution_loss=self.use_distribution_loss,
                    reconstruction_weight=self.reconstruction_weight,
                ).to(self.device_)
            self.module_.train()
            data = to_tensor(Xs, self.device_)
            observed = None if mask is None else torch.from_numpy(mask).to(self.device_)
            evaluate = (self._make_evaluate(data, Xs, X_val, seed) if X_val is not None
                        else None)
            history = train_avatar(
                self.module_, data, n_iter=self.n_iter, batch_size=self.batch_size,
                learning_rate=self.learning_rate, d_learning_rate=self.d_learning_rate,
                lr_schedule=self.lr_schedule,
                generator=make_generator(seed, self.device_), d_threshold=self.d_threshold,
                calibrate_prior=auto_corr, stages=("joint",) if warm else STAGES,
                verbose=self.verbose, evaluate=evaluate, eval_every=self.validation_interval,
                patience=self.n_iter_no_change, mask=observed,
            )
            self._finish_networks(data, seed, verbose=self.verbose)
        if warm:
            self._extend_history(history)
        else:
            self.history_ = history
            self.n_iter_ = 0
        self.n_iter_ += len(history["joint"]["iteration"])
        # Outside the one-thread block: a code diffusion's wide layers use every thread.
        self.code_density_module_ = self._fit_code_density(Xs, seed, report=self.verbose)
        if y is None:
            self.conditional_density_module_ = None
        else:
            what = ("a Gaussian mixture per class" if self.target_type_ == "classes"
                    else "a Gaussian mixture per target bin" if self.target_bins is not None
                    else "a mixture of codes and target")
            with report_step(self.verbose, "conditional", what):
                # With early stopping, Xs holds the training windows only: their labels.
                self.conditional_density_module_ = self._fit_conditional_density(
                    Xs, y if rows is None else y[rows], seed)
        if self._calibrates(Xs, mask, padded):
            self.calibration_module_ = self._fit_calibration(Xs, seed)
        # Stream for sample(random_state=None): successive calls differ, yet reproducibly.
        self._sample_rng = np.random.RandomState(rng.randint(0, 2**31 - 1))
        return self

    def _extend_history(self, history):
        """Append a continuation's joint-stage curves, numbering iterations on from the last."""
        joint = self.history_["joint"]
        offset = self.n_iter_
        for key, values in history["joint"].items():
            if key == "iteration":
                values = [offset + i for i in values]
            joint.setdefault(key, []).extend(values)
        if "validation" in history:
            val = dict(history["validation"])
            val["iteration"] = [offset + i for i in val["iteration"]]
            val["best_iteration"] += offset
            self.history_["validation"] = val

    def _channel_means(self, X):
        """Mean of each channel over the observed entries of the scaled windows ``X``.

        Up to ``_full_pass_max_windows`` windows, ``np.nanmean`` of all the scaled windows at
        once (in X's dtype); beyond, sums and counts of chunks of that many windows are
        accumulated in float64, so that no scaled copy of the whole of ``X`` is made.
        """
        step = self._full_pass_max_windows
        if len(X) <= step:
            return np.nanmean(self.scaler_.transform(X), axis=(0, 1))
        total = np.zeros(X.shape[2])
        count = np.zeros(X.shape[2])
        for start in range(0, len(X), step):
            part = self.scaler_.transform(X[start:start + step])
            total += np.nansum(part, axis=(0, 1), dtype=np.float64)
            count += np.count_nonzero(~np.isnan(part), axis=(0, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            return (total / count).astype(X.dtype)

    def _scaled_training_windows(self, X, rows=None, lengths=None):
        """Windows ``X`` (or ``X[rows]``, in that order) scaled to [0, 1] into one float32
        array, with missing entries filled (``allow_nan``) and, given the windows' own
        ``lengths`` (in the same order), the padding of shorter windows filled with their
        last step; and the boolean mask of the entries the losses compare (None when that
        is all of them). The filled padding counts as observed: reconstructing it, a sample
        cut one step late ends on a copy of its last step, not on an unconstrained value.

        Scaling and filling go a chunk of windows at a time, so the temporaries stay small;
        the values are those of ``scaler_.transform`` and ``fill_missing`` on the whole
        array, cast to float32 (as the training tensor always was) bit for bit.
        """
        n = len(X) if rows is None else len(rows)
        Xs = np.empty((n, *X.shape[1:]), dtype=np.float32)
        self.scaler_._transform_into(X, Xs, rows)
        mask = None
        if self.allow_nan or lengths is not None:
            # Padding alone: every channel is observed on a window's own steps, so the fill
            # is the window's last step repeated and the channel values are never used.
            fill = self._channel_fill if self.allow_nan else np.zeros(X.shape[2])
            step = chunk_rows(X)
            for start in range(0, n, step):
                filled, observed = fill_missing(Xs[start:start + step], fill)
                if observed is None:
                    continue
                Xs[start:start + step] = filled
                if lengths is not None:
                    own = padding_mask(lengths[start:start + step], X.shape[1])
                    observed |= ~own[:, :, None]
                if not observed.all():
                    if mask is None:
                        mask = np.ones(Xs.shape, dtype=bool)
                    mask[start:start + step] = observed
        return Xs, mask

    def _finish_networks(self, data, seed, verbose=0):
        """Eval mode, with batch-norm statistics recomputed for the final weights unless
        ``recompute_batch_norm=False``."""
        if self.recompute_batch_norm:
            n = min(len(data), self._batch_norm_max_windows)
            what = f"statistics over {n} windows" + (
                f" drawn from {len(data)}" if n < len(data) else "")
            with report_step(verbose, "batch norm", what):
                recompute_batch_norm(self.module_, data, self.batch_size,
                                     make_generator(seed, self.device_),
                                     forward=self.module_.reconstruct, max_windows=n)
        self.module_.eval()

    def _fit_code_density(self, Xs, seed, report=False, proxy=False):
        """The code density of ``latent_sampling`` (None for ``"prior"``), fitted to the
        eval-mode codes of (up to ``_density_max_windows``) scaled training windows.

        ``proxy=True`` (early-stopping evaluations) fits the mixture in place of a diffusion:
        seconds instead of minutes. A diffusion's loss curve goes to
        ``history_["code_diffusion"]``.
        """
        kind = "fitted" if proxy and self.latent_sampling == "diffusion" else self.latent_sampling
        if kind == "prior":
            return None
        start = time.perf_counter()
        rows = np.random.RandomState(seed).permutation(len(Xs))[:self._density_max_windows]
        if report:
            what = ("PCA and a Gaussian mixture" if kind == "fitted"
                    else "PCA and a diffusion model")
            print(f"code density   encoding {len(rows)} windows, fitting {what} ...",
                  file=sys.stderr, flush=True)
        with torch_threads(1, self.device_):
            codes = self._run(self.module_.encoder, Xs[np.sort(rows)], np.float64,
                              self.hidden_size_)
        n_components = self.code_pca_components or DEFAULT_PCA[kind]
        if kind == "fitted":
            density = fit_code_mixture(codes, n_components=n_components,
                                       n_mixture=self.code_mixture_components,
                                       random_state=seed)
            what = f"{density.weights.numel()} Gaussians"
        else:
            density, self.history_["code_diffusion"] = fit_code_diffusion(
                codes, n_components=n_components, hidden_size=self.diffusion_hidden_size,
                n_iter=self.diffusion_n_iter, batch_size=self.diffusion_batch_size,
                sampling_steps=self.diffusion_steps,
                precision=self.diffusion_precision,
                loss_weighting=self.diffusion_loss_weighting,
                generator=make_generator(seed, self.device_), random_state=seed,
                verbose=self.verbose)
            what = f"a diffusion model of {self.diffusion_n_iter} iterations"
        if report:
            print(f"code density   {density.n_components} principal components "
                  f"({100 * density.explained_variance:.1f}% of the codes' variance), "
                  f"{what}, {time.perf_counter() - start:.1f} s", file=sys.stderr)
        return density.to(self.device_)

    def _calibrates(self, Xs, mask, padded):
        """Whether ``calibration`` applies to these scaled training windows."""
        if self.calibration is None or padded or mask is not None:
            return False
        values = Xs.shape[1] * Xs.shape[2]
        return self.calibration != "auto" or (
            values <= self._calibration_max_values
            and len(Xs) >= self._calibration_windows_per_value * values)

    def _fit_calibration(self, Xs, seed):
        """The calibration of ``calibration`` fitted to (up to ``_calibration_windows``)
        scaled training windows and uncalibrated samples: the covariance map (moments in
        float64), then, unless ``"covariance"``, the quantile map of the mapped samples'
        values. Memory: the draws and their mapped copy in float32, the quantiles' sorted
        copies, and a few square matrices of the window's size. One thread for torch and
        for NumPy's BLAS, as the networks train: fits often run side by side."""
        values = Xs.shape[1] * Xs.shape[2]
        n = min(self._calibration_windows, self._calibration_draws_per_value * values)
        quantiles = self.calibration != "covariance"
        what = "mean and covariance" + (", then quantiles," if quantiles else "")
        with report_step(self.verbose, "calibration",
                         f"{what} of {values} values per window, {n} samples"), \
                torch_threads(1, self.device_), threadpool_limits(limits=1):
            reference = Xs
            if len(Xs) > self._calibration_windows:
                rows = np.random.RandomState(seed).permutation(len(Xs))
                reference = Xs[np.sort(rows[:self._calibration_windows])]
            # Its own stream: sample(random_state=seed) does not repeat these draws. Float32,
            # as decoded; the covariance map computes its moments in float64.
            generated = self._generate(n, (2 * seed + 1) % (2**31 - 1), np.float32,
                                       calibrate=False)
            covariance = CovarianceCalibration.from_windows(
                reference, generated, shrinkage=self._calibration_shrinkage)
            if not quantiles:
                return covariance.to(self.device_)
            with torch.no_grad():
                mapped = covariance(torch.from_numpy(generated)).numpy()
            marginal = QuantileCalibration.from_windows(reference, mapped,
                                                        self._calibration_knots)
        return torch.nn.Sequential(covariance, marginal).to(self.device_)

    def _check_fit_target(self, y, n_samples):
        """Validate ``fit``'s ``y`` and record how it is read; None stays None."""
        for name in ("target_type_", "classes_", "target_range_", "target_bin_edges_"):
            self.__dict__.pop(name, None)
        self.target_type_ = None
        if y is None:
            return None
        y = check_target(y, n_samples=n_samples, dtype=None)
        kind = self.target_type
        if kind == "auto":
            kind = "continuous" if np.issubdtype(y.dtype, np.floating) else "classes"
        if kind == "continuous":
            try:
                y = check_target(y, n_samples=n_samples, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"target_type='continuous' needs numeric finite targets y; {exc}") from exc
            self.target_range_ = (float(y.min()), float(y.max()))
        else:
            self.classes_, y = np.unique(y, return_inverse=True)
        self.target_type_ = kind
        return y

    def _fit_conditional_density(self, Xs, y, seed):
        """Per-class mixtures (class indices ``y``; for a continuous target, its bins) or a
        joint mixture of codes and targets, on the codes of the scaled windows ``Xs`` (at
        most ``_density_max_windows`` per class, or in all for a continuous target)."""
        rs = np.random.RandomState(seed)
        if self.target_type_ == "classes":
            rows = np.concatenate([rs.permutation(np.flatnonzero(y == c))
                                   [:self._density_max_windows]
                                   for c in range(len(self.classes_))])
        else:
            rows = rs.permutation(len(Xs))[:self._density_max_windows]
        rows = np.sort(rows)
        with torch_threads(1, self.device_):
            codes = self._run(self.module_.encoder, Xs[rows], np.float64, self.hidden_size_)
        kw = {"n_components": self.code_pca_components or DEFAULT_PCA["fitted"],
              "n_mixture": self.code_mixture_components, "random_state": seed}
        if self.target_type_ == "classes":
            density = fit_class_code_mixture(codes, y[rows], n_classes=len(self.classes_), **kw)
        elif self.target_bins is not None:
            # Equal-count bins of the target; each bin is then a class.
            quantiles = np.linspace(0, 1, self.target_bins + 1)[1:-1]
            edges = np.unique(np.quantile(y[rows], quantiles))
            # Discrete targets can leave a bin between two edges empty: merge it into the
            # bin below by keeping only the lower edges of bins that hold windows.
            present = np.unique(np.searchsorted(edges, y[rows], side="right"))
            self.target_bin_edges_ = edges[present[1:] - 1]
            bins = np.searchsorted(self.target_bin_edges_, y[rows], side="right")
            density = fit_class_code_mixture(codes, bins,
                                             n_classes=len(self.target_bin_edges_) + 1, **kw)
        else:
            density = fit_target_code_mixture(codes, y[rows], **kw)
        return density.to(self.device_)

    def _check_sample_target(self, y, n_samples):
        """``sample``'s ``y`` as the condition tensor's values: class indices or targets."""
        if self.target_type_ is None:
            raise ValueError(
                "sample(y=...) needs a generator fitted with y: call fit(X, y) with the "
                "windows' class labels or targets.")
        if np.ndim(y) == 0:
            y = np.full(n_samples, y, dtype=np.asarray(y).dtype)
        try:
            y = check_target(y, n_samples=n_samples, dtype=None)
        except ValueError as exc:
            raise ValueError(f"sample(y=...) must hold one value per window: {exc}") from exc
        if self.target_type_ == "classes":
            labels = self.classes_
            known = np.isin(y, labels)
            if not known.all():
                raise ValueError(
                    f"sample(y=...) got labels not seen at fit: {np.unique(y[~known])[:5]}; "
                    f"the classes are {labels}.")
            return np.searchsorted(labels, y)
        y = check_target(y, n_samples=n_samples, dtype=np.float64)
        low, high = self.target_range_
        outside = (y < low) | (y > high)
        if outside.any():
            raise ValueError(
                f"sample(y=...) got targets outside the range seen at fit, [{low:g}, "
                f"{high:g}]: e.g. {y[outside][0]:g}. The generator cannot extrapolate.")
        if self.target_bins is not None:
            return np.searchsorted(self.target_bin_edges_, y, side="right")
        return y

    def _make_evaluate(self, data, Xs, X_val, seed):
        """Early-stopping score: discriminative score of samples against held-out windows.

        The same code draws and classifier seed at every evaluation, so that successive
        scores differ by the model, not by the noise of the metric. The code density is
        refitted to the current encoder (a mixture in place of a diffusion).
        """
        from ..metrics import discriminative_score

        def evaluate():
            self._finish_networks(data, seed)
            self.code_density_module_ = self._fit_code_density(Xs, seed, proxy=True)
            synth = self._generate(len(X_val), seed, np.float32)
            self.module_.train()
            return discriminative_score(X_val, synth, n_iter=self.metric_n_iter,
                                        device=str(self.device_), random_state=seed)

        return evaluate

    def _code_draws(self, seed, condition=None):
        """``draw(start, stop)``: codes of windows ``start:stop`` from one generator seeded
        with ``seed``, to be called in window order; ``condition`` (class indices or
        targets, one per window) draws them from the conditional density."""
        gen = make_generator(seed, self.device_)
        if condition is not None:
            density = self.conditional_density_module_

            def draw(start, stop):
                return density.sample(stop - start, self.seq_len_, generator=gen,
                                      condition=condition[start:stop])
        else:
            codes = (self.module_.prior if self.code_density_module_ is None
                     else self.code_density_module_)

            def draw(start, stop):
                return codes.sample(stop - start, self.seq_len_, generator=gen)
        return draw

    def _generate(self, n_samples, seed, dtype, original_scale=False, condition=None,
                  out=None, lengths=None, own_lengths=False, calibrate=True):
        """Windows in the internal [0, 1] scale (or the original one), generated in chunks
        from one generator; ``condition`` (class indices or targets, one per window) draws
        the codes from the conditional density; ``lengths`` pads each window with NaN after
        its length, ``own_lengths`` after the length it was generated with (see
        :meth:`_decode`); ``calibrate=False`` leaves out the calibration, which applies to
        unconditional windows only. ``out``, when given, is filled and returned;
        a memory-mapped one block by block, each block's pages released once written."""
        draw = self._code_draws(seed, condition)
        decode = self._decode(dtype, original_scale, own_lengths and lengths is None,
                              calibrate=calibrate and condition is None)
        if out is None:
            out = np.empty((n_samples, self.seq_len_, self.n_features_in_), dtype=dtype)
        if not is_shared_memmap(out):
            out = map_chunks(decode, draw, out, self._chunk_size, n_jobs=self.n_jobs,
                             device=self.device_)
            return _pad_after(out, lengths)
        # Blocks are whole chunks, so every chunk draws the same codes as in one pass.
        block = self._chunk_size * CHUNKS_PER_BLOCK
        for start in range(0, n_samples, block):
            stop = min(start + block, n_samples)
            map_chunks(decode, lambda a, b, offset=start: draw(offset + a, offset + b),
                       out[start:stop], self._chunk_size, n_jobs=self.n_jobs,
                       device=self.device_)
            _pad_after(out[start:stop], None if lengths is None else lengths[start:stop])
            release_pages(out, start, stop)
        return out

    def _decode(self, dtype, original_scale, own_lengths=False, calibrate=True):
        """Codes -> windows as a chunk function; scaling back chunk by chunk keeps the
        arithmetic in cache and spares full-size temporaries. After a fit on windows of
        unequal lengths the networks also output the length channel: it is dropped, and with
        ``own_lengths`` each window is padded with NaN after the length it gives.
        ``calibrate``: apply the calibration, when fitted."""
        length_channel = getattr(self, "_length_channel", False)
        calibration = getattr(self, "calibration_module_", None) if calibrate else None

        def decode(z):
            x = self.module_.generate(z)
            if calibration is not None:
                x = calibration(x)
            x = x.cpu().numpy().astype(dtype, copy=False)
            lengths = None
            if length_channel:
                if own_lengths:
                    lengths = lengths_from_channel(x[..., -1])
                x = x[..., :-1]
            x = self.scaler_.inverse_transform(x) if original_scale else x
            return _pad_after(x, lengths)

        return decode

    def _check_sample_args(self, n_samples, y, lengths=None):
        """Validated ``n_samples``, the condition of ``y`` (None without ``y``) and
        ``lengths`` (None when not given)."""
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        condition = None if y is None else self._check_sample_target(y, n_samples)
        if lengths is not None:
            lengths = check_lengths(lengths, n_samples, self.seq_len_)
        return n_samples, condition, lengths

    def sample(self, n_samples=1, random_state=None, *, y=None, lengths=None, out=None):
        """Generate new windows in the original scale and dtype.

        Parameters
        ----------
        n_samples : int, default=1
            Number of windows; any positive count (generated in memory-bounded chunks).
        random_state : int, RandomState instance or None, default=None
            Seed of the prior draws. None continues a stream seeded by the estimator's
            ``random_state`` at fit, so successive calls give new windows and a refit with the
            same ``random_state`` repeats the same sequence of samples.
        y : array-like of shape (n_samples,) or scalar, default=None
            Ask for windows of these classes or target values, one per window (a scalar
            asks for ``n_samples`` windows of one value). Needs a generator fitted with
            ``y``; labels must be among ``classes_``, targets within ``target_range_``.
            Codes are then drawn from the conditional density
            (``conditional_density_module_``) whatever ``latent_sampling``.
        lengths : int or array-like of shape (n_samples,), default=None
            Steps of each window, between 1 and ``seq_len_``; the steps after them are NaN
            (padding, see :func:`sktsgen.utils.window_lengths`). None: complete windows
            when every training window was complete; after a fit on windows of unequal
            lengths, the length each window is generated with (the rounded sum of the
            length channel the networks learned), so that it goes with the window's
            content and class.
        out : ndarray or numpy.memmap of shape (n_samples, seq_len, n_features), default=None
            Preallocated, writeable output in the dtype of the windows seen at fit, filled in
            place chunk by chunk and returned, so that no array of ``n_samples`` windows is
            allocated: with a :class:`numpy.memmap` (e.g. from
            :func:`numpy.lib.format.open_memmap`), more windows than fit in memory stream to
            a file. The pages of a file mapped with ``mode="w+"`` or ``"r+"`` are released
            from resident memory every 131,072 windows once written. The windows are those
            of ``sample(n_samples, random_state)`` bit for bit. A wrong shape raises a
            ``ValueError``, a wrong dtype or a non-array a ``TypeError``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, seq_len, n_features)
            Window ``i`` is of class (or for the target) ``y[i]``; NaN after its length when
            windows are of unequal lengths. ``out`` itself when given.

        See Also
        --------
        sample_iter : The same windows, yielded chunk by chunk.
        """
        n_samples, condition, lengths = self._check_sample_args(n_samples, y, lengths)
        if out is not None:
            out = check_out(out, (n_samples, self.seq_len_, self.n_features_in_),
                            self._fit_dtype)
        source = self._sample_rng if random_state is None else random_state
        seed = seed_from_random_state(source)
        return self._generate(n_samples, seed, self._fit_dtype, original_scale=True,
                              condition=condition, out=out, lengths=lengths,
                              own_lengths=True)

    def sample_iter(self, n_samples, *, chunk_size=None, random_state=None, y=None,
                    lengths=None):
        """Generate new windows chunk by chunk, for more windows than fit in memory.

        The chunks, concatenated, are bit for bit ``sample(n_samples, random_state, y=y)``:
        the same codes are drawn in the same order whatever ``chunk_size``. Arguments are
        checked, and the seed taken, when this method is called, not at the first chunk.
        At most about ``chunk_size + 2048`` windows are held at a time.

        Parameters
        ----------
        n_samples : int
            Number of windows in all.
        chunk_size : int, default=None
            Windows per yielded chunk (the last one may be smaller). None: 2,048, the size in
            which windows are generated. ``n_jobs`` threads work in parallel only within a
            chunk, on 2,048 windows each: give a multiple of ``2048 * n_jobs`` to use them.
        random_state : int, RandomState instance or None, default=None
            As in :meth:`sample`.
        y : array-like of shape (n_samples,) or scalar, default=None
            As in :meth:`sample`: one class label or target per window, in all (not per
            chunk).
        lengths : int or array-like of shape (n_samples,), default=None
            As in :meth:`sample`, for all windows.

        Yields
        ------
        X_chunk : ndarray of shape (chunk_size, seq_len, n_features)
            The next windows, in the original scale and the dtype seen at fit.

        See Also
        --------
        sample : All windows at once, or into a preallocated (memory-mapped) array.

        Examples
        --------
        >>> from sktsgen.datasets import make_sines
        >>> from sktsgen.generation import AvatarGenerator
        >>> X = make_sines(64, seq_len=8, n_features=2, random_state=0)
        >>> gen = AvatarGenerator(n_iter=3, hidden_size=4, random_state=0).fit(X)
        >>> [len(chunk) for chunk in gen.sample_iter(10, chunk_size=4, random_state=0)]
        [4, 4, 2]
        """
        n_samples, condition, lengths = self._check_sample_args(n_samples, y, lengths)
        chunk_size = check_n_samples(self._chunk_size if chunk_size is None else chunk_size,
                                     name="chunk_size")
        source = self._sample_rng if random_state is None else random_state
        seed = seed_from_random_state(source)
        return self._iter_windows(n_samples, seed, condition, chunk_size, lengths)

    def _iter_windows(self, n_samples, seed, condition, chunk_size, lengths=None):
        """Chunks of ``chunk_size`` windows in the original scale. Codes are drawn, and
        decoded, in whole chunks of ``_chunk_size`` (as :meth:`_generate` does); decoded
        windows beyond the yielded chunk wait for the next one."""
        dtype, step = self._fit_dtype, self._chunk_size
        shape = (self.seq_len_, self.n_features_in_)
        draw = self._code_draws(seed, condition)
        decode = self._decode(dtype, original_scale=True, own_lengths=lengths is None,
                              calibrate=condition is None)
        ready = np.empty((0, *shape), dtype=dtype)  # decoded windows not yet yielded
        done = 0  # windows decoded so far: a multiple of step, or n_samples
        for start in range(0, n_samples, chunk_size):
            stop = min(start + chunk_size, n_samples)
            if done < stop:
                end = min(-(-stop // step) * step, n_samples)
                fresh = map_chunks(decode, lambda a, b, offset=done: draw(offset + a, offset + b),
                                   np.empty((end - done, *shape), dtype=dtype), step,
                                   n_jobs=self.n_jobs, device=self.device_)
                _pad_after(fresh, None if lengths is None else lengths[done:end])
                ready = np.concatenate([ready, fresh]) if len(ready) else fresh
                done = end
            chunk, ready = ready[:stop - start], ready[stop - start:]
            yield chunk

    def transform(self, X):
        """Encode windows into latent codes (the encoder's output).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)
            With ``allow_nan=True`` NaN marks missing values, filled as in :meth:`fit`.
            Windows of unequal lengths (NaN padding, or a list of 2-D arrays padded to
            ``seq_len_``) are accepted whatever ``allow_nan``.

        Returns
        -------
        H : ndarray of shape (n_samples, seq_len, hidden_size_)
            In X's dtype, NaN after each window's length; 2-D ``(n_samples,
            hidden_size_)`` for 2-D input.
        """
        ndim = _ndim(X)
        X = validate_windows(self, X, reset=False, allow_nan=self.allow_nan,
                             allow_padding=True)
        lengths = window_lengths(X)
        padded = bool((lengths < X.shape[1]).any())
        # float32, as the encoder reads them: one copy of X, scaled a chunk at a time.
        Xs, _ = self._scaled_training_windows(X, lengths=lengths if padded else None)
        if getattr(self, "_length_channel", False):
            Xs, _ = _with_length_channel(Xs, None, lengths)
        H = self._run(self.module_.encoder, Xs, X.dtype, self.hidden_size_)
        _pad_after(H, lengths if padded else None)
        return H[:, 0, :] if ndim == 2 else H

    def inverse_transform(self, H):
        """Decode latent codes into windows, as :meth:`sample` does with prior draws.

        Parameters
        ----------
        H : array-like of shape (n_samples, seq_len, hidden_size_) or (n_samples, hidden_size_)
            Codes, e.g. from :meth:`transform`; any sequence length. Codes padded with NaN
            after a window's length (as :meth:`transform` returns them for windows of
            unequal lengths) give windows padded the same way.

        Returns
        -------
        X : ndarray of shape (n_samples, seq_len, n_features)
            Original scale, H's dtype; 2-D for 2-D input.
        """
        check_is_fitted(self)
        ndim = _ndim(H)
        H = check_windows(H, input_name="H", allow_nan=True)
        lengths = window_lengths(H)
        if np.isnan(H).any():
            inside = np.isnan(H).any(axis=2) & (np.arange(H.shape[1]) < lengths[:, None])
            if inside.any() or (lengths == 0).any():
                raise ValueError(
                    "H contains NaN on a window's own steps: only padding (steps at the end "
                    "of a window that are NaN on every unit) is accepted.")
            H = np.where(np.isnan(H), 0, H).astype(H.dtype, copy=False)
        else:
            lengths = None
        if H.shape[2] != self.hidden_size_:
            raise ValueError(
                f"H has {H.shape[2]} latent units, but this AvatarGenerator has "
                f"hidden_size_={self.hidden_size_}."
            )
        decode = self._decode(H.dtype, original_scale=True, own_lengths=lengths is None)
        X = self._run(decode, H, H.dtype, self.n_features_in_)
        _pad_after(X, lengths)
        return X[:, 0, :] if ndim == 2 else X

    def _run(self, fn, A, dtype, width):
        """``fn`` over windows ``A`` in chunks -> ``(len(A), seq_len, width)`` in ``dtype``."""
        out = np.empty((len(A), A.shape[1], width), dtype=dtype)
        return map_chunks(fn, lambda start, stop: to_tensor(A[start:stop], self.device_), out,
                          self._chunk_size, n_jobs=self.n_jobs, device=self.device_)

    def score(self, X, y=None):
        """Quality of samples against windows ``X``: ``1 - 2 * discriminative score``.

        1 when a post-hoc GRU classifier cannot tell samples from ``X`` (accuracy 0.5),
        0 when it always can; so ``GridSearchCV`` needs no ``scoring`` argument. Both sets
        are compared in the internal [0, 1] scale; samples and classifier are seeded from
        ``random_state``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features)
            Held-out real windows (at least 2), complete: the classifier compares whole
            windows, so missing values (NaN) raise a ``ValueError`` whatever
            ``allow_nan``.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        from ..metrics import discriminative_score

        # NaN is let through validation for an error of its own: allow_nan does not help.
        X = validate_windows(self, X, reset=False, ensure_min_samples=2, allow_nan=True)
        if np.isnan(X).any():
            raise ValueError(
                f"score needs complete windows, but X has {int(np.isnan(X).sum())} missing "
                "values (NaN): the discriminative score compares whole windows. Score "
                "against complete held-out windows.")
        seed = seed_from_random_state(self.random_state)
        real = self.scaler_.transform(X).astype(np.float32)
        synth = self._generate(len(real), seed, np.float32)
        d = discriminative_score(real, synth, n_iter=self.score_n_iter,
                                 device=str(self.device_), random_state=seed)
        return 1.0 - 2.0 * float(d)


def _pad_after(X, lengths):
    """Set the steps of each window after its length to NaN, in place; ``X`` back."""
    if lengths is not None:
        X[np.arange(X.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = np.nan
    return X


def _with_length_channel(Xs, mask, lengths):
    """Scaled windows with one more channel, 1 on each window's own steps and 0 on its
    padding, always observed: the networks learn where a window ends together with what it
    holds, so that a sampled window's length goes with its content."""
    steps = padding_mask(lengths, Xs.shape[1]).astype(Xs.dtype)
    Xs = np.concatenate([Xs, steps[..., None]], axis=2)
    if mask is not None:
        mask = np.concatenate([mask, np.ones(mask.shape[:2] + (1,), dtype=bool)], axis=2)
    return Xs, mask


def lengths_from_channel(channel):
    """Window lengths from a generated length channel ``(n, seq_len)``: its sum, clipped to
    [0, 1] per step and rounded, at least 1."""
    total = np.clip(channel, 0.0, 1.0).sum(axis=1)
    return np.clip(np.rint(total), 1, channel.shape[1]).astype(np.intp)


def _count_nan(X):
    """Missing values (NaN) in ``X``, counted a chunk of windows at a time."""
    step = chunk_rows(X)
    return sum(int(np.count_nonzero(np.isnan(X[start:start + step])))
               for start in range(0, len(X), step))
