#!/usr/bin/env python3
"""Reruns the README's CLI samples against a build and compares the lines that matter, so the samples cannot go stale.

A sample is a fenced block whose first line is a `$ build/bin/runner ...` (or `$ runner ...`) command. Its `$ `
lines are run in order with bash, in one scratch folder shared by all samples (so a report written by one sample can be
read by a later one), with `build` linked to the build folder and `yaml`/`data` to the source tree. `$ echo $?` sees
the previous command's exit code.

What is compared, after masking what varies between runs (every decimal number, thread counts, run ids, elapsed/ETA):
- runner output: the labelled lines (`Result:`, `Metric:`, `Device:`, `[2/5] Load ...`, `error: ...`, `Models:`, the
  run header, ...) and table headers; prediction rows and table bodies are not compared.
- any other command (`echo $?`, `head -c 300 ...`): every line.
The README's lines must appear in the output in the same order; `...` inside a line stands for left-out columns. A runner sample with no `...` line must also show, of each
kind of line it shows (`Metric:`, `error:`, plugin rows, ...), every such line the program prints, so a new `Metric:` or
a new plugin missing from the README fails too. A command shown without output must exit 0.

A sample that needs what a test machine does not have (a large file, a network, pretrained weights) is preceded by
`<!-- readme-check: skip REASON -->`; it is listed as skipped, never dropped silently.

Exit 0 when all samples match, 1 with a diff naming the README line of each mismatch. No torch needed.
"""
import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP_MARKER = re.compile(r"<!--\s*readme-check:\s*skip\s+(.*?)\s*-->")
RUNNER_COMMAND = re.compile(r"^\$ (build/bin/)?runner\b")
# The lines that matter, each with the label that names its kind (the reverse check works per label).
LABELS = [
    (re.compile(r"^\s*\[\d+/\d+\]\s+(\S+)"), lambda m: "[n/n] " + m.group(1)),             # "[2/5] Load", "[1/12] <id>"
    (re.compile(r"^\s*runner \d"), lambda m: "runner header"),
    (re.compile(r"^\s+\S+\s+v\d+\.\d+\.\d+\s+ABI "), lambda m: "plugin row"),              # runner list
    (re.compile(r"^\s+variant \S+"), lambda m: "variant row"),
    (re.compile(r"^\s*(#\s+run id|layer\s{2,}|metric\s{2,}|setting\s{2,})"), lambda m: "table header"),
    (re.compile(r"^\s*(Per-layer profile|By op type|Stream:|Initialise:|End-to-end)"), lambda m: m.group(1)),
    (re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _()/.-]{0,40}):(\s|$)"), lambda m: m.group(1) + ":"),  # "Result:", "error:"
]

MASKS = [
    (re.compile(r"\b\d+\.\d+(e[+-]?\d+)?"), "<num>"),                 # every decimal: timings, FPS, PCC, metrics
    (re.compile(r"\(\d+ threads?, TBB\)"), "(<n> threads, TBB)"),      # the host's core count
    (re.compile(r"\b(?=[0-9]*[a-f])[0-9a-f]{8}\b"), "<id>"),                    # sweep run ids
    (re.compile(r"\b\d+:\d\d\b"), "<m:ss>"),                           # elapsed / ETA
    (re.compile(r"[+-]<num>"), "<num>"),                               # diff's signed changes
    (re.compile(r"\s+(better|worse)\s*$"), ""),                        # diff's verdict follows the measured noise
    (re.compile(r"[ \t]+"), " "),                                      # column widths follow the numbers
]


def mask(line):
    for pattern, replacement in MASKS:
        line = pattern.sub(replacement, line)
    line = line.strip()
    if line.startswith("By op type: "):
        # Sorted by measured share, so the order of near-equal op types varies between runs: compare the set.
        line = "By op type: " + ", ".join(sorted(line[len("By op type: "):].split(", ")))
    return line


class Command:
    def __init__(self, readme_line, text):
        self.readme_line = readme_line  # 1-based line of the `$ ` line
        self.text = text
        self.expected = []  # (readme line, text)


class Sample:
    def __init__(self, readme_line, skip_reason):
        self.readme_line = readme_line
        self.skip_reason = skip_reason
        self.commands = []
        self.elided = False  # has a `...` line: the README shows a part of the output


def parse_samples(readme_lines):
    samples = []
    i = 0
    pending_skip = None
    while i < len(readme_lines):
        line = readme_lines[i]
        marker = SKIP_MARKER.search(line)
        if marker:
            pending_skip = marker.group(1)
        if line.startswith("```"):
            end = i + 1
            while end < len(readme_lines) and not readme_lines[end].startswith("```"):
                end += 1
            body = readme_lines[i + 1:end]
            if body and RUNNER_COMMAND.match(body[0]):
                sample = Sample(i + 2, pending_skip)
                j = 0
                while j < len(body):
                    text = body[j]
                    if text.startswith("$ "):
                        command = Command(i + 2 + j, text[2:])
                        while command.text.endswith("\\") and j + 1 < len(body):
                            j += 1
                            command.text = command.text[:-1] + " " + body[j].strip()
                        sample.commands.append(command)
                    elif text.strip() == "...":
                        sample.elided = True
                    elif sample.commands:
                        sample.commands[-1].expected.append((i + 2 + j, text))
                    j += 1
                samples.append(sample)
            elif pending_skip:
                raise SystemExit(f"README.md:{i + 1}: a readme-check skip marker before a block that is not a CLI sample")
            pending_skip = None
            i = end + 1
            continue
        if line.strip() and not marker:
            pending_skip = pending_skip if line.lstrip().startswith("<!--") else None
        i += 1
    return samples


