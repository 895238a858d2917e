#!/usr/bin/python3
"""Make torchvision reference data for the model tests: random-weight MobileNets, EfficientNet-B0 and ResNet-50, their
weights in three file formats, inputs and torchvision's logits.

    /usr/bin/python3 tools/make_reference.py --out DIR [--force]

Must run under Debian's python3 (python3-torch 1.13 / python3-torchvision 0.14), the project's numerical reference.
Idempotent: if DIR/manifest.json is complete for this script version and these torch/torchvision versions, it exits
at once. Deterministic: every random number comes from a generator seeded from the model / case id.

For each model config: build the torchvision model with weights=None, randomise every parameter and buffer, calibrate
the scale of each conv / linear layer so activations stay O(1) through the depth (see `calibrate`), save the
state_dict as w.pth (zip), w_legacy.pth (legacy torch.save format) and w.safetensors (written here), then for each
case save x.npy (float32 NCHW, randn) and y.npy (float32 [N, 1000], torchvision's logits in eval mode, float32).
DIR/manifest.json describes everything (paths relative to DIR); DIR/README.txt explains it for humans.
"""

import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torchvision
from torchvision import models as tvm

SCRIPT_VERSION = 4

# Activation scale the calibration aims for at every BatchNorm / conv / linear output (RMS). 2 rather than 1 so the
# piecewise parts of the activations are all exercised often: hardswish's zero (x < -3) and identity (x > 3) regions,
# hardsigmoid's saturation in squeeze-excite, and ReLU6's clip at 6.
TARGET_RMS = 2.0
# A config whose logits have a smaller std across classes than this is rejected as degenerate.
MIN_LOGIT_STD = 0.5

SQUARE = [("b1_224x224", 1, 224, 224), ("b3_224x224", 3, 224, 224), ("b1_192x256", 1, 192, 256)]
ONE = [("b1_224x224", 1, 224, 224)]


def reference_case(case_id, model, variant, settings, build, cases, init):
    """One reference model: its id (with _tvinit when torchvision's own init is used), our model/variant/settings, and
    the torchvision constructor that builds the same network."""
    return {
        "id": case_id + ("_tvinit" if init == "torchvision" else ""),
        "init": init,
        "model": model,
        "variant": variant,
        "settings": settings,
        "build": build,
        "cases": cases,
    }


def v3(variant, width, reduced_tail=False, dilated=False, cases=ONE, init="calibrated"):
    suffix = "_reduced_tail_dilated" if (reduced_tail and dilated) else (
        "_reduced_tail" if reduced_tail else ("_dilated" if dilated else ""))
    build = tvm.mobilenet_v3_large if variant == "large" else tvm.mobilenet_v3_small
    return reference_case(f"mobilenetv3_{variant}_w{width}{suffix}", "mobilenetv3", variant,
                          {"width_mult": width, "reduced_tail": reduced_tail, "dilated": dilated},
                          lambda: build(weights=None, width_mult=width, reduced_tail=reduced_tail, dilated=dilated),
                          cases, init)


def v2(width, cases=ONE, init="calibrated"):
    return reference_case(f"mobilenetv2_w{width}", "mobilenetv2", "default", {"width_mult": width},
                          lambda: tvm.mobilenet_v2(weights=None, width_mult=width), cases, init)


def efficientnet_b0(cases=ONE, init="calibrated"):
    return reference_case("efficientnet_b0", "efficientnet", "b0", {}, lambda: tvm.efficientnet_b0(weights=None), cases, init)


def resnet50(cases=ONE, init="calibrated"):
    return reference_case("resnet50_v1.5", "resnet", "50", {}, lambda: tvm.resnet50(weights=None), cases, init)


