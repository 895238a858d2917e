#!/usr/bin/env python3
"""Emulator speed against the CPU device: wall time per image of `runner run` on the Wormhole emulator (HiFi4 and LoFi
configs) divided by the CPU device's, same model, same batch, same machine, interleaved rounds (machines here are
noisy: the ratio is the figure, not the milliseconds). `--stat min` takes each run's fastest iteration instead of its
median: on a machine shared with other jobs that is the figure least disturbed by them.

    python3 tools/bench_emulator.py [--build build] [--rounds 3] [--iterations 30] [--batch 1] [--threads 0]
                                    [--models mobilenetv3_small,mobilenetv2_default] [--stat median|min]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = [("mobilenetv3", "large"), ("mobilenetv3", "small"), ("mobilenetv2", "default")]
SETUPS = [("cpu", None), ("wormhole", "accuracy_bf16_hifi4"), ("wormhole", "speed_bfp8_lofi")]


def median_ms(runner, model, variant, device, config, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        cmd = [runner, "run", "--model", model, "--variant", variant, "--device", device, "--input", "random",
               "--batch", str(args.batch), "--threads", str(args.threads), "--warmup", "3",
               "--iterations", str(args.iterations), "--report", report.name]
        if config:
            cmd += ["--config", os.path.join(ROOT, "yaml", "configs", config + ".yaml")]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0 and ("Out of Memory" in done.stderr or "clash with L1 buffers" in done.stderr):
            return None  # the emulated card cannot hold this model at this batch: a fact of the card, not a failure
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr}")
        return json.load(open(report.name))["latency_ms"][args.stat]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--stat", choices=["median", "min"], default="median", help="per run: median or fastest iteration")
    p.add_argument("--models", default="", help="comma-separated <model>_<variant> (default: all three)")
    args = p.parse_args()
    models = MODELS
    if args.models:
        wanted = args.models.split(",")
        models = [m for m in MODELS if f"{m[0]}_{m[1]}" in wanted]
        unknown = set(wanted) - {f"{m[0]}_{m[1]}" for m in MODELS}
        if unknown:
            sys.exit(f"--models: unknown {', '.join(sorted(unknown))}; known: {', '.join(f'{m[0]}_{m[1]}' for m in MODELS)}")
    runner = os.path.join(args.build, "bin", "runner")
    print(f"batch {args.batch}, threads {args.threads or 'all'}, {args.rounds} interleaved rounds x {args.iterations} iterations,"
          f" {args.stat} of each run, median over rounds")
    print(f"{'model':<20} {'cpu ms/img':>11} {'HiFi4 ms/img':>13} {'ratio':>6} {'LoFi ms/img':>12} {'ratio':>6}")
    for model, variant in models:
        samples = {s: [] for s in SETUPS}
        unfit = set()
        for _ in range(args.rounds):
            for s in SETUPS:
                if s in unfit:
                    continue
                ms = median_ms(runner, model, variant, s[0], s[1], args)
                if ms is None:
                    unfit.add(s)
                else:
                    samples[s].append(ms / args.batch)
        cpu = statistics.median(samples[SETUPS[0]])
        cells = []
        for s in SETUPS[1:]:
            if s in unfit:
                cells.append(f"{'does not fit':>13} {'-':>6}" if s[1] == SETUPS[1][1] else f"{'does not fit':>12} {'-':>6}")
            else:
                t = statistics.median(samples[s])
                cells.append(f"{t:>13.2f} {t / cpu:>6.2f}" if s[1] == SETUPS[1][1] else f"{t:>12.2f} {t / cpu:>6.2f}")
        print(f"{model + ' ' + variant:<20} {cpu:>11.2f} {cells[0]} {cells[1]}")


if __name__ == "__main__":
    main()
