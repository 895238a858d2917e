#!/usr/bin/python3
"""Reference outputs of torchvision's classification preprocessing, for tests/unit/runner/test_preprocess.cpp.

Run with Debian's interpreter (the one that sees python3-torch / python3-torchvision / python3-pil):

    /usr/bin/python3 tools/preprocess_reference.py --images data/images --out DIR

Writes into DIR:
  - synthetic test images (PNG, lossless) with sharp edges, odd sizes, gray / RGBA / tiny variants;
  - for each (image, transform) case: <case>.npy, float32 [3, H, W], torchvision's output on
    PIL.Image.open(path).convert("RGB");
  - for a few direct resize checks: <name>_src.npy and <name>_dst.npy, uint8 [H, W, C], PIL's Image.resize(BILINEAR);
  - cases.json listing all of the above with the parameters the C++ side needs.
Deterministic: the synthetic images come from a seeded generator.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.models import MobileNet_V3_Large_Weights
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F
from torchvision.transforms._presets import ImageClassification

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def sharp_pattern(height, width, rng):
    """RGB uint8 with 1-pixel stripes, a checkerboard, hard-edged blocks, saturated extremes and noise."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[..., 0] = np.where((x // 7 + y // 5) % 2 == 0, 255, 0)  # checkerboard
    img[..., 1] = np.where(x % 2 == 0, 250, 3)  # one-pixel vertical stripes (worst case for antialiasing)
    img[..., 2] = np.where(y % 3 == 0, 255, 0)  # thin horizontal stripes
    # a noisy block and a diagonal edge
    h0, w0 = height // 4, width // 3
    img[h0 : 2 * h0, w0 : 2 * w0] = rng.integers(0, 256, size=(h0, w0, 3), dtype=np.uint8)
    img[(x + 2 * y) % 41 < 3] = (255, 255, 255)
    img[(2 * x - y) % 53 < 2] = (0, 0, 0)
    return img


def make_synthetic(out_dir):
    rng = np.random.default_rng(20240611)
    images = {}

    def save(name, array, mode):
        path = os.path.join(out_dir, name)
        Image.fromarray(array, mode=mode).save(path)
        images[name] = path

    save("synthetic_rgb_173x259.png", sharp_pattern(173, 259, rng), "RGB")  # odd, landscape
    save("synthetic_rgb_301x217.png", sharp_pattern(301, 217, rng), "RGB")  # odd, portrait
    save("synthetic_tiny_37x50.png", sharp_pattern(37, 50, rng), "RGB")  # upscaling path (scale < 1)
    gray = sharp_pattern(97, 131, rng)[..., 0] // 2 + sharp_pattern(97, 131, rng)[..., 1] // 2
    save("synthetic_gray_97x131.png", gray.astype(np.uint8), "L")  # grayscale file
    rgba = np.concatenate([sharp_pattern(120, 91, rng), rng.integers(0, 256, (120, 91, 1), dtype=np.uint8)], axis=2)
    save("synthetic_rgba_120x91.png", rgba, "RGBA")  # alpha must be dropped, not composited
    return images


def manual_preset(resize_shorter, crop_h, crop_w):
    """The steps of ImageClassification.forward for a crop it cannot express (it only takes a square int crop)."""

    def apply(img):
        img = F.resize(img, [resize_shorter], interpolation=InterpolationMode.BILINEAR)
        img = F.center_crop(img, [crop_h, crop_w])
        img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, torch.float)
        return F.normalize(img, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

    return apply


def transforms():
    """(name, resize_shorter, crop_h, crop_w, callable)."""
    v1 = MobileNet_V3_Large_Weights.IMAGENET1K_V1.transforms()
    v2 = MobileNet_V3_Large_Weights.IMAGENET1K_V2.transforms()
    assert v1.resize_size == [256] and v1.crop_size == [224], v1
    assert v2.resize_size == [232] and v2.crop_size == [224], v2
    return [
        ("v1_256_224x224", 256, 224, 224, v1),
        ("v2_232_224x224", 232, 224, 224, v2),
        ("custom_176_160x160", 176, 160, 160, ImageClassification(crop_size=160, resize_size=176)),
        # crop larger than the resized short side: torchvision zero-pads before cropping
        ("custom_200_224x224", 200, 224, 224, ImageClassification(crop_size=224, resize_size=200)),
        ("manual_200_192x256", 200, 192, 256, manual_preset(200, 192, 256)),
        ("manual_233_231x199", 233, 231, 199, manual_preset(233, 231, 199)),  # odd margins (round half to even)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, help="folder of bundled images (data/images)")
    parser.add_argument("--out", required=True, help="output folder (created)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    images = {}
    for name in sorted(os.listdir(args.images)):
        if name.lower().endswith(IMAGE_EXTENSIONS):
            images[name] = os.path.abspath(os.path.join(args.images, name))
    if not images:
        sys.exit(f"no images in {args.images}")
    images.update(make_synthetic(args.out))

    cases = []
    for image_name, path in images.items():
        with Image.open(path) as opened:
            pil = opened.convert("RGB")
        for tname, resize, crop_h, crop_w, fn in transforms():
            with torch.no_grad():
                out = fn(pil)
            assert out.dtype == torch.float32 and tuple(out.shape) == (3, crop_h, crop_w), (tname, out.shape)
            case = f"{os.path.splitext(image_name)[0]}__{tname}"
            np.save(os.path.join(args.out, case + ".npy"), out.numpy().astype(np.float32))
            cases.append({"name": case, "image": path, "resize_shorter": resize, "crop_height": crop_h,
                          "crop_width": crop_w, "output": case + ".npy"})

    # Direct checks of the resampler on uint8 pixels: PIL's Image.resize(size, BILINEAR), both axes independent.
    rng = np.random.default_rng(7)
    resizes = []
    sources = [("rgb", sharp_pattern(173, 259, rng), "RGB"), ("gray", sharp_pattern(61, 47, rng)[..., 1], "L")]
    targets = [(224, 224), (101, 333), (17, 9), (173, 100), (300, 259), (1, 1)]  # down, mixed, tiny, one axis only
    for src_name, array, mode in sources:
        for th, tw in targets:
            resized = np.asarray(Image.fromarray(array, mode=mode).resize((tw, th), Image.BILINEAR))
            name = f"resize_{src_name}_{th}x{tw}"
            src = array if array.ndim == 3 else array[..., None]
            dst = resized if resized.ndim == 3 else resized[..., None]
            np.save(os.path.join(args.out, name + "_src.npy"), np.ascontiguousarray(src))
            np.save(os.path.join(args.out, name + "_dst.npy"), np.ascontiguousarray(dst))
            resizes.append({"name": name, "source": name + "_src.npy", "expected": name + "_dst.npy"})

    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "pillow": Image.__version__, "cases": cases, "resizes": resizes}, f, indent=1)
    print(f"{len(cases)} preprocessing cases, {len(resizes)} resize cases -> {args.out}")


if __name__ == "__main__":
    main()