CONFIGS = [
    v3("large", 1.0, cases=SQUARE),
    v3("large", 0.75),
    v3("large", 1.0, reduced_tail=True, dilated=True),
    v3("small", 1.0, cases=SQUARE),
    # torchvision keeps Small's C4 expansion (288) under reduced_tail and halves only its output.
    v3("small", 1.0, reduced_tail=True),
    v3("small", 1.0, reduced_tail=True, dilated=True),
    v2(1.0, cases=SQUARE),
    v2(0.5),
    efficientnet_b0(cases=SQUARE),
    v2(1.4),  # the last conv grows to 1792 = md(1280 * 1.4) only when width > 1
    # torchvision's own initialisation (kaiming-normal convs, unit BatchNorm, N(0, 0.01) classifiers), untouched: the
    # "random weights" of tt-metal's PCC thresholds. Such networks damp perturbations, where the calibrated ones above
    # are built to keep every activation O(1) and so amplify them: accuracy tests of reduced-precision devices use these.
    v3("large", 1.0, init="torchvision"),
    v3("small", 1.0, init="torchvision"),
    v2(1.0, init="torchvision"),
    efficientnet_b0(init="torchvision"),
    resnet50(cases=SQUARE),
    resnet50(init="torchvision"),
]


def seed_of(text):
    return zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF


