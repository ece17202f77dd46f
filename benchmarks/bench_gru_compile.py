"""Is a ``torch.compile``d GRU worth offering? Forward + backward of one GRU layer on a CPU.

Times, on a (seq_len, batch, features) = (24, 128, 24) time-major batch with hidden size 24
(one layer of AVATAR's default on Stocks): ``torch.nn.GRU``, our hand-written
``sktsgen.nn.GRULayer``, the same recurrence as plain torch code run eagerly, and that plain
code compiled by ``torch.compile`` (inductor, with and without its C++ wrapper). Rounds
alternate between the variants and the fastest round of each is reported, so that load on a
shared machine affects all alike. Also times a forward pass without gradients on 2,048 windows
(one chunk of ``AvatarGenerator.sample``). The first call's time includes the cold compile.
Writes the "gru-compile" section of docs/benchmarks.md with ``--write``.

    python benchmarks/bench_gru_compile.py --write
"""

import argparse
import os
import sys
import time
from pathlib import Path

# A cold compile, not one served from inductor's on-disk caches of an earlier run.
os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.nn import GRULayer

SEQ_LEN, BATCH, SIZE, SAMPLE_CHUNK = 24, 128, 24, 2048


def plain_gru(x, w_ih, w_hh, b_ih, b_hh):
    """``nn.GRU``'s recurrence (gate order r, z, n) in plain torch operations."""
    hid = w_hh.shape[1]
    gi = (x.reshape(-1, x.shape[2]) @ w_ih.t() + b_ih).view(x.shape[0], x.shape[1], 3 * hid)
    h = x.new_zeros(x.shape[1], hid)
    outs = []
    for t in range(x.shape[0]):
        gh = torch.addmm(b_hh, h, w_hh.t())
        r = torch.sigmoid(gi[t, :, :hid] + gh[:, :hid])
        z = torch.sigmoid(gi[t, :, hid:2 * hid] + gh[:, hid:2 * hid])
        n = torch.tanh(gi[t, :, 2 * hid:] + r * gh[:, 2 * hid:])
        h = n + z * (h - n)
        outs.append(h)
    return torch.stack(outs)


def compiled(cpp_wrapper):
    # Separate options give a separate backend, so dynamo compiles each variant anew.
    return torch.compile(plain_gru, dynamic=False, options={"cpp_wrapper": cpp_wrapper})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=100, help="forward+backward passes per round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layer = GRULayer(SIZE, SIZE)
    weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
    ref = nn.GRU(SIZE, SIZE)
    ref.load_state_dict(layer.state_dict())
    x = torch.rand(SEQ_LEN, BATCH, SIZE, requires_grad=True)
    x_chunk = torch.rand(SEQ_LEN, SAMPLE_CHUNK, SIZE)
    variants = {
        "`torch.nn.GRU`": lambda x, *w: ref(x)[0],
        "`sktsgen.nn.GRULayer` (hand-written backward)": lambda x, *w: layer(x),
        "plain torch code, eager": plain_gru,
        "plain torch code, `torch.compile`": compiled(False),
        "plain torch code, `torch.compile`, C++ wrapper": compiled(True),
    }
    expected = plain_gru(x, *weights).detach()
    cold = {}
    for name, fn in variants.items():
        start = time.perf_counter()
        out = fn(x, *weights)
        out.sum().backward()
        cold[name] = time.perf_counter() - start
        err = (out.detach() - expected).abs().max().item()
        if err > 1e-5:
            raise AssertionError(f"{name} differs from nn.GRU's recurrence by {err:.2e}")
    n_fwd = max(args.reps // 10, 1)
    best = dict.fromkeys(variants, float("inf"))
    best_fwd = dict.fromkeys(variants, float("inf"))
    for _ in range(args.rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(args.reps):
                fn(x, *weights).sum().backward()
            best[name] = min(best[name], (time.perf_counter() - start) / args.reps)
            with torch.no_grad():
                fn(x_chunk, *weights)  # a new shape: compiled variants compile it here
                start = time.perf_counter()
                for _ in range(n_fwd):
                    fn(x_chunk, *weights)
                best_fwd[name] = min(best_fwd[name], (time.perf_counter() - start) / n_fwd)
    base = best["`sktsgen.nn.GRULayer` (hand-written backward)"]
    lines = ["## A compiled GRU layer on CPU", "", f"Command: `{command_line()}`", "",
             (f"{machine_line()} Fastest of {args.rounds} alternating rounds of {args.reps} "
             f"forward+backward passes on a {SEQ_LEN} x {BATCH} x {SIZE} batch, hidden size "
             f"{SIZE}, and of {n_fwd} forward passes without gradients on "
             f"{SAMPLE_CHUNK} windows."), "",
             ("| GRU layer | ms per forward+backward | relative to GRULayer | first call (s) "
             f"| ms per forward, {SAMPLE_CHUNK} windows, no grad |"),
             "| --- | --- | --- | --- | --- |"]
    for name in variants:
        lines.append(f"| {name} | {best[name] * 1e3:.2f} | {best[name] / base:.2f} | "
                     f"{cold[name]:.1f} | {best_fwd[name] * 1e3:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("gru-compile", text)


if __name__ == "__main__":
    main()
