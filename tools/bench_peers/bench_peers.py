#!/usr/bin/python3
"""Peer benchmark: our cpu device against ONNX Runtime on the same torchvision graphs, interleaved.

    /usr/bin/python3 tools/bench_peers/bench_peers.py [--rounds 3] [--iterations 50] [--json FILE]
        [--models mobilenetv3_large,mobilenetv3_small,mobilenetv2] [--batches 1,8] [--threads 1,2]

For each model it exports torchvision's network (seeded random weights) to ONNX with Debian's torch
(export_onnx.py, cached in --work), installs onnxruntime-node into tools/bench_peers/node_modules when missing
(`npm install --ignore-scripts`: the CPU library ships inside the package, its install script fetches GPU files),
then for every round and every cell (model x batch x threads) times ONNX Runtime (ort_run.js: graph optimisation
'all', intra-op threads = N, sequential) and `runner run --device cpu` on the same weights, in alternating order.

The table gives, per cell, the median and p90 ms per batch of each engine over all timed runs and
speed = ORT ms / our ms (our throughput over ORT's; >= 1.00 means at or ahead of ORT), the median over rounds of each
round's ratio of medians. Timings on a shared machine are noisy: compare the ratios, not the absolute times.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# model name -> runner --model / --variant
RUNNER_MODEL = {
    "mobilenetv3_large": ("mobilenetv3", "large"),
    "mobilenetv3_small": ("mobilenetv3", "small"),
    "mobilenetv2": ("mobilenetv2", "default"),
}


def ensure_onnxruntime():
    """Installs onnxruntime-node (package.json pins the version) next to this script when it is missing."""
    lib = os.path.join(HERE, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1")
    if os.path.isfile(lib):
        return
    print("bench_peers: installing onnxruntime-node with npm (--ignore-scripts)", file=sys.stderr)
    subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                   check=True, stdout=sys.stderr)


def percentile(values, q):
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def run_ort(onnx, batch, threads, warmup, iterations):
    out = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), "--model", onnx, "--batch", str(batch), "--threads",
                          str(threads), "--warmup", str(warmup), "--iterations", str(iterations)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def run_ours(runner, weights, model, batch, threads, warmup, iterations, work):
    name, variant = RUNNER_MODEL[model]
    report = os.path.join(work, "ours.json")
    if os.path.exists(report):
        os.remove(report)
    subprocess.run([runner, "run", "--model", name, "--variant", variant, "--device", "cpu", "--weights", weights,
                    "--input", "random", "--batch", str(batch), "--threads", str(threads), "--warmup", str(warmup),
                    "--iterations", str(iterations), "--report", report, "--report-format", "json"],
                   check=True, capture_output=True, text=True)
    with open(report) as f:
        r = json.load(f)
    return r["latency_ms"], r


def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runner", default=os.path.join(ROOT, "build", "bin", "runner"))
    p.add_argument("--work", default=os.path.join(ROOT, "build", "bench_peers"), help="exported models and scratch")
    p.add_argument("--models", default="mobilenetv3_large,mobilenetv3_small,mobilenetv2")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iterations", type=int, default=50, help="timed runs per engine, cell and round")
    p.add_argument("--json", help="also write the results as JSON to this file ('-' for stdout, table to stderr)")
    args = p.parse_args()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in RUNNER_MODEL:
            p.error(f"unknown model '{m}' (available: {', '.join(RUNNER_MODEL)})")
    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) for t in args.threads.split(",")]

    ensure_onnxruntime()
    import export_onnx  # Debian's torch: imported only once we know we run

    os.makedirs(args.work, exist_ok=True)
    exported = {m: export_onnx.export(m, args.work) for m in models}
    weights = {m: os.path.join(args.work, f"{m}.pth") for m in models}
    cells = [(m, b, t) for m in models for b in batches for t in threads]
    samples = {c: {"ort": [], "ours": [], "ratios": []} for c in cells}
    versions = {}
    ours_report = None
    for r in range(args.rounds):
        for i, (m, b, t) in enumerate(cells):
            s = samples[(m, b, t)]
            ort_first = (r + i) % 2 == 0  # alternate which engine goes first so drift does not favour one
            for engine in (("ort", "ours") if ort_first else ("ours", "ort")):
                if engine == "ort":
                    ms = run_ort(exported[m], b, t, args.warmup, args.iterations)
                    s["ort"].append(ms)
                else:
                    lat, ours_report = run_ours(args.runner, weights[m], m, b, t, args.warmup, args.iterations, args.work)
                    s["ours"].append(lat)
            s["ratios"].append(statistics.median(s["ort"][-1]) / s["ours"][-1]["median"])
            print(f"  round {r + 1}/{args.rounds} {m} b{b} t{t}: ORT {statistics.median(s['ort'][-1]):.2f} ms, "
                  f"ours {s['ours'][-1]['median']:.2f} ms", file=sys.stderr)

    with open(os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")) as f:
        versions["onnxruntime"] = json.load(f)["version"]
    versions["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions["runner"] = ours_report["provenance"].get("runner_version") if ours_report else None
    versions["git_commit"] = ours_report["provenance"].get("git_commit") if ours_report else None
    versions["compiler"] = ours_report["provenance"].get("compiler") if ours_report else None
    import torch
    versions["torch"] = torch.__version__

    rows = []
    for (m, b, t) in cells:
        s = samples[(m, b, t)]
        ort_all = [x for run in s["ort"] for x in run]
        rows.append({
            "model": m, "batch": b, "threads": t,
            "ort_median_ms": statistics.median(ort_all), "ort_p90_ms": percentile(ort_all, 0.9),
            # The runner reports aggregates per process: the median of the rounds' medians / p90s.
            "ours_median_ms": statistics.median(x["median"] for x in s["ours"]),
            "ours_p90_ms": statistics.median(x["p90"] for x in s["ours"]),
            "speed_vs_ort": statistics.median(s["ratios"]), "round_ratios": s["ratios"],
        })
    result = {"machine": machine(), "versions": versions, "rounds": args.rounds, "iterations": args.iterations,
              "warmup": args.warmup, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cells": rows}

    out = sys.stderr if args.json == "-" else sys.stdout
    mach = result["machine"]
    print(f"machine: {mach['cpu']}, {mach['cores']} cores, Linux {mach['kernel']}", file=out)
    print(f"versions: ONNX Runtime {versions['onnxruntime']} (onnxruntime-node, node {versions['node']}), "
          f"torch {versions['torch']} (ONNX export, opset 13), runner {versions['runner']} "
          f"({versions['git_commit']}, {versions['compiler']})", file=out)
    print(f"{args.rounds} interleaved rounds x {args.iterations} timed runs ({args.warmup} warm-up) per engine and cell; "
          f"ms per batch; speed = ORT ms / our ms (>= 1.00: at or ahead of ORT)", file=out)
    print("", file=out)
    print("| model | batch | threads | ORT median | ORT p90 | ours median | ours p90 | speed vs ORT |", file=out)
    print("|---|---:|---:|---:|---:|---:|---:|---:|", file=out)
    for row in rows:
        print(f"| {row['model']} | {row['batch']} | {row['threads']} | {row['ort_median_ms']:.2f} | {row['ort_p90_ms']:.2f} | "
              f"{row['ours_median_ms']:.2f} | {row['ours_p90_ms']:.2f} | {row['speed_vs_ort']:.2f}x |", file=out)
    if args.json:
        text = json.dumps(result, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