def randomise(model, gen):
    """Fresh random values for every parameter and buffer (scales of conv / linear are fixed by `calibrate`)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen))
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=gen) + 0.5)  # U(0.5, 1.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)  # U(0.5, 1.5)
                module.num_batches_tracked.fill_(int(torch.randint(1, 1_000_000, (1,), generator=gen)))
            elif len(list(module.children())) == 0 and any(True for _ in module.parameters(recurse=False)):
                raise RuntimeError(f"randomise: unexpected module with parameters: {type(module).__name__}")


def calibrate(model, gen, gain):
    """Data-dependent scaling (in the spirit of LSUV / data-dependent init), in one forward pass on a calibration batch
    of randn images, with hooks that fix each layer just before (BatchNorm) or just after (conv, linear) it runs, so
    every later layer is calibrated on already calibrated inputs:
      - conv followed by BatchNorm (no bias): weight rescaled so the output's RMS is TARGET_RMS;
      - BatchNorm: running_mean = the batch's channel mean + N(0, 0.1) * channel std, running_var = the batch's
        channel variance * U(0.5, 1.5) / TARGET_RMS^2, so every channel is alive with an RMS near TARGET_RMS while the
        statistics are not exact;
      - squeeze-excite fc1 / fc2 (convs with a bias): weight rescaled so the output without bias has RMS TARGET_RMS;
      - linear (classifier): weight rescaled and bias shifted so each output is centred over the batch with RMS
        TARGET_RMS, plus the random N(0, 0.1) bias.
    Without the centring, the constant part of the pooled features dominates the classifier and every input gets the
    same top-1 class: the test would not notice an implementation that ignores most of the input."""
    target = TARGET_RMS * gain

    def conv_hook(module, inputs, output):
        if module.bias is None:
            rms = float(output.pow(2).mean().sqrt())
            if not math.isfinite(rms) or rms == 0.0:
                raise RuntimeError(f"calibration: degenerate output of {type(module).__name__} (rms {rms})")
            module.weight.mul_(target / rms)
            return output * (target / rms)
        bias = module.bias
        shape = (1, -1, 1, 1) if output.dim() == 4 else (1, -1)
        pure = output - bias.view(shape)
        # Centre only the classifier. Squeeze-excite sees pooled vectors that vary little from image to image;
        # centring those would blow the small differences up and make the gates of unseen inputs all 0 or 1.
        mean = pure.mean(dim=0) if isinstance(module, torch.nn.Linear) else torch.zeros_like(bias)
        centred = pure - mean.view(shape)
        rms = float(centred.pow(2).mean().sqrt())
        if not math.isfinite(rms) or rms == 0.0:
            raise RuntimeError(f"calibration: degenerate output of {type(module).__name__} (rms {rms})")
        factor = target / rms
        module.weight.mul_(factor)
        bias.sub_(mean * factor)
        return pure * factor + bias.view(shape)

    def bn_pre_hook(module, inputs):
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        # A floor for channels (almost) constant on the calibration batch, which would otherwise amplify any other
        # input enormously.
        var = x.var(dim=(0, 2, 3), unbiased=False)
        var = torch.maximum(var, 0.1 * var.mean())
        module.running_mean.copy_(mean + torch.randn(mean.shape, generator=gen) * 0.1 * var.sqrt())
        module.running_var.copy_(var * (torch.rand(var.shape, generator=gen) + 0.5) / (target * target))

    handles = []
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.BatchNorm2d):
            handles.append(m.register_forward_pre_hook(bn_pre_hook))
    try:
        with torch.no_grad():
            model(torch.randn(8, 3, 224, 224, generator=gen))
    finally:
        for h in handles:
            h.remove()


def write_safetensors(path, state_dict):
    """safetensors by hand: u64 LE header length, JSON header (padded with spaces to a multiple of 8 so the data is
    8-byte aligned, as the reference implementation does), then the raw little-endian C-order bytes, contiguous from
    0 in state_dict order."""
    header = {"__metadata__": {"format": "pt", "producer": "tools/make_reference.py"}}
    blobs = []
    offset = 0
    for name, tensor in state_dict.items():
        t = tensor.detach().contiguous()
        if t.dtype == torch.float32:
            dtype, data = "F32", t.numpy().astype("<f4", copy=False).tobytes()
        elif t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8", copy=False).tobytes()
        else:
            raise RuntimeError(f"safetensors: unexpected dtype {t.dtype} for {name}")
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def manifest_is_complete(out_dir):
    path = os.path.join(out_dir, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if manifest.get("version") != SCRIPT_VERSION or manifest.get("torch") != torch.__version__ or \
            manifest.get("torchvision") != torchvision.__version__:
        return False
    if [m.get("id") for m in manifest.get("models", [])] != [c["id"] for c in CONFIGS]:
        return False
    files = []
    for m in manifest["models"]:
        files += list(m["weights"].values())
        for c in m["cases"]:
            files += [c["input"], c["logits"]]
    return all(os.path.isfile(os.path.join(out_dir, f)) and os.path.getsize(os.path.join(out_dir, f)) > 0 for f in files)


def make_model(config, out_dir):
    model_id = config["id"]
    folder = os.path.join(out_dir, model_id)
    os.makedirs(folder, exist_ok=True)
    seed = seed_of(model_id)

    calibrated = config["init"] == "calibrated"
    if not calibrated:
        torch.manual_seed(seed)
        model = config["build"]().eval()
    # Retry with a larger calibration gain if the logits come out degenerate (not expected with calibration).
    for attempt, gain in enumerate((1.0, 2.0, 4.0) if calibrated else ()):
        gen = torch.Generator().manual_seed(seed + attempt)
        model = config["build"]().eval()
        randomise(model, gen)
        calibrate(model, gen, gain)
        with torch.no_grad():
            probe = model(torch.randn(1, 3, 224, 224, generator=gen))
        if torch.isfinite(probe).all() and float(probe.std(dim=1).min()) >= MIN_LOGIT_STD:
            break
        print(f"  {model_id}: degenerate logits (std {float(probe.std(dim=1).min()):.3g}) at gain {gain}, retrying")
    else:
        if calibrated:
            raise RuntimeError(f"{model_id}: could not get well spread logits")

    state = model.state_dict()
    weights = {"pth_zip": f"{model_id}/w.pth", "pth_legacy": f"{model_id}/w_legacy.pth",
               "safetensors": f"{model_id}/w.safetensors"}
    torch.save(state, os.path.join(out_dir, weights["pth_zip"]))
    torch.save(state, os.path.join(out_dir, weights["pth_legacy"]), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(out_dir, weights["safetensors"]), state)

    cases = []
    for name, batch, height, width in config["cases"]:
        gen = torch.Generator().manual_seed(seed_of(f"{model_id}/{name}"))
        x = torch.randn(batch, 3, height, width, generator=gen, dtype=torch.float32)
        with torch.no_grad():
            y = model(x)
        assert y.dtype == torch.float32 and tuple(y.shape) == (batch, 1000), y.shape
        spread = y.std(dim=1)
        if not torch.isfinite(y).all() or (calibrated and float(spread.min()) < MIN_LOGIT_STD):
            raise RuntimeError(f"{model_id}/{name}: degenerate logits (std across classes {spread.tolist()})")
        x_rel, y_rel = f"{model_id}/{name}_x.npy", f"{model_id}/{name}_y.npy"
        np.save(os.path.join(out_dir, x_rel), x.numpy().astype(np.float32))
        np.save(os.path.join(out_dir, y_rel), y.numpy().astype(np.float32))
        std_text = ", ".join(f"{s:.3f}" for s in spread.tolist())
        top1 = y.argmax(dim=1).tolist()
        across = f", mean std across the batch {float(y.std(dim=0).mean()):.3f}" if batch > 1 else ""
        print(f"  {model_id} {name}: logit std across classes [{std_text}]{across}, top-1 {top1}")
        # torch's own float32 rounding on this case: its logits against the same network in float64, as max abs error
        # over max |logit|. Two float32 implementations that sum in different orders differ by about this much, so
        # the model tests' logits bound scales with it (deep residual networks such as ResNet-50 reach 1e-4).
        with torch.no_grad():
            exact = model.double()(x.double())
        model.float()
        fp32_error = float((y.double() - exact).abs().max() / exact.abs().max())
        cases.append({"name": name, "batch": batch, "height": height, "width": width, "input": x_rel,
                      "logits": y_rel, "logit_std": [round(s, 4) for s in spread.tolist()],
                      "torch_fp32_error": fp32_error})

    return {
        "id": model_id,
        "model": config["model"],
        "variant": config["variant"],
        "settings": config["settings"],
        "init": config["init"],
        "weights": weights,
        "state_dict_entries": len(state),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seed": seed,
        "cases": cases,
    }


README = """Reference data for the model tests, made by tools/make_reference.py (do not edit; delete to regenerate).

