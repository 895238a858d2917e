#!/usr/bin/python3
"""Unit tests of tools/calibrate_wormhole.py that need no build: the line edits of the device YAML, the refusal to fit
a published constant, and the Levenberg-Marquardt fit recovering known constants of a synthetic model (the tool run
is replaced by a function of the trial file, so the fit machinery itself is what is tested)."""
import importlib.util
import math
import os
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("calibrate_wormhole", os.path.join(ROOT, "tools", "calibrate_wormhole.py"))
cw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cw)

SAMPLE = """# a comment that must survive
chip:
  ai_clock_hz: {value: 1.0e9, unit: Hz, source: "Tenstorrent n150 product spec"}
perf:
  sfpu_instructions_per_pass:
    relu: {value: 2, source: "assumption: load, max, store"}
  # why op launch costs what it costs
  op_launch_cycles: {value: 3000, unit: cycle, source: "assumption: not published"}
  ratio: {value: 0.5, source: "calibrated: something"}
host:
  trace_op_to_op_ns: {value: 6000, unit: ns, source: "calibrated: fitted to 3030"}
"""


class LineEdits(unittest.TestCase):
    def setUp(self):
        self.lines = SAMPLE.splitlines(keepends=True)

    def test_reads_nested_and_top_entries(self):
        self.assertEqual(cw.read_constant(self.lines, "perf.op_launch_cycles")[0], 3000)
        self.assertEqual(cw.read_constant(self.lines, "perf.sfpu_instructions_per_pass.relu")[0], 2)
        self.assertEqual(cw.read_constant(self.lines, "host.trace_op_to_op_ns")[0], 6000)

    def test_refuses_a_published_constant(self):
        with self.assertRaises(SystemExit) as e:
            cw.read_constant(self.lines, "chip.ai_clock_hz")
        self.assertIn("not a free constant", str(e.exception))

    def test_unknown_entry_is_named(self):
        with self.assertRaises(SystemExit) as e:
            cw.find_line(self.lines, "perf.no_such_thing")
        self.assertIn("perf.no_such_thing", str(e.exception))

    def test_edit_changes_only_that_line_and_keeps_integers(self):
        before = list(self.lines)
        cw.set_constant(self.lines, "perf.op_launch_cycles", 4321.6, "fitted: a, b (tools/calibrate_wormhole.py)")
        changed = [i for i, (a, b) in enumerate(zip(before, self.lines)) if a != b]
        self.assertEqual(len(changed), 1)
        self.assertEqual(self.lines[changed[0]],
                         '  op_launch_cycles: {value: 4322, unit: cycle, source: "fitted: a, b (tools/calibrate_wormhole.py)"}\n')
        cw.set_constant(self.lines, "perf.ratio", 0.123456)
        self.assertIn("value: 0.1235,", "".join(self.lines))
        self.assertTrue(self.lines[0].startswith("# a comment"))


class Fit(unittest.TestCase):
    def test_recovers_known_constants_of_a_synthetic_model(self):
        # Synthetic "device": case i takes a_i * launch + b_i * gap ns; measured values made from launch=5000,
        # gap=2500. Starting from 3000 / 6000 the fit must land on the truth.
        a = [1.0, 3.0, 0.5]
        b = [0.2, 1.0, 4.0]
        truth = (5000.0, 2500.0)
        measured = [ai * truth[0] + bi * truth[1] for ai, bi in zip(a, b)]
        names = ["perf.op_launch_cycles", "host.trace_op_to_op_ns"]
        ids = ["c0", "c1", "c2"]

        def fake_tool(build, hardware=None, cases=None):
            with open(hardware) as f:
                lines = f.readlines()
            launch = cw.read_constant(lines, names[0])[0]
            gap = cw.read_constant(lines, names[1])[0]
            return {"hardware": hardware, "cases": [
                {"id": i, "kind": "device_model", "modelled": ai * launch + bi * gap, "measured": m} for i, ai, bi, m in zip(ids, a, b, measured)]}

        real, cw.run_tool = cw.run_tool, fake_tool
        try:
            with tempfile.TemporaryDirectory() as tmp:
                values, r = cw.fit("unused", SAMPLE.splitlines(keepends=True), names, [3000.0, 6000.0], ids, tmp)
        finally:
            cw.run_tool = real
        # Integer entries are written rounded, so the recovered values are within a cycle / ns of the truth.
        self.assertAlmostEqual(values[0], truth[0], delta=2)
        self.assertAlmostEqual(values[1], truth[1], delta=2)
        self.assertLess(math.sqrt(float(r @ r)), 1e-3)


if __name__ == "__main__":
    unittest.main()
