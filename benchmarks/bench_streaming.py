"""Streaming many windows to a file: ``AvatarGenerator.sample(n, out=memmap)``.

Fits a small generator (``n_iter`` iterations per stage on Sines windows, float32), then
generates ``--n-windows`` windows into a ``numpy.lib.format.open_memmap`` ``.npy`` file in a
temporary folder, which is deleted afterwards. Reports the wall time, the windows per second
and the memory: the resident set (RSS) before sampling, its peak while sampling (polled every
0.1 s by a thread, with its anonymous and file-backed parts), and ``ru_maxrss`` (the process's
high-water mark) before and after. Checks that the file's first chunk is bit for bit
``sample(2048, random_state)``. When the folder's disk has less free space than the file plus
a margin of 3 GB, as many windows as fit are generated instead (the section says so). Writes
the "streaming" section of docs/benchmarks.md with ``--write``.

    python benchmarks/bench_streaming.py --write
"""

import argparse
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator

MARGIN = 3 * 2**30
MB = 2**20


def rss_parts():
    """Current resident memory in bytes: (total, anonymous, file-backed), from
    /proc/self/status (Linux)."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields.get("RssAnon", 0), fields.get("RssFile", 0)


def max_rss():
    """``ru_maxrss`` in bytes (kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RSSPoller(threading.Thread):
    """Polls the resident set every ``interval`` seconds and keeps its peak."""

    def __init__(self, interval=0.1):
        super().__init__(daemon=True)
        self.interval, self.stop, self.peak = interval, threading.Event(), (0, 0, 0)

    def run(self):
        while not self.stop.is_set():
            parts = rss_parts()
            if parts[0] > self.peak[0]:
                self.peak = parts
            self.stop.wait(self.interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-windows", type=int, default=10_000_000)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--seq-len", type=int, default=24)
    parser.add_argument("--n-features", type=int, default=5)
    parser.add_argument("--n-iter", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--dir", default=None, help="folder of the temporary file")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X = make_sines(args.n_train, seq_len=args.seq_len, n_features=args.n_features,
                   random_state=0).astype(np.float32)
    start = time.perf_counter()
    gen = AvatarGenerator(n_iter=args.n_iter, random_state=0).fit(X)
    fit_s = time.perf_counter() - start
    print(f"fit {fit_s:.1f} s", file=sys.stderr)

    folder = Path(tempfile.mkdtemp(prefix="sktsgen_stream_", dir=args.dir))
    try:
        row = args.seq_len * args.n_features * 4
        free = shutil.disk_usage(folder).free
        n = min(args.n_windows, max(0, (free - MARGIN) // row))
        if n < 1:
            raise SystemExit(f"not enough free disk in {folder}: {free / 2**30:.1f} GB")
        check = gen.sample(2048, random_state=1)
        out = np.lib.format.open_memmap(folder / "windows.npy", mode="w+", dtype=np.float32,
                                        shape=(n, args.seq_len, args.n_features))
        rss_before, maxrss_before = rss_parts(), max_rss()
        poller = RSSPoller()
        poller.start()
        start = time.perf_counter()
        gen.sample(n, random_state=1, out=out)
        out.flush()
        wall = time.perf_counter() - start
        poller.stop.set()
        poller.join()
        maxrss_after = max_rss()
        assert np.array_equal(out[:2048], check), "first chunk differs from sample(2048)"
        assert np.isfinite(out[-1000:]).all()
        size = out.nbytes
        del out
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    peak = poller.peak
    rate = n / wall
    print(f"{n} windows in {wall:.1f} s ({rate:,.0f}/s); RSS before {rss_before[0] / MB:.0f} "
          f"MB, peak while sampling {peak[0] / MB:.0f} MB (anon {peak[1] / MB:.0f}, file "
          f"{peak[2] / MB:.0f}); ru_maxrss {maxrss_before / MB:.0f} -> "
          f"{maxrss_after / MB:.0f} MB", file=sys.stderr)

    short = "" if n == args.n_windows else (
        f" Only {n:,} of the {args.n_windows:,} windows asked for: the disk had "
        f"{free / 2**30:.1f} GB free.")
    block_mb = 2048 * 64 * row / MB
    intro = (
        f"{machine_line()} `AvatarGenerator(n_iter={args.n_iter}, random_state=0)` fitted "
        f"on `make_sines({args.n_train}, seq_len={args.seq_len}, "
        f"n_features={args.n_features})` in float32 ({fit_s:.0f} s), then "
        f"`sample({n}, random_state=1, out=memmap)` into a `.npy` file opened with "
        f"`numpy.lib.format.open_memmap(mode=\"w+\")` in a temporary folder (deleted "
        f"afterwards). Resident memory (RSS) polled every 0.1 s from `/proc/self/status` "
        f"(in parentheses: anonymous + file-backed); "
        f"`ru_maxrss` is the process's high-water mark.{short}")
    header = ("| windows | file | wall time | windows/s | RSS before sampling | peak RSS while "
              "sampling | ru_maxrss before -> after |")
    row_md = (f"| {n:,} | {size / 2**30:.2f} GiB | {wall / 60:.1f} min | {rate:,.0f} | "
              f"{rss_before[0] / MB:.0f} MB ({rss_before[1] / MB:.0f} + "
              f"{rss_before[2] / MB:.0f}) | {peak[0] / MB:.0f} MB ({peak[1] / MB:.0f} + "
              f"{peak[2] / MB:.0f}) | {maxrss_before / MB:.0f} -> {maxrss_after / MB:.0f} MB |")
    bounded = (f"- Memory stays bounded: the peak RSS while sampling is "
               f"{(peak[0] - rss_before[0]) / MB:+.0f} MB from before sampling, for a file of "
               f"{size / 2**30:.2f} GiB. The mapping's written pages are released every "
               f"131,072 windows ({block_mb:.0f} MB here), so its file-backed part grows by "
               f"{(peak[2] - rss_before[2]) / MB:+.0f} MB at most, not by the file's size.")
    md = "\n".join([
        "## AvatarGenerator streaming to a file", "",
        f"Command: `{command_line()}`", "",
        intro, "",
        header, "| --- | --- | --- | --- | --- | --- | --- |", row_md, "",
        bounded,
        "- The file's first 2,048 windows are bit for bit `sample(2048, random_state=1)`.",
    ])
    print(md)
    if args.write:
        write_section("streaming", md)


if __name__ == "__main__":
    main()