torch {torch} / torchvision {torchvision} (Debian python3-torch / python3-torchvision), script version {version}.

Each folder is one torchvision model (see manifest.json for the config: model, variant, width_mult, reduced_tail,
dilated) built with weights=None, then given random weights (no pretrained weights are available offline):
conv / linear weights ~ N(0, 1), biases ~ N(0, 0.1), BatchNorm weight ~ U(0.5, 1.5), bias ~ N(0, 0.1),
num_batches_tracked a random int; then one calibration pass on a randn batch rescales each conv / linear layer and
sets BatchNorm running statistics near (not at) the batch's channel statistics, so activations stay O(1) through the
depth and the logits depend strongly on the input. Everything is seeded from the model id.

  w.pth           torch.save(state_dict) (zip format)
  w_legacy.pth    torch.save(state_dict, _use_new_zipfile_serialization=False) (legacy pickle format)
  w.safetensors   the same tensors as safetensors (F32, I64 for num_batches_tracked)
  <case>_x.npy    input, float32 [N, 3, H, W], ~ N(0, 1)
  <case>_y.npy    torchvision's logits for that input, float32 [N, 1000], eval mode, float32, torch.no_grad()
                  (manifest: torch_fp32_error = max |y - y_float64| / max |y_float64|, torch's own rounding)

manifest.json lists models, files (relative to this folder), state_dict entry and parameter counts, cases and the
logits' std across classes (a check that the random model is not degenerate).
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="regenerate even if the manifest is complete")
    args = parser.parse_args()
    out_dir = os.path.abspath(args.out)

    if not args.force and manifest_is_complete(out_dir):
        print(f"reference data in {out_dir} is complete (version {SCRIPT_VERSION}); nothing to do")
        return 0

    start = time.time()
    os.makedirs(out_dir, exist_ok=True)
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # incomplete or stale: a crash below must not leave it looking valid
    torch.set_grad_enabled(False)

    models = []
    for config in CONFIGS:
        t0 = time.time()
        models.append(make_model(config, out_dir))
        print(f"{config['id']}: {models[-1]['parameters']} parameters, {models[-1]['state_dict_entries']} entries, "
              f"{time.time() - t0:.1f} s")

    manifest = {"version": SCRIPT_VERSION, "torch": torch.__version__, "torchvision": torchvision.__version__,
                "models": models}
    with open(os.path.join(out_dir, "README.txt"), "w") as f:
        f.write(README.format(torch=torch.__version__, torchvision=torchvision.__version__, version=SCRIPT_VERSION))
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, manifest_path)
    print(f"wrote {manifest_path} in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
