#!/usr/bin/env bash
# GPU check on a CUDA machine with no network: build mamba_ssm's selective_scan_cuda for sm_90
# from the carried sdist, then run bench/gpu_check.py against it (mamba_ssm's kernel vs our scan).
#
# Needs, in the repo root (ignored folder .whl/, carried to the device):
#   .whl/mamba_ssm-*.tar.gz   the mamba_ssm sdist (pip download --no-deps --no-binary :all: mamba-ssm)
#   .whl/ss_obj_sm90/*.o      optional: the kernels prebuilt elsewhere with
#                             bench/build_selective_scan.py objects --portable (nvcc + any torch's
#                             headers, no GPU); then only selective_scan.cpp is compiled here,
#                             against this torch, and linked with them.
# If those objects are absent or do not link/load, the forward kernels are compiled here
# (MAX_JOBS parallel) with the backward entry points stubbed (--bwd-stub).
# Logs: $OUT/build.log, $OUT/gpu_check.txt (OUT defaults to /tmp/gpu_check_out).
set -euo pipefail
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export MAX_JOBS=${MAX_JOBS:-16}
export PYTHONUNBUFFERED=1
if [ -z "${CUDA_HOME:-}" ]; then
    CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
    export CUDA_HOME
fi
T0=$(date +%s)
say() { echo "[gpu_check.sh +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/build.log"; }

say "host $(hostname); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
say "nvcc: $("$CUDA_HOME/bin/nvcc" --version | tail -1); $($PY -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__)' 2>&1 | tail -1); nproc $(nproc)"

SDIST=$(ls .whl/mamba_ssm-*.tar.gz | head -1)
SRC_ROOT=/tmp/mamba_src
rm -rf "$SRC_ROOT" /tmp/ss_build /tmp/ss_obj
mkdir -p "$SRC_ROOT"
tar xzf "$SDIST" -C "$SRC_ROOT" --strip-components=1
SRC=$SRC_ROOT/csrc/selective_scan
say "unpacked $SDIST"

built=0
if ls .whl/ss_obj_sm90/*.o >/dev/null 2>&1; then
    say "linking prebuilt kernel objects (.whl/ss_obj_sm90) with selective_scan.cpp built against this torch"
    if $PY bench/build_selective_scan.py link --src "$SRC" --objs .whl/ss_obj_sm90 --out /tmp/ss_build >>"$OUT/build.log" 2>&1 \
        && PYTHONPATH=/tmp/ss_build $PY -c 'import torch, selective_scan_cuda; print("import ok:", selective_scan_cuda.__file__)' >>"$OUT/build.log" 2>&1; then
        built=1
    else
        say "prebuilt objects did not link/load (see build.log); compiling here instead"
        rm -rf /tmp/ss_build
    fi
fi
if [ "$built" = 0 ]; then
    say "compiling forward kernels for sm_90 here, MAX_JOBS=$MAX_JOBS (backward stubbed)"
    $PY bench/build_selective_scan.py objects --src "$SRC" --objs /tmp/ss_obj --arch 90 --jobs "$MAX_JOBS" --bwd-stub >>"$OUT/build.log" 2>&1
    $PY bench/build_selective_scan.py link --src "$SRC" --objs /tmp/ss_obj --out /tmp/ss_build >>"$OUT/build.log" 2>&1
    PYTHONPATH=/tmp/ss_build $PY -c 'import torch, selective_scan_cuda; print("import ok:", selective_scan_cuda.__file__)' >>"$OUT/build.log" 2>&1
fi
say "build done: $(ls /tmp/ss_build/*.so)"
grep -E "^\[build_selective_scan" "$OUT/build.log" || true

say "running bench/gpu_check.py"
set +e
PYTHONPATH=$SRC_ROOT:/tmp/ss_build $PY bench/gpu_check.py --require-mamba 2>&1 | tee "$OUT/gpu_check.txt"
rc=${PIPESTATUS[0]}
say "gpu_check.py exit status $rc"
exit "$rc"
