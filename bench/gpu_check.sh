#!/usr/bin/env bash
# The whole GPU check, for a lent GPU machine (no network): build with CUDA forced on, run the CUDA
# tests with skips turned into failures, run the GPU benchmarks, print a short table.
# Budget: well under 8 minutes. Usage (repository root): bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export IBFAST_REQUIRE_CUDA=1
start=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

echo "== build (IBFAST_CUDA=ON)"
if ! IBFAST_CUDA=ON python3 -m pip install --no-build-isolation --no-deps -q . > /tmp/ibfast_build.log 2>&1; then
  tail -n 80 /tmp/ibfast_build.log; echo "gpu_check: BUILD FAILED"; exit 1
fi
python3 -c "import ibfast, json; print(json.dumps(ibfast.build_info()))"

echo "== CUDA tests (skips are failures)"
python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py --maxfail=5 2>&1 | tail -n 25
tests_rc=${PIPESTATUS[0]}

echo "== GPU benchmarks"
python3 -m pytest -q -p no:cacheprovider bench/test_bench_gpu.py --benchmark-columns=min,median,rounds 2>&1 \
  | sed -n '/ibfast benchmark ratios/,/^-----/p'
bench_rc=${PIPESTATUS[0]}
echo "== monitor on the GPU (ResNet-18-like, 10000-image CIFAR-shaped probe)"
python3 -m pytest -q -p no:cacheprovider bench/test_bench_monitor.py -m cuda --benchmark-columns=min,median,rounds 2>&1 \
  | sed -n '/ibfast benchmark ratios/,/^-----/p'
monitor_rc=${PIPESTATUS[0]}; [ "$monitor_rc" -eq 0 ] || bench_rc=$monitor_rc

echo "== summary: tests rc=$tests_rc, bench rc=$bench_rc, $(( $(date +%s) - start )) s"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
