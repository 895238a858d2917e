#!/usr/bin/python3
"""Export torchvision MobileNets to ONNX (opset 13, dynamic batch) with Debian's torch, at bench/test time.

    /usr/bin/python3 tools/bench_peers/export_onnx.py --model mobilenetv3_large --out DIR [--weights W.pth]

Writes DIR/<model>.onnx and, without --weights, DIR/<model>.pth: torchvision's own initialisation seeded from the
model name, so our runner (--weights DIR/<model>.pth) and ONNX Runtime run the same network. Idempotent: an
existing, non-empty output is kept (delete it to re-export). Must run under /usr/bin/python3 (Debian's
python3-torch); the python3 first on PATH may not see it.
"""

import argparse
import os
import sys
import zlib

import torch
from torchvision import models as tvm

BUILDERS = {
    "mobilenetv3_large": tvm.mobilenet_v3_large,
    "mobilenetv3_small": tvm.mobilenet_v3_small,
    "mobilenetv2": tvm.mobilenet_v2,
}


def build(name, weights):
    if weights is None:
        torch.manual_seed(zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)
    model = BUILDERS[name](weights=None).eval()
    if weights is not None:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model


def export(name, out_dir, weights=None, height=224, width=224):
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    pth_path = os.path.join(out_dir, f"{name}.pth")
    wanted = [onnx_path] + ([] if weights else [pth_path])
    if all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in wanted):
        return onnx_path
    model = build(name, weights)
    if weights is None:
        torch.save(model.state_dict(), pth_path)
    tmp = onnx_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, height, width), tmp, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
    os.replace(tmp, onnx_path)  # a crash mid-export must not leave a file that looks complete
    return onnx_path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(BUILDERS))
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--weights", help="a torchvision state_dict (.pth) to export instead of a seeded random one")
    args = parser.parse_args()
    print(export(args.model, args.out, args.weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
