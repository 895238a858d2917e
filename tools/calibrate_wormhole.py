#!/usr/bin/python3
"""Fit and check the Wormhole perf model against the silicon figures of yaml/devices/wormhole_n150_calibration.yaml.

Every figure is evaluated by build/bin/wormhole_calibrate (the real device plugin, through the runner's session API);
this script only fits and reports. The free constants and the fit cases are listed in the calibration file (`fit:`);
each constant must be a `perf:` or `host:` entry of yaml/devices/wormhole_n150.yaml whose source says `assumption:`,
`calibrated:` or `fitted:` (a published number is never fitted).

  tools/calibrate_wormhole.py [--build DIR]            fit on the fit cases, print every case (fitted or not)
  tools/calibrate_wormhole.py --write                  fit, then write the values into yaml/devices/wormhole_n150.yaml
                                                       (line edits: comments and layout kept), source `fitted: ...`
  tools/calibrate_wormhole.py --check                  no fit: exit 1 when a case is beyond its kind's limit
                                                       (device_op 20%, device_model 10%, end_to_end 15%) or fails
  tools/calibrate_wormhole.py --markdown               print the table as markdown (for the README)

The fit: least squares on log(modelled / measured) over the fit cases, each residual in units of its case kind's
limit, Levenberg-Marquardt on log(constant) (so every constant stays positive), each bounded to [initial / 30,
initial * 30] (a share, *_fraction or *_efficiency, to [0.001, 1]), forward-difference Jacobian (one tool run per
constant per iteration). A constant that no evaluable fit case depends on is left as it is and said so; the fit
refuses to run with fewer evaluable fit cases than constants it would move.
Standard library + numpy.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICE_YAML = os.path.join(ROOT, "yaml", "devices", "wormhole_n150.yaml")
CALIBRATION = os.path.join(ROOT, "yaml", "devices", "wormhole_n150_calibration.yaml")
LIMITS = {"device_op": 0.20, "device_model": 0.10, "end_to_end": 0.15}
FREE_SOURCES = ("assumption:", "calibrated:", "fitted:")
BOUND_FACTOR = 30.0
SHARE_FLOOR = 1e-3  # a share below 0.1% is no share: the fit's lower bound for one


def run_tool(build, hardware=None, cases=None):
    exe = os.path.join(os.path.abspath(build), "bin", "wormhole_calibrate")
    cmd = [exe, "--calibration", CALIBRATION, "--root", ROOT]
    if hardware:
        cmd += ["--hardware", hardware]
    if cases:
        cmd += ["--cases", ",".join(cases)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        sys.exit("wormhole_calibrate failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


# ---- the device YAML, edited by lines so that its comments and layout stay ----

ENTRY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_]+):\s*\{(?P<body>.*)\}\s*$")
SECTION = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_]+):\s*(#.*)?$")


def find_line(lines, dotted):
    """Index of the flow-map line `key: {value: ..., source: "..."}` at the dotted path (e.g. perf.op_launch_cycles)."""
    want = dotted.split(".")
    stack = []  # (indent, key)
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = ENTRY.match(line) or SECTION.match(line)
        if not m:
            continue
        indent = len(m.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group("key")))
        if [k for _, k in stack] == want and ENTRY.match(line):
            return i
    raise SystemExit("%s: no entry %s (a `key: {value: ..., source: ...}` line)" % (DEVICE_YAML, dotted))


def read_constant(lines, dotted):
    line = lines[find_line(lines, dotted)]
    v = re.search(r"value:\s*([-+0-9.eE]+)", line)
    s = re.search(r'source:\s*"([^"]*)"', line)
    if not v or not s:
        raise SystemExit("%s: entry %s has no numeric value or no quoted source" % (DEVICE_YAML, dotted))
    if not s.group(1).startswith(FREE_SOURCES):
        raise SystemExit("%s is not a free constant: its source is %r (only %s are fitted)" % (dotted, s.group(1), ", ".join(FREE_SOURCES)))
    return float(v.group(1)), s.group(1)


def format_value(x):
    if abs(x) >= 100:
        return "%d" % round(x)
    text = "%.4g" % x
    # a real keeps its decimal point, or the next run would read the entry as an integer and round it
    return text if any(c in text for c in ".en") else text + ".0"


def value_text(lines, dotted, value):
    # An entry written as an integer (cycles, ns) is read as one by the device: keep it an integer.
    integer = re.search(r"value:\s*[-+]?\d+\s*[,}]", lines[find_line(lines, dotted)]) is not None
    return "%d" % round(value) if integer else format_value(value)


def set_constant(lines, dotted, value, source=None):
    i = find_line(lines, dotted)
    text = value_text(lines, dotted, value)
    line = re.sub(r"(value:\s*)[-+0-9.eE]+", lambda m: m.group(1) + text, lines[i], count=1)
    if source is not None:
        line = re.sub(r'(source:\s*)"[^"]*"', lambda m: m.group(1) + json.dumps(source), line, count=1)
    lines[i] = line


def trial_file(lines, names, values, tmpdir):
    trial = list(lines)
    for n, v in zip(names, values):
        set_constant(trial, n, v)
    path = os.path.join(tmpdir, "wormhole_n150.yaml")
    with open(path, "w") as f:
        f.writelines(trial)
    return path


# ---- the fit ----

class TrialFailed(Exception):
    pass


def log_residuals(result, fit_cases):
    by_id = {c["id"]: c for c in result["cases"]}
    out = []
    for i in fit_cases:
        c = by_id[i]
        if "modelled" not in c or not c["modelled"] > 0:
            raise TrialFailed("case %s with trial values %s: %s" % (i, result.get("hardware"), c.get("error", "no modelled value")))
        # In units of the case kind's limit: a whole-model figure, held to 10%, weighs twice a single op held to 20%.
        out.append(math.log(c["modelled"] / c["measured"]) / LIMITS[c["kind"]])
    return np.array(out)


def is_share(name):
    """A *_fraction or *_efficiency constant is a share: at most 1."""
    return name.endswith("_fraction") or name.endswith("_efficiency")


def fit(build, lines, names, x0, fit_cases, tmpdir, iterations=30):
    """Levenberg-Marquardt on p = log(constant), bounded to log(x0) +- log(BOUND_FACTOR) (shares: [SHARE_FLOOR, 1])."""
    p0 = np.log(x0)
    lo, hi = p0 - math.log(BOUND_FACTOR), p0 + math.log(BOUND_FACTOR)
    # Shares (a *_fraction or *_efficiency constant) live on [SHARE_FLOOR, 1] whatever their start: the device YAML
    # refuses a share above 1, and bounds relative to the start would let a share that one fit pushed towards 0 only
    # ever move by BOUND_FACTOR from there (each refit ratcheting it further down).
    for k, name in enumerate(names):
        if is_share(name):
            lo[k], hi[k] = math.log(SHARE_FLOOR), 0.0
            p0[k] = min(max(p0[k], lo[k]), hi[k])

    def residuals(p):
        return log_residuals(run_tool(build, trial_file(lines, names, np.exp(p), tmpdir), fit_cases), fit_cases)

    p, r = p0.copy(), residuals(p0)
    lam, h = 1e-2, 0.05
    for _ in range(iterations):
        J = np.empty((len(r), len(p)))
        for k in range(len(p)):
            q = p.copy()
            q[k] = q[k] + h if q[k] + h <= hi[k] else q[k] - h
            J[:, k] = (residuals(q) - r) / (q[k] - p[k])
        g = J.T @ r
        A = J.T @ J
        improved = False
        for _ in range(8):
            step = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-9), -g)
            q = np.clip(p + step, lo, hi)
            rq = residuals(q)
            if rq @ rq < r @ r:
                p, r, lam, improved = q, rq, lam / 3, True
                break
            lam *= 4
        if not improved or np.max(np.abs(step)) < 1e-4:
            break
    return np.exp(p), r


# ---- reporting ----

def dominant(case):
    b = case.get("breakdown") or {}
    if "numerator" in b:
        b = b["numerator"]
    by = b.get("kernel_ns_by_bound") or {}
    total = sum(by.values())
    if not total:
        return ""
    return " / ".join("%s %d%%" % (k, round(100 * v / total)) for k, v in sorted(by.items(), key=lambda kv: -kv[1]))


def show(v, unit):
    if v is None:
        return "-"
    if unit == "ns":
        return "%.1f us" % (v / 1000)
    if unit == "ratio":
        return "%.3f" % v
    return "%.0f" % v


def status(case):
    if not case.get("runnable", False):
        return "not runnable"
    if "error" in case:
        return "ERROR"
    within = abs(case["residual"]) <= LIMITS[case["kind"]]
    if "known_gap" in case:
        # A gap the model is known not to close (named in the calibration file): reported, not failed, until it
        # closes; then the stale entry fails so the file cannot go on claiming it.
        return "STALE GAP" if within else "known gap"
    return "ok" if within else "FAIL"


def print_table(result, fitted, markdown):
    rows = []
    for c in result["cases"]:
        res = "%+.1f%%" % (100 * c["residual"]) if "residual" in c else "-"
        why = c.get("reason") or c.get("error") or dominant(c)
        if "known_gap" in c and "error" not in c:
            why = dominant(c) + "; known gap: " + c["known_gap"]
        # Paths relative to the checkout; the runner's list of accepted keys is long and the same for every case.
        why = re.sub(r" \(accepted: [^)]*\)", "", why.replace(ROOT + os.sep, ""))
        rows.append([c["id"], c.get("kind", "?"), "yes" if c["id"] in fitted else "", show(c.get("modelled"), c.get("unit")),
                     show(c.get("measured"), c.get("unit")), res, "%d%%" % round(100 * LIMITS.get(c.get("kind"), 0)),
                     status(c), why])
    head = ["case", "kind", "fitted", "modelled", "measured", "residual", "limit", "status", "bound split of modelled time / reason"]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---:" if h in ("modelled", "measured", "residual", "limit") else "---" for h in head) + "|")
        for r in rows:
            print("| " + " | ".join(x.replace("|", "/") for x in r) + " |")
        return
    widths = [max(len(h), *(len(r[k]) for r in rows)) if k < 8 else 0 for k, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)))


def main():
    global DEVICE_YAML, CALIBRATION
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory (bin/wormhole_calibrate)")
    ap.add_argument("--check", action="store_true", help="no fit: exit 1 when a case is beyond its limit or fails")
    ap.add_argument("--write", action="store_true", help="write the fitted values into yaml/devices/wormhole_n150.yaml")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--calibration", default=CALIBRATION, help="calibration set (default: %(default)s)")
    ap.add_argument("--device-yaml", default=DEVICE_YAML, help="device description holding the constants (default: %(default)s)")
    args = ap.parse_args()
    DEVICE_YAML, CALIBRATION = os.path.abspath(args.device_yaml), os.path.abspath(args.calibration)

    with open(DEVICE_YAML) as f:
        lines = f.readlines()
    base = run_tool(args.build)
    names = base["fit"]["constants"]
    fit_cases = base["fit"]["cases"]
    ids = {c["id"] for c in base["cases"]}
    unknown = [i for i in fit_cases if i not in ids]
    if unknown:
        sys.exit("fit.cases names cases that do not exist: %s" % ", ".join(unknown))
    x0 = np.array([read_constant(lines, n)[0] for n in names])

    if args.check:
        result, fitted_ids = base, set(fit_cases)  # the constants were fitted on these by the last --write
    else:
        by_id = {c["id"]: c for c in base["cases"]}
        usable = [i for i in fit_cases if "modelled" in by_id[i] and by_id[i]["modelled"] > 0]
        skipped = [i for i in fit_cases if i not in usable]
        if skipped:
            print("fit cases that do not evaluate now (left out of the fit): %s" % ", ".join(skipped))
        with tempfile.TemporaryDirectory() as tmp:
            # Which constants do the usable cases see at all? (A constant none of them depends on cannot be fitted.)
            sensitive = []
            if usable:
                r0 = log_residuals(base, usable)
                for k, n in enumerate(names):
                    x = x0.copy()
                    if is_share(n):
                        # a share is probed at a half (or a quarter from a half and more): scaling one near 0 moves
                        # nothing, and the device YAML refuses a share above 1
                        x[k] = 0.5 if x[k] < 0.5 else 0.25
                    else:
                        x[k] *= 1.5
                    r = log_residuals(run_tool(args.build, trial_file(lines, names, x, tmp), usable), usable)
                    if np.max(np.abs(r - r0)) > 1e-6:
                        sensitive.append(n)
            frozen = [n for n in names if n not in sensitive]
            if frozen:
                print("constants no usable fit case depends on (kept as they are): %s" % ", ".join(frozen))
            if len(usable) <= len(sensitive) or not sensitive:
                print("NOT FITTED: %d usable fit case(s) for %d constant(s); a fit needs more cases than constants. "
                      "Showing the current values." % (len(usable), len(sensitive)))
                result, fitted_ids, values = base, set(), None
            else:
                idx = [names.index(n) for n in sensitive]
                sub, r = fit(args.build, lines, sensitive, x0[idx], usable, tmp)
                values = x0.copy()
                values[idx] = sub
                fitted_ids = set(usable)
                print("fitted on %s (rms log residual in units of each case's limit %.3f):" % (", ".join(usable), math.sqrt(float(r @ r) / len(r))))
                for n, a, b in zip(names, x0, values):
                    print("  %-32s %12s -> %12s%s" % (n, value_text(lines, n, a), value_text(lines, n, b),
                                                     "" if n in sensitive else "  (not fitted)"))
                if args.write:
                    for k in idx:
                        set_constant(lines, names[k], values[k],
                                     "fitted: %s (tools/calibrate_wormhole.py)" % ", ".join(usable))
                    with open(DEVICE_YAML, "w") as f:
                        f.writelines(lines)
                    print("wrote %s" % os.path.relpath(DEVICE_YAML, ROOT))
                    # Evaluated from the written file: a case naming its own hardware file (the n300, which inherits
                    # the n150's) never sees a trial file, only the one on disk.
                    result = run_tool(args.build)
                else:
                    result = run_tool(args.build, trial_file(lines, names, values, tmp))
                    print("(cases that name their own hardware file, the n300's, are shown at the constants on disk)")
        print()

    print_table(result, fitted_ids, args.markdown)
    bad = [c["id"] for c in result["cases"] if status(c) in ("FAIL", "ERROR", "STALE GAP")]
    print()
    print("%d cases, %d runnable, %d within limit, %d beyond limit or failing%s" % (
        len(result["cases"]), sum(1 for c in result["cases"] if c.get("runnable")),
        sum(1 for c in result["cases"] if status(c) == "ok"), len(bad), (": " + ", ".join(bad)) if bad else ""))
    if args.check and bad:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
