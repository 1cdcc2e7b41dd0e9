#!/usr/bin/env bash
# Every GPU check and figure in one run, within a few minutes on a lent GPU:
#   the CUDA tests, one optimization step at three sizes (bench_step.py), NVIDIA's optical-flow
#   engine probed, and one table of renders (bench_gpu.py): later frames/s and clip frames/s
#   at 480, 720 and 1080 px, GPU busy share, units at once, flows a frame, peak memory, warping
#   error and style loss, beside variants (chained or direct long-term flows, 1, 2 and 4 units
#   at once); then the optimizer's time per iteration and host syncs, and the peak memory
#   against the pre-check's prediction at three sizes (bench_step.py memory): all of it through
#   `python -m benchmarks gpu`, which writes benchmarks/results/gpu.gpu.<date>.json.
# Run from anywhere, with python3 able to import the project's packages:
#     bash benchmarks/device_check.sh          # on the GPU
#     bash benchmarks/device_check.sh --dry    # the same scripts on the CPU at tiny sizes, in a
#                                              # few minutes: run before a lent GPU's minutes start
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
status=0
dry=0
[ "${1:-}" = "--dry" ] && dry=1

echo "== GPU"
if [ "$dry" = 1 ]; then
    echo "dry run: no GPU asked for"
else
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || status=1
fi
"$python" -c 'import torch, cv2; print("torch", torch.__version__, "cuda", torch.version.cuda, "opencv", cv2.__version__)' \
    || status=1

echo "== CUDA tests"
"$python" -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py tests/test_lbfgs.py tests/test_device.py tests/test_device_warps.py || status=1

echo "== steps, renders, memory (python -m benchmarks gpu)"
if [ "$dry" = 1 ]; then
    "$python" -m benchmarks gpu --dry || status=1
else
    "$python" -m benchmarks gpu || status=1
fi
exit "$status"
