#!/usr/bin/python3
"""Torch vs ONNX vs device table: the same weights and inputs through torchvision (torch), ONNX Runtime on the graph
exported from it, our cpu device and the wormhole emulator (bf16/HiFi4 and bfloat8_b/LoFi run configs), with PCC and
mean / max abs error of every pair of engines, for MobileNetV3-Large, -Small and V2.

    /usr/bin/python3 tools/validation_table.py --reference build/reference [--init tvinit|calibrated] [--check]
        [--runner build/bin/runner] [--work build/validation] [--json FILE]

Weights, inputs and torchvision's logits come from the test fixture (tools/make_reference.py, ctest
make_torchvision_reference): `tvinit` is torchvision's own initialisation (the "random weights" of tt-metal's PCC
thresholds), `calibrated` the fixture's activation-calibrated networks, which amplify perturbations. ONNX Runtime
comes from tools/bench_peers (installed there with npm when missing). --check exits 1 unless, for every model,
ORT vs cpu has PCC >= 0.99999 and max abs error <= 1e-4 x max|logit| (the two fp32 engines must agree).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "bench_peers"))

MODELS = [("mobilenetv3_large", "mobilenetv3", "large"), ("mobilenetv3_small", "mobilenetv3", "small"),
          ("mobilenetv2", "mobilenetv2", "default")]
DEVICES = [("cpu", "cpu", None), ("wormhole bf16/HiFi4", "wormhole", "yaml/configs/accuracy_bf16_hifi4.yaml"),
           ("wormhole bfp8/LoFi", "wormhole", "yaml/configs/speed_bfp8_lofi.yaml")]
PCC_MIN, REL_MAX = 0.99999, 1e-4


def pcc(a, b):
    a = a.astype(np.float64).ravel() - a.mean()
    b = b.astype(np.float64).ravel() - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float(np.array_equal(a, b))


def compare(a, b):
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return {"pcc": pcc(a, b), "mean_abs": float(d.mean()), "max_abs": float(d.max())}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", default=os.path.join(ROOT, "build", "reference"))
    p.add_argument("--init", choices=["tvinit", "calibrated"], default="tvinit")
    p.add_argument("--runner", default=os.path.join(ROOT, "build", "bin", "runner"))
    p.add_argument("--work", default=os.path.join(ROOT, "build", "validation"))
    p.add_argument("--json", help="also write the table as JSON")
    p.add_argument("--check", action="store_true", help="exit 1 unless ORT and cpu agree (see above)")
    args = p.parse_args()

    import bench_peers
    import export_onnx
    bench_peers.ensure_onnxruntime()
    with open(os.path.join(args.reference, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(args.work, exist_ok=True)
    rows, failures = [], []
    for name, runner_model, variant in MODELS:
        model_id = f"{name}_w1.0" + ("_tvinit" if args.init == "tvinit" else "")
        entry = next(m for m in manifest["models"] if m["id"] == model_id)
        case = next(c for c in entry["cases"] if c["name"] == "b1_224x224")
        weights = os.path.join(args.reference, entry["weights"]["pth_zip"])
        x = os.path.join(args.reference, case["input"])
        out = {"torch": np.load(os.path.join(args.reference, case["logits"]))}

        folder = os.path.join(args.work, model_id)
        onnx = export_onnx.export(name, folder, weights=weights)
        ort_out = os.path.join(folder, "ort.npy")
        subprocess.run(["node", os.path.join(HERE, "bench_peers", "ort_run.js"), "--model", onnx, "--threads", "1",
                        "--input", x, "--output", ort_out, "--warmup", "0", "--iterations", "0"],
                       check=True, capture_output=True, text=True)
        out["onnxruntime"] = np.load(ort_out)
        for label, device, config in DEVICES:
            y = os.path.join(folder, label.replace(" ", "_").replace("/", "_") + ".npy")
            cmd = [args.runner, "run", "--model", runner_model, "--variant", variant, "--device", device, "--weights",
                   weights, "--input", x, "--iterations", "0", "--save-output", y]
            if config:
                cmd += ["--config", os.path.join(ROOT, config)]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            out[label] = np.load(y)

        engines = list(out)
        scale = float(np.abs(out["torch"]).max())
        for i in range(len(engines)):
            for j in range(i + 1, len(engines)):
                r = {"model": name, "a": engines[i], "b": engines[j], **compare(out[engines[i]], out[engines[j]])}
                r["max_abs_over_max_logit"] = r["max_abs"] / scale
                rows.append(r)
        ort_cpu = compare(out["onnxruntime"], out["cpu"])
        limit = REL_MAX * float(np.abs(out["onnxruntime"]).max())
        if ort_cpu["pcc"] < PCC_MIN or ort_cpu["max_abs"] > limit:
            failures.append(f"{name}: ORT vs cpu PCC {ort_cpu['pcc']:.7f} (min {PCC_MIN}), max abs error "
                            f"{ort_cpu['max_abs']:.3g} (max {limit:.3g} = {REL_MAX} x max|logit|)")

    print(f"weights: {args.init} (tools/make_reference.py), input: the fixture's b1_224x224 randn image, logits [1, 1000]")
    print("| model | A | B | PCC | mean abs err | max abs err | max err / max abs logit |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['a']} | {r['b']} | {r['pcc']:.6f} | {r['mean_abs']:.3g} | {r['max_abs']:.3g} | "
              f"{r['max_abs_over_max_logit']:.2g} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"init": args.init, "rows": rows}, f, indent=1)
    if args.check and failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