def label(line, is_runner):
    """The kind of a line that matters, or None. Every line of a command other than the runner matters."""
    if not line.strip():
        return None
    if not is_runner:
        return "line"
    for pattern, name in LABELS:
        m = pattern.match(line)
        if m:
            return name(m)
    return None


def check_command(command, output, exit_code, is_runner, elided):
    """Returns a list of failure texts (empty when the command's output matches)."""
    want = [(n, mask(t), label(t, is_runner)) for n, t in command.expected if label(t, is_runner)]
    got = [(mask(t), label(t, is_runner)) for t in output.splitlines() if label(t, is_runner)]
    failures = []
    if not command.expected:
        # The README shows the command, not its output: it must succeed.
        return [] if exit_code == 0 else [f"README.md:{command.readme_line}: exit code {exit_code}, the README shows no error"]
    got_text = [t for t, _ in got]
    position = 0
    for n, text, _ in want:
        # "..." inside a line stands for columns the README leaves out (a wide table header).
        pattern = re.compile(".*".join(re.escape(part) for part in text.split("...")) + "$")
        found = next((i for i in range(position, len(got_text)) if pattern.match(got_text[i])), None)
        if found is not None:
            position = found + 1
        else:
            near = difflib.get_close_matches(text, got_text, n=1, cutoff=0.5)
            failures.append(f"README.md:{n}: line not in the output: {text!r}" +
                            (f"\n    closest output line:        {near[0]!r}" if near else ""))
    if is_runner and not elided:
        # Of the kinds of line the README shows, the output has no more (a new Metric: line, a new plugin row).
        patterns = [re.compile(".*".join(re.escape(p) for p in t.split("...")) + "$") for _, t, _ in want]
        shown_labels = {l for _, _, l in want}
        for text, kind in got:
            if kind in shown_labels and not any(p.match(text) for p in patterns):
                failures.append(f"README.md:{command.readme_line}: the output has a line the README lacks: {text!r}")
    if failures:
        diff = difflib.unified_diff([t for _, t, _ in want], got_text, "README (masked)", "output (masked)", lineterm="", n=1)
        failures.append("\n".join("    " + d for d in diff))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--build", required=True, help="build folder holding bin/runner")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per command")
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    build = os.path.abspath(args.build)
    if not os.access(os.path.join(build, "bin", "runner"), os.X_OK):
        raise SystemExit(f"{build}/bin/runner: not found or not executable (build the runner first)")
    readme = os.path.join(source, "README.md")
    with open(readme, encoding="utf-8") as f:
        samples = parse_samples(f.read().split("\n"))
    if not samples:
        raise SystemExit(f"{readme}: no CLI samples found (fenced blocks starting with '$ build/bin/runner')")

    scratch = tempfile.mkdtemp(prefix="zoo_readme_check_")
    for name, target in (("build", build), ("yaml", os.path.join(source, "yaml")), ("data", os.path.join(source, "data"))):
        os.symlink(target, os.path.join(scratch, name))
    env = dict(os.environ, TERM="dumb")  # stdbuf above: line-buffered stdout, so it interleaves with stderr as on a tty
    env.pop("ZOO_PLUGIN_DIR", None)
    failures = []
    ran = skipped = 0
    try:
        for sample in samples:
            if sample.skip_reason:
                print(f"SKIP README.md:{sample.readme_line}: {sample.commands[0].text[:70]}  ({sample.skip_reason})")
                skipped += 1
                continue
            exit_code = 0
            for command in sample.commands:
                start = time.monotonic()
                is_runner = bool(RUNNER_COMMAND.match("$ " + command.text))
                text = re.sub(r"^runner\b", "build/bin/runner", command.text)
                try:
                    proc = subprocess.run(["stdbuf", "-oL", "-eL", "bash", "-c", f"(exit {exit_code}); {text}"], cwd=scratch, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=args.timeout)
                    output, exit_code = proc.stdout, proc.returncode
                except subprocess.TimeoutExpired:
                    failures.append(f"README.md:{command.readme_line}: timed out after {args.timeout:.0f} s: {text}")
                    break
                # Paths as the README writes them: relative to the checkout.
                output = output.replace(build + "/", "build/").replace(source + "/", "")
                problems = check_command(command, output, exit_code, is_runner, sample.elided)
                status = "FAIL" if problems else "ok  "
                print(f"{status} README.md:{command.readme_line}: {text[:90]}  ({time.monotonic() - start:.1f} s)")
                if problems:
                    failures.append("\n".join(problems) + "\n    full output:\n" +
                                    "\n".join("      " + l for l in output.splitlines()))
            ran += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{ran} sample(s) checked, {skipped} skipped (marked), {len(failures)} mismatch(es)")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
