#!/usr/bin/env bash
# Prepares a Debian 12 machine and builds the project: installs the Debian packages that are missing (as root, or
# through sudo), configures build/ once and builds it. Idempotent, and quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  slurm-wlm munge  # the one-node Slurm of tests/slurm (tools/slurm_cluster.sh)
  g++ cmake ninja-build pkg-config                 # toolchain
  libboost-dev libboost-filesystem-dev             # Boost.DLL (header-only in 1.74) and Boost.Filesystem
  libyaml-cpp-dev libopencv-dev nlohmann-json3-dev libtbb-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev       # tests and benchmarks
  python3-torch python3-torchvision python3-numpy  # the numerical reference, used at test time only
  chromium                                         # renders `runner report --html` pages in a test
  clang libclang-rt-14-dev                         # libFuzzer + ASan/UBSan runtimes for tests/fuzz (-DZOO_FUZZ=ON)
)

# npm (for ONNX Runtime from npm's onnxruntime-node, the peer benchmark): Debian's nodejs + npm, unless a Node.js
# with npm is installed already (machines that ship NodeSource's nodejs, which bundles npm and conflicts with
# Debian's npm package).
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime for tools/bench_peers and the Torch vs ONNX vs device table: npm's onnxruntime-node ships its CPU
# library; --ignore-scripts because its install script fetches GPU files, which fails offline.
if [ ! -f tools/bench_peers/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]; then
  (cd tools/bench_peers && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# Two parallel jobs: the machines this runs on have two cores and the test suite builds a few large TUs.
cmake --build build -j "${ZOO_BUILD_JOBS:-2}"
test -x build/bin/runner
