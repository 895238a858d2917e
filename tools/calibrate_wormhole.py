#!/usr/bin/env python3
"""Calibration of the Wormhole perf model against the published MobileNetV2 n150 figures (reference s6).

Runs
  build/bin/runner run --model mobilenetv2 --device wormhole --config yaml/configs/mobilenetv2_ttmetal_n150.yaml
                       --input random --iterations 1 --report /tmp/x.json
(its JSON report carries modelled_device_fps, the sum of the modelled per-op timings) and build/bin/wormhole_perf
(the device's own metrics and its "ops" table: the runner's report does not carry device metrics such as the
end-to-end figures), then prints modelled vs published and the per-op breakdown.

Usage: tools/calibrate_wormhole.py [--build DIR] [--skip-runner] [--top N]
Standard library only.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "yaml", "configs", "mobilenetv2_ttmetal_n150.yaml")

PUBLISHED = {
    "device_fps": (3730.0, 0.15, "device kernel samples/s, batch 10 (newer config, +-3% in its perf test)"),
    "e2e_fps_trace_2cq": (3030.0, 0.20, "end to end, trace + 2 command queues, batch 10"),
}
# Seed document (older tech report): bfloat8_b vs bfloat16 FPS of all ops.
PUBLISHED_BF16_RATIO = 898.4 / 927.5


def perf_tool(build, sets=(), table=None, batch=None):
    cmd = [os.path.join(os.path.abspath(build), "bin", "wormhole_perf"), "--model", "mobilenetv2", "--config", CONFIG]
    if batch:
        cmd += ["--batch", str(batch)]
    for s in sets:
        cmd += ["--set", s]
    if table:
        cmd += ["--table", table]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


def runner_report(build):
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "x.json")
        cmd = [os.path.join(os.path.abspath(build), "bin", "runner"), "run", "--model", "mobilenetv2", "--device", "wormhole", "--config",
               CONFIG, "--input", "random", "--iterations", "1", "--report", report]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0 or not os.path.exists(report):
            print("runner run failed (%d): %s" % (r.returncode, (r.stderr or r.stdout).strip()[-400:]))
            return None
        with open(report) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory (bin/runner, bin/wormhole_perf)")
    ap.add_argument("--skip-runner", action="store_true", help="do not run the runner (it runs the emulator once)")
    ap.add_argument("--top", type=int, default=12, help="costliest ops to list")
    args = ap.parse_args()

    base = perf_tool(args.build, table="ops")
    m = {k: v["value"] for k, v in base["metrics"].items()}

    print("MobileNetV2, tt-metal n150 config (yaml/configs/mobilenetv2_ttmetal_n150.yaml), batch %d" % base["batch"])
    print()
    print("| figure | modelled | published | error | tolerance |")
    print("|---|---:|---:|---:|---:|")
    ok = True
    for key, (pub, tol, what) in PUBLISHED.items():
        err = m[key] / pub - 1.0
        ok = ok and abs(err) <= tol
        print("| %s (%s) | %.0f | %.0f | %+.1f%% | +-%d%% |" % (key, what, m[key], pub, 100 * err, round(100 * tol)))
    # bfloat16 activations do not fit this config's L1 at batch 10 (as on the card): compare formats at batch 4.
    bfp8_b4 = perf_tool(args.build, batch=4)["metrics"]["device_fps"]["value"]
    bf16_b4 = perf_tool(args.build, sets=["dtype=bfloat16", "weights_dtype=bfloat16"], batch=4)["metrics"]["device_fps"]["value"]
    hifi4 = perf_tool(args.build, sets=["math_fidelity=HiFi4"])["metrics"]["device_fps"]["value"]
    print("| device_fps bfloat16 / bfloat8_b (batch 4) | %.3f | %.3f | | |" % (bf16_b4 / bfp8_b4, PUBLISHED_BF16_RATIO))
    print("| device_fps HiFi4 / LoFi | %.3f | (lower) | | |" % (hifi4 / m["device_fps"]))
    print("| e2e_fps_trace (1 CQ) | %.0f | | | |" % m["e2e_fps_trace"])
    print("| e2e_fps_plain (no trace) | %.0f | | | |" % m["e2e_fps_plain"])
    print("| compile_time_first_run [s] | %.1f | | | |" % m["compile_time_first_run"])
    print("| device_kernel_time [us per batch] | %.1f | %.1f | | |" % (m["device_kernel_time"] / 1000.0, 10 / 3730.0 * 1e6))

    if not args.skip_runner:
        rep = runner_report(args.build)
        if rep is not None:
            dm = rep.get("device_metrics", {})
            fps = dm.get("modelled_device_fps", {}).get("value")
            print()
            print("runner run --report: device_metrics.modelled_device_fps = %s (from the modelled per-op timings)" % fps)

    rows = list(csv.DictReader(io.StringIO(base["table"])))
    total = sum(float(r["DEVICE KERNEL DURATION [ns]"]) for r in rows)
    print()
    print("Per op code (%d device ops, %.1f us per batch):" % (len(rows), total / 1000.0))
    print()
    print("| op code | ops | kernel us | share | bound: compute / bandwidth / overhead |")
    print("|---|---:|---:|---:|---|")
    by = defaultdict(lambda: [0, 0.0, defaultdict(int)])
    for r in rows:
        e = by[r["OP CODE"]]
        e[0] += 1
        e[1] += float(r["DEVICE KERNEL DURATION [ns]"])
        e[2][r["BOUND"]] += 1
    for code, (n, ns, b) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print("| %s | %d | %.1f | %.1f%% | %d / %d / %d |" % (code, n, ns / 1000, 100 * ns / total, b["compute"],
                                                            b["bandwidth"], b["overhead"]))
    print()
    print("Costliest ops:")
    print()
    print("| node | op code | cores | strategy | kernel us | compute us | bandwidth us | overhead us | bound |")
    print("|---|---|---:|---|---:|---:|---:|---:|---|")
    for r in sorted(rows, key=lambda r: -float(r["DEVICE KERNEL DURATION [ns]"]))[: args.top]:
        print("| %s | %s | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |" % (
            r["NODE"], r["OP CODE"], r["CORE COUNT"], r["PARALLELIZATION STRATEGY"],
            float(r["DEVICE KERNEL DURATION [ns]"]) / 1000, float(r["MODEL COMPUTE [ns]"]) / 1000,
            float(r["MODEL BANDWIDTH [ns]"]) / 1000, float(r["MODEL OVERHEAD [ns]"]) / 1000, r["BOUND"]))
    print()
    print("calibration %s" % ("within tolerance" if ok else "OUT OF TOLERANCE"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
