#!/usr/bin/python3
"""Writes the weight-file fixtures the runner's loader tests read (tests/unit/runner/test_weights_*.cpp,
test_unpickler.cpp, test_npy.cpp).

Run with Debian's interpreter, /usr/bin/python3, which sees python3-torch and python3-numpy:
    /usr/bin/python3 tools/make_weight_fixtures.py --out DIR --marker DIR/PWNED

The values are chosen so the C++ tests can state them exactly (aranges, exactly representable halves/bfloat16s).
The hostile files would run `touch <marker>` if anything executed them; the tests check the marker never appears.
Nothing here unpickles anything.
"""
import argparse
import collections
import json
import os
import pickle
import struct

import numpy as np
import torch


class Evil:
    """Pickles as a call of os.system: what a hostile 'weights' file looks like."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def known_state_dict():
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    sd = collections.OrderedDict()
    sd["plain"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    sd["transposed"] = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # strides (1, 4)
    sd["sliced"] = base[1:3]                                                     # storage offset 5, shares base
    sd["shared_whole"] = base                                                    # same storage as "sliced"
    sd["strided"] = torch.arange(30, dtype=torch.float32).reshape(5, 6)[1:4:2, ::3]  # offset 6, strides (12, 3)
    sd["permuted"] = torch.arange(120, dtype=torch.float32).reshape(2, 3, 4, 5).permute(0, 2, 3, 1)
    sd["expanded"] = torch.arange(3, dtype=torch.float32).reshape(3, 1).expand(3, 4)  # stride 0
    sd["num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)                # shape ()
    sd["scalar"] = torch.tensor(2.5)
    sd["half"] = torch.tensor([0.5, -1.25, 65504.0, 2.0 ** -24, -0.0, 3.0], dtype=torch.float16).reshape(2, 3)
    sd["bf16"] = torch.tensor([1.0, -2.5, 3.140625, 16777216.0], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([0.1, -1e-3], dtype=torch.float64)
    sd["int32"] = torch.tensor([-5, 7], dtype=torch.int32)
    sd["int16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["int8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    return sd


def module_state_dict():
    """A real model.state_dict() (OrderedDict with _metadata, BatchNorm counters) with random values."""
    torch.manual_seed(1234)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 10))
    net.train()
    net(torch.randn(2, 3, 6, 6))  # moves running stats and num_batches_tracked off their defaults
    return net.state_dict()


SAFETENSORS_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8"), torch.float16: ("F16", "<f2"),
                      torch.float64: ("F64", "<f8"), torch.int32: ("I32", "<i4")}


def write_safetensors(path, tensors):
    """An independent writer (no safetensors package on Debian): header, then tensors in key order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dtype, npdtype = SAFETENSORS_DTYPES[t.dtype]
        blob = t.numpy().astype(npdtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--marker", required=True, help="file the hostile pickles would create")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)

    known = known_state_dict()
    torch.save(known, p("known.pth"))
    torch.save(known, p("known_legacy.pth"), _use_new_zipfile_serialization=False)

    module = module_state_dict()
    torch.save(module, p("module.pth"))
    torch.save(module, p("module_legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(p("module.safetensors"), module)
    # Same content under a name without the extension: found by its first bytes.
    write_safetensors(p("module_safetensors.bin"), module)
    write_safetensors(p("mixed.safetensors"), {"f16": torch.tensor([1.5, -0.25], dtype=torch.float16),
                                               "f64": torch.tensor([[0.5], [2.0]], dtype=torch.float64),
                                               "i32": torch.tensor([-3, 4, 5], dtype=torch.int32),
                                               "scalar": torch.tensor(9.0)})

    # Hostile and wrong files.
    command = "touch " + args.marker
    torch.save(Evil(command), p("evil.pth"))
    torch.save(Evil(command), p("evil_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"weight": torch.zeros(2), "payload": Evil(command)}, p("evil_in_dict.pth"))
    with open(p("evil_proto2.pkl"), "wb") as f:
        pickle.dump(Evil(command), f, protocol=2)
    with open(p("evil_proto4.pkl"), "wb") as f:
        pickle.dump(Evil(command), f, protocol=4)
    with open(p("plain_dict.pkl"), "wb") as f:
        pickle.dump({"a": 1}, f, protocol=2)
    torch.save(torch.nn.Linear(2, 2), p("whole_model.pth"))
    torch.save([torch.zeros(2)], p("list.pth"))
    torch.save({"state_dict": known_state_dict(), "epoch": 3}, p("checkpoint.pth"))

    # .npy
    a = (np.arange(12, dtype=np.float32) * 0.5 - 2.0).reshape(3, 4)
    np.save(p("f4.npy"), a)
    np.save(p("f8.npy"), np.array([[0.1, 2.0], [-3.5, 1e-3]], dtype=np.float64))
    np.save(p("f2.npy"), np.array([0.5, -1.25, 65504.0], dtype=np.float16))
    np.save(p("i8.npy"), np.array([-7, 0, 1 << 20], dtype=np.int64))
    np.save(p("scalar.npy"), np.float32(4.25))
    np.save(p("empty.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(p("fortran.npy"), np.asfortranarray(a))
    np.save(p("big_endian.npy"), a.astype(">f4"))
    np.save(p("complex.npy"), np.array([1 + 2j], dtype=np.complex64))
    for version in [(2, 0), (3, 0)]:
        with open(p("f4_v%d.npy" % version[0]), "wb") as f:
            np.lib.format.write_array(f, a, version=version)


if __name__ == "__main__":
    main()
