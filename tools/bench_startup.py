#!/usr/bin/env python3
"""Start-up cost of a run: the load (plugin + weights + model build) and compile steps that `runner run` reports in
its JSON report (`timing_ms.load`, `timing_ms.compile`), for each model on the cpu device and on the Wormhole emulator
(its bundled default config), and the whole process's wall time for one accuracy-only run. A sweep of hundreds of
configs pays this once per run, so it is measured on its own here rather than hidden in a throughput figure.

Targets (issue 9): load + compile under 100 ms on cpu and under 200 ms on wormhole for MobileNetV3-Large. The figures
are absolute milliseconds, so they drift with the machine's load: run it on a quiet machine, and read the median.

    python3 tools/bench_startup.py [--build build] [--repeat 7] [--models mobilenetv3_large,...] [--json FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = [("mobilenetv3", "large"), ("mobilenetv3", "small"), ("mobilenetv2", "default")]
DEVICES = ["cpu", "wormhole"]
TARGET_MS = {"cpu": 100.0, "wormhole": 200.0}  # load + compile, MobileNetV3-Large (issue 9 item 4)


def one_run(runner, model, variant, device):
    """One accuracy-only run (no timed loop): returns (load ms, compile ms, process wall ms)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        cmd = [runner, "run", "--model", model, "--variant", variant, "--device", device, "--input", "random",
               "--warmup", "0", "--iterations", "0", "--time", "0", "--report", report.name]
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = (time.perf_counter() - start) * 1e3
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
        timing = json.load(open(report.name))["timing_ms"]
        return timing["load"], timing["compile"], wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--repeat", type=int, default=7, help="runs per cell; the table shows their median")
    p.add_argument("--models", default="", help="comma-separated <model>_<variant> (default: all three)")
    p.add_argument("--json", default="", help="also write the per-cell medians here")
    args = p.parse_args()
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")
    models = MODELS
    if args.models:
        wanted = args.models.split(",")
        known = {f"{m}_{v}" for m, v in MODELS}
        if set(wanted) - known:
            sys.exit(f"--models: unknown {', '.join(sorted(set(wanted) - known))}; known: {', '.join(sorted(known))}")
        models = [m for m in MODELS if f"{m[0]}_{m[1]}" in wanted]
    runner = os.path.join(args.build, "bin", "runner")
    if not os.access(runner, os.X_OK):
        sys.exit(f"{runner}: not built (cmake --build {args.build})")

    print(f"{args.repeat} runs per cell (devices interleaved), median; ms; target = load + compile for MobileNetV3-Large")
    print(f"{'model':<20} {'device':<9} {'load':>7} {'compile':>8} {'sum':>7} {'process':>8} {'target':>7}")
    rows = []
    for model, variant in models:
        samples = {d: [] for d in DEVICES}
        for _ in range(args.repeat):
            for device in DEVICES:  # interleaved, so a burst of machine load hits both devices alike
                samples[device].append(one_run(runner, model, variant, device))
        for device in DEVICES:
            load = statistics.median(s[0] for s in samples[device])
            compile_ms = statistics.median(s[1] for s in samples[device])
            total = statistics.median(s[0] + s[1] for s in samples[device])
            wall = statistics.median(s[2] for s in samples[device])
            target = ""
            if (model, variant) == ("mobilenetv3", "large"):
                target = f"{'met' if total < TARGET_MS[device] else 'MISSED'} <{TARGET_MS[device]:.0f}"
            print(f"{model + ' ' + variant:<20} {device:<9} {load:>7.1f} {compile_ms:>8.1f} {total:>7.1f} {wall:>8.1f} {target:>7}")
            rows.append({"model": model, "variant": variant, "device": device, "load_ms": load, "compile_ms": compile_ms,
                         "load_plus_compile_ms": total, "process_ms": wall, "runs": args.repeat})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repeat": args.repeat, "cells": rows}, f, indent=1)


if __name__ == "__main__":
    main()
