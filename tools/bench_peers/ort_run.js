// Runs one ONNX model with ONNX Runtime (onnxruntime-node, CPU execution provider) and prints one JSON line:
// per-run latencies in ms, the ORT version and, with --output, writes the first output as a float32 .npy.
//   node ort_run.js --model M.onnx --batch B --threads T [--warmup W] [--iterations N] [--input X.npy] [--output Y.npy]
// Without --input the input is N(0, 1)-ish noise from a fixed LCG (the bench compares speed, not values).
// Sessions use what the peer table in /work/shared/reference/cpu-peers.md used: graph optimisation 'all',
// intra-op threads = T, sequential execution.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function parseArgs(argv) {
  const a = { warmup: 10, iterations: 100, batch: 1, threads: 1 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (i + 1 >= argv.length) throw new Error(`missing value for --${key}`);
    a[key] = ['model', 'input', 'output'].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!a.model) throw new Error('--model is required');
  return a;
}

// Minimal .npy (v1/v2, little-endian float32, C order) reader and writer.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True"))
    throw new Error(`${file}: expected a little-endian float32 C-order array, header ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start + hlen, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function noise(count) {
  const out = new Float32Array(count);
  let s = 12345;
  for (let i = 0; i < count; ++i) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296) * 3.4 - 1.7;  // uniform with unit variance
  }
  return out;
}

async function main() {
  const a = parseArgs(process.argv);
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  let input;
  if (a.input) {
    const x = readNpy(a.input);
    input = new ort.Tensor('float32', x.data, x.shape);
  } else {
    const shape = [a.batch, 3, 224, 224];
    input = new ort.Tensor('float32', noise(shape.reduce((p, v) => p * v, 1)), shape);
  }
  const feeds = { [session.inputNames[0]]: input };
  let result;
  for (let i = 0; i < a.warmup; ++i) result = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < a.iterations; ++i) {
    const t0 = process.hrtime.bigint();
    result = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (!result) result = await session.run(feeds);
  if (a.output) {
    const y = result[session.outputNames[0]];
    writeNpy(a.output, y.dims, y.data);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')));
  console.log(JSON.stringify({ engine: 'onnxruntime', version: pkg.version, batch: input.dims[0], threads: a.threads, ms }));
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
