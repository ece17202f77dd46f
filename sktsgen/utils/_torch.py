"""Torch plumbing for estimators: devices, seeds without touching global RNG, portable pickles."""

import contextlib
import io

import numpy as np
import torch
from sklearn.utils import check_random_state

VALID_DEVICES = ("cpu", "cuda", "auto")


def resolve_device(device):
    """Return a :class:`torch.device` for ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}.")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available; "
                "use device='cpu' or device='auto'."
            )
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}.")


def seed_from_random_state(random_state):
    """Draw a 63-bit seed from ``random_state`` (None, int or RandomState), sklearn-style."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def make_generator(seed, device="cpu"):
    """A private :class:`torch.Generator` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@contextlib.contextmanager
def torch_seed(seed, device=None):
    """Seed torch's RNGs for the block and restore the caller's global RNG state afterwards.

    Module initialisation and dropout use torch's global generator; forking it keeps
    ``random_state`` reproducible without changing the user's global RNG.
    """
    devices = []
    if device is not None and torch.device(device).type == "cuda":
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices, enabled=True):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def torch_threads(n_threads, device):
    """Run a block on at most ``n_threads`` torch CPU threads, then restore the setting.

    Our GRUs are small: on a CPU their cost at training batch sizes is per-operation
    overhead, which a second thread does not share but contends for. With another process
    on the second core, two OpenMP threads made element-wise ops 80x slower (8 ms vs
    0.09 ms for a 576k-element add); one thread is as fast as two on a quiet machine.
    """
    old = torch.get_num_threads()
    if device.type != "cpu" or old <= n_threads:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def to_tensor(X, device, dtype=torch.float32):
    """numpy -> torch on ``device`` (one copy, no gradient)."""
    return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)


class TorchPickleMixin:
    """Device-portable pickling for estimators holding torch modules.

    Every attribute ending in ``module_`` (or listed in ``_torch_modules``) is stored as a
    CPU state dict plus the module object moved to CPU; on load it goes back to the fitted
    device when that device exists, else to CPU. So a model fitted on a GPU loads on a
    CPU-only machine. Optimizer state is not kept in pickles.
    """

    def __getstate__(self):
        state = self.__dict__.copy()
        for key, value in list(state.items()):
            if isinstance(value, torch.nn.Module):
                buf = io.BytesIO()
                torch.save(value if _on_cpu(value) else _cpu_copy(value), buf)
                state[key] = _PickledModule(buf.getvalue())
            elif isinstance(value, torch.optim.Optimizer):
                state[key] = None
            elif isinstance(value, torch.Tensor):
                state[key] = _PickledTensor(value.detach().cpu())
        return state

    def __setstate__(self, state):
        target = _restore_device(state.get("device_"))
        for key, value in list(state.items()):
            if isinstance(value, _PickledModule):
                state[key] = torch.load(
                    io.BytesIO(value.payload), map_location=target, weights_only=False
                ).to(target)
            elif isinstance(value, _PickledTensor):
                state[key] = value.tensor.to(target)
        if "device_" in state and state["device_"] is not None:
            state["device_"] = target
        self.__dict__.update(state)


class _PickledModule:
    def __init__(self, payload):
        self.payload = payload


class _PickledTensor:
    def __init__(self, tensor):
        self.tensor = tensor


def _on_cpu(module):
    return all(p.device.type == "cpu" for p in module.parameters()) and all(
        b.device.type == "cpu" for b in module.buffers()
    )


def _cpu_copy(module):
    import copy

    return copy.deepcopy(module).to("cpu")


def _restore_device(device):
    if device is None:
        return torch.device("cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device
