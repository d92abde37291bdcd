#!/usr/bin/env bash
# The seed talk's experiment through a real CRI-O: N pods created with
# `crictl runp`, waited for, removed, R rounds, for four variants interleaved
# in one run: our pinns and CRI-O's C pinns, each with drop_infra_ctr true
# (no pause container) and false (a pause container per pod).
#
#   sudo bench/crio-pods.sh [N [ROUNDS]]     # default 20 pods x 5 rounds (~4 min here)
#
# The private CRI-O is the test suite's (tests/it/common/crio); this script only builds
# the release binary, runs tests/it/crio_bench.rs and summarises with
# crio-pods.py. CRI-O comes from PINNS_TEST_CRIO_DIR, else crio + crictl on
# PATH, else the shared 1.36.3 bundle (unpacked into a temp dir). Output:
# bench/results/crio-pods-samples.csv, crio-pods.csv, crio-pods.png (with
# matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "CRI-O, runc and pinns need root" >&2
  exit 1
fi
n=${1:-20}
rounds=${2:-5}
tmp=$(mktemp -d /tmp/pinns-crio-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${PINNS_TEST_CRIO_DIR:-}" ] && ! { command -v crio && command -v crictl; } >/dev/null; then
  PINNS_TEST_CRIO_DIR=$(tests/it/common/crio/unpack-bundle.sh "$tmp")
  export PINNS_TEST_CRIO_DIR
fi
mkdir -p bench/results
samples=bench/results/crio-pods-samples.csv
PINNS_REQUIRE_CRIO=1 PINNS_BENCH_N=$n PINNS_BENCH_ROUNDS=$rounds PINNS_BENCH_CSV=$samples \
  cargo test --release --test it -- --ignored --exact crio_bench::crio_pods --nocapture
python3 bench/crio-pods.py "$samples" bench/results
