#!/usr/bin/env bash
# Prove CUDA offload and measure the batched search on an NVIDIA GPU, beside llama.cpp's own
# batched decoding, on a machine that has nvcc, CMake, ninja and Python 3.12 but no network.
#
#   benchmarks/gpu.sh prepare    # HERE, with PyPI: fills build/gpu/ (sources + wheels, ~57 MB)
#   benchmarks/gpu.sh run        # THERE, from the repository root, with build/gpu/ carried along
#   benchmarks/gpu.sh run --shape tiny   # the dry run: tiny model, no GPU needed
#
# `prepare` puts into build/gpu/: llama.cpp's sources from the sdist of the installed
# llama-cpp-python (pruned to what the shared libraries, llama-quantize and llama-batched-bench
# need), that sdist's Python package `llama_cpp`, and a wheelhouse (cp312, manylinux x86_64) of
# marco's runtime dependencies, llama_cpp's and gguf's. When this machine's Python is not 3.12 it
# also fills build/gpu-dryrun/wheels for it, so that `run` can be tried here; only build/gpu/
# travels.
#
# `run` (under 9 minutes on 16 cores: on 2026-11-30 the build took 230 s and the quantization
# 65 s, and no measurement starts or runs past GPU_DEADLINE_S) builds libllama, llama-quantize
# and llama-batched-bench in one ninja call, with CUDA for sm_90 when a GPU and nvcc are there
# (else CPU-only: GPU_BACKEND=cpu|cuda overrides), installs marco and the wheels offline into a
# venv, writes a random qwen2 GGUF of Qwen2-7B's shape (--shape qwen2-7b, the default;
# tests/tiny_model.py) while the build runs, and quantizes it to Q4_K_M. Then, most wanted first,
# each within what is left of GPU_DEADLINE_S: (a) marco's speed suite (benchmarks/gpu_speed.py
# bench) with its own settings, every layer on the GPU; (b) llama-batched-bench on the same model,
# prompt = the decode rows' prompt shared by all sequences, 256 tokens, 1/2/4/8/16/32 sequences,
# with and without a unified KV cache (-kvu) and flash attention (-fa on/off); (c) marco's decode
# rows with flash attention off; (d) with GPU_CPU_CONTRAST=1, the suite on the CPU. Everything it
# prints also goes to $OUT (default build/gpu-run/out): run.log, the tables gpu-bench.md and
# gpu-bench.json (marco beside llama-batched-bench, with the ratio), and per run speed-gpu.json,
# variant-gpu-fa-off.json, batched-bench-NAME.{jsonl,log} and llama.cpp's own log
# llama-LABEL.log. Random weights: real speed, no accuracy.
#
# Environment: OUT, GPU_BACKEND, GPU_JOBS (default: nproc), GPU_WORK (default build/gpu-run),
# GPU_DEADLINE_S (default 510: no measurement runs past it), GPU_CPU_CONTRAST (default 0).
#
# On the device machine of this project's `run` tool, one call (outputs come back from $OUT):
#   command: benchmarks/gpu.sh run     carry: ["build/gpu"]     timeout_s: 570
# then here: rm -f results/gpu/* && cp <files_at>/* results/gpu/ and
# python benchmarks/gpu_speed.py report --out results/gpu re-renders the tables.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
prep="$root/build/gpu"
version_file="$prep/llama-cpp-python.version"

log() { echo "[gpu.sh +$((SECONDS))s] $*"; }

# Seconds left before GPU_DEADLINE_S, at least 1 (timeout's argument).
left() { local n=$((${GPU_DEADLINE_S:-510} - SECONDS)); echo $((n > 1 ? n : 1)); }

python_tag() { "$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'; }

# --- prepare (here) ------------------------------------------------------------------------------

download_wheels() { # python-version dest
  "${PYTHON:-python3}" -m pip download --quiet --only-binary=:all: --python-version "$1" \
    --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64 \
    -r "$prep/requirements.txt" -d "$2"
}

prepare() {
  local python="${PYTHON:-python3}"
  local version
  version="$("$python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
  rm -rf "$prep"
  mkdir -p "$prep"
  local work
  work="$(mktemp -d)"
  trap "rm -rf '$work'" EXIT

  log "llama-cpp-python $version: sdist"
  "$python" -m pip download --quiet --no-binary :all: --no-deps --dest "$work" \
    "llama-cpp-python==$version"
  tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
  local sdist="$work/llama_cpp_python-$version"
  cp -r "$sdist/llama_cpp" "$prep/llama_cpp"
  rm -rf "$prep/llama_cpp/server" # the OpenAI-style server: not used, needs fastapi

  # llama.cpp: the library, ggml's CPU and CUDA backends, common (for llama-quantize) and the
  # vendored headers. Models' vocab files, docs, tests, examples, the web UI and the other
  # backends are most of the 176 MB and none of the build.
  local src="$prep/llama.cpp"
  cp -r "$sdist/vendor/llama.cpp" "$src"
  rm -rf "$src"/{models,docs,tests,examples,benches,pocs,app,media,gguf-py,conversion,scripts} \
    "$src"/{ci,requirements,skills,grammars,.devops,.github} "$src"/convert_*.py
  find "$src/tools" -mindepth 1 -maxdepth 1 ! -name quantize ! -name batched-bench \
    ! -name CMakeLists.txt -exec rm -rf {} +
  find "$src/ggml/src" -mindepth 1 -maxdepth 1 -type d -name 'ggml-*' \
    ! -name ggml-cpu ! -name ggml-cuda -exec rm -rf {} +
  # tools/CMakeLists.txt adds every tool; of them only llama-quantize and llama-batched-bench
  # (llama.cpp's own batched decoding speed, set beside marco's) are kept.
  cat >"$src/tools/CMakeLists.txt" <<'EOF'
# Pruned by benchmarks/gpu.sh prepare: of the tools only llama-quantize and llama-batched-bench.
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(quantize)
add_subdirectory(batched-bench)
EOF
  echo "$version" >"$version_file"

  # marco's runtime dependencies without llama-cpp-python (its Python files are copied above,
  # its libraries built there), llama_cpp's own, gguf for the model writer, and setuptools for
  # installing marco itself without build isolation; pip itself, as `run` makes its venv without one.
  "$python" - >"$prep/requirements.txt" <<'EOF'
import importlib.metadata as m
from packaging.requirements import Requirement

names = []
for dist in ("marco-cli", "llama-cpp-python"):
    for text in m.requires(dist) or []:
        req = Requirement(text)
        if req.marker is None and req.name != "llama-cpp-python":
            names.append(str(req))
names += [f"gguf=={m.version('gguf')}", "setuptools>=68", "wheel", "pip"]
print("\n".join(names))
EOF
  log "wheels for Python 3.12"
  download_wheels 3.12 "$prep/wheels"
  local here
  here="$(python_tag "$python")"
  if [ "$here" != "3.12" ]; then
    log "wheels for this machine's Python $here (dry run only; not carried)"
    rm -rf "$root/build/gpu-dryrun"
    download_wheels "$here" "$root/build/gpu-dryrun/wheels"
  fi
  log "build/gpu: $(du -sh "$prep" | cut -f1) (llama.cpp $(du -sh "$src" | cut -f1)," \
    "wheels $(du -sh "$prep/wheels" | cut -f1)); carry build/gpu to the GPU machine"
}

# --- run (there) ---------------------------------------------------------------------------------

# cuBLAS (ggml-cuda links it): nothing when the CUDA toolkit or the loader has it; else the path of
# libcublas.so.N from NVIDIA's nvidia-cublas wheel in python3's path (PyTorch's images carry it), as
# a toolkit assembled from NVIDIA's pip wheels lacks it; fails when there is none.
find_cublas() {
  if ldconfig -p 2>/dev/null | grep -q 'libcublas\.so' \
    || compgen -G "/usr/local/cuda*/lib64/libcublas.so*" >/dev/null \
    || compgen -G "/usr/local/cuda*/targets/*/lib/libcublas.so*" >/dev/null; then
    return 0
  fi
  python3 -c '
import glob, os, sys
for entry in sys.path:
    found = sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib", "libcublas.so*")))
    if found:
        sys.exit(print(found[0]))
sys.exit("no cuBLAS: not in the CUDA toolkit, the loader cache or an nvidia-cublas wheel")
'
}

run() {
  local shape=qwen2-7b
  while [ $# -gt 0 ]; do
    case "$1" in
      --shape) shape="$2"; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  [ -f "$version_file" ] || { echo "build/gpu is missing: run benchmarks/gpu.sh prepare" >&2; exit 1; }
  local work="${GPU_WORK:-$root/build/gpu-run}"
  local out="${OUT:-$work/out}"
  local jobs="${GPU_JOBS:-$(nproc)}"
  mkdir -p "$work" "$out"
  exec > >(tee "$out/run.log") 2>&1

  # CUDA images do not always put the toolkit on PATH.
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  local backend="${GPU_BACKEND:-}"
  if [ -z "$backend" ]; then
    if command -v nvcc >/dev/null && nvidia-smi -L >/dev/null 2>&1; then backend=cuda; else backend=cpu; fi
  fi
  log "backend $backend, shape $shape, $jobs jobs, llama-cpp-python $(cat "$version_file")"
  [ "$backend" = cuda ] && { nvidia-smi -L; nvcc --version | tail -1; }
  log "$(cmake --version | head -1), ninja $(ninja --version), $(python3 --version)"

  # 1. The venv, offline. Wheels for another Python than 3.12 come from the dry-run folder.
  local pyver wheels venv="$work/venv"
  pyver="$(python_tag python3)"
  wheels="$prep/wheels"
  [ "$pyver" = "3.12" ] || wheels="$root/build/gpu-dryrun/wheels"
  rm -rf "$venv"
  # No ensurepip: a Debian or Ubuntu python3 lacks it without python3-venv. pip runs from its
  # wheel instead, and installs itself with the rest.
  python3 -m venv --without-pip "$venv"
  local pip_wheel
  pip_wheel="$(compgen -G "$wheels/pip-*.whl" | head -1)"
  "$venv/bin/python" "$pip_wheel/pip" install --quiet --no-index --find-links "$wheels" \
    -r "$prep/requirements.txt"
  "$venv/bin/pip" install --quiet --no-index --no-deps --no-build-isolation -e "$root"
  local site
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  rm -rf "$site/llama_cpp"
  cp -r "$prep/llama_cpp" "$site/llama_cpp"
  log "venv ready (Python $pyver)"

  # 2. The f16 model, written by one core while the others build.
  local f16="$work/model-$shape-f16.gguf" q4="$work/model-$shape-Q4_K_M.gguf"
  rm -f "$f16" "$q4"
  "$venv/bin/python" benchmarks/gpu_speed.py model "$f16" --shape "$shape" >"$work/model.log" 2>&1 &
  local writer=$!

  # 3. libllama (+ ggml) and llama-quantize. What makes the CUDA build slow is nvcc compiling
  # ggml-cuda's ~120 template instances for every listed architecture: one architecture (90),
  # FlashAttention only for the default KV types, no fatbin compression, and nothing else built.
  local build="$work/build"
  local cuda_flags=(-DGGML_CUDA=OFF)
  if [ "$backend" = cuda ]; then
    local cublas
    cublas="$(find_cublas)"
    cuda_flags=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CUDA_FA_ALL_QUANTS=OFF
      -DGGML_CUDA_COMPRESSION_MODE=none -DGGML_CUDA_NCCL=OFF)
    if [ -n "$cublas" ]; then
      local dir="${cublas%/*}"
      local include="${dir%/*}/include"
      log "cuBLAS from outside the toolkit: $cublas"
      cuda_flags+=("-DCUDA_cublas_LIBRARY=$cublas"
        "-DCUDA_cublasLt_LIBRARY=$(compgen -G "$dir/libcublasLt.so*" | head -1)"
        "-DCMAKE_CUDA_FLAGS=-I$include" "-DCMAKE_CXX_FLAGS=-I$include")
      export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    # ggml-cuda links the driver's libcuda for its VMM memory pool; CMake looks for libcuda.so,
    # which a container often holds only as libcuda.so.1. Without any, the legacy pool is used.
    local driver
    driver="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so(\.1)? .*x86-64/ {print $NF; exit}')"
    [ -n "$driver" ] || driver="$(compgen -G "/usr/local/nvidia/lib*/libcuda.so*" \
      || compgen -G "/usr/lib/x86_64-linux-gnu/libcuda.so*" || true)"
    driver="${driver%%$'\n'*}"
    if [ -n "$driver" ]; then
      cuda_flags+=("-DCUDA_cuda_driver_LIBRARY=$driver")
    else
      log "no libcuda in the loader cache: GGML_CUDA_NO_VMM=ON"
      cuda_flags+=(-DGGML_CUDA_NO_VMM=ON)
    fi
  fi
  cmake -S "$prep/llama.cpp" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DGGML_CCACHE=OFF "${cuda_flags[@]}" \
    >"$work/cmake.log" 2>&1 || { tail -40 "$work/cmake.log"; exit 1; }
  ninja -C "$build" -j "$jobs" llama llama-quantize llama-batched-bench >"$work/build.log" 2>&1 \
    || { tail -60 "$work/build.log"; exit 1; }
  log "built: $(ls "$build/bin" | tr '\n' ' ')"

  wait "$writer" || { cat "$work/model.log"; exit 1; }
  cat "$work/model.log"
  "$build/bin/llama-quantize" "$f16" "$q4" Q4_K_M "$jobs" >"$work/quantize.log" 2>&1 \
    || { tail -30 "$work/quantize.log"; exit 1; }
  grep -E "model size|quant size|total time" "$work/quantize.log" || true
  rm -f "$f16"
  log "quantized: $(du -h "$q4" | cut -f1) $q4"

  # 4. The measurements, most wanted first; each gets what is left of the deadline.
  export LLAMA_CPP_LIB_PATH="$build/bin"
  local bench=("$venv/bin/python" benchmarks/gpu_speed.py bench "$q4" --out "$out") status=0
  local expect=()
  [ "$backend" = cuda ] && expect=(--expect-gpu)
  # a. marco's speed suite with its own settings (flash attention auto, unified KV cache).
  timeout "$(left)" "${bench[@]}" --n-gpu-layers -1 "${expect[@]}" \
    || { status=$?; log "marco's run failed ($status)"; }
  # b. llama.cpp's own batched decoding on the same model: the decode rows' prompt shared by
  # every sequence (-pps), 256 tokens each, with and without a unified KV cache and flash attention.
  local npp
  npp="$("$venv/bin/python" -c 'import json, sys
print(json.load(open(sys.argv[1]))["suite"]["decode_prompt_tokens"])' "$out/speed-gpu.json" 2>/dev/null \
    || echo 32)"
  local name kvu
  for name in kvu-fa-on split-fa-on kvu-fa-off split-fa-off; do
    kvu=()
    [ "${name%%-*}" = kvu ] && kvu=(-kvu)
    [ "$(left)" -gt 20 ] || { log "no time left for llama-batched-bench $name"; break; }
    log "llama-batched-bench $name (-npp $npp)"
    timeout "$(left)" "$build/bin/llama-batched-bench" -m "$q4" -c 16384 -b 512 -ub 512 -ngl 99 \
      -npp "$npp" -ntg 256 -npl 1,2,4,8,16,32 -pps "${kvu[@]}" -fa "${name##*-fa-}" \
      --output-format jsonl >"$out/batched-bench-$name.jsonl" 2>"$out/batched-bench-$name.log" \
      || log "llama-batched-bench $name failed ($?)"
  done
  # c. marco's decode rows with flash attention off. (marco's cache is always unified: a cache
  # per sequence cannot fork a prefix into another sequence.)
  if [ "$(left)" -gt 30 ]; then
    timeout "$(left)" "${bench[@]}" --n-gpu-layers -1 --decode-only --label gpu-fa-off \
      --flash-attn off || log "marco's run with flash attention off did not finish ($?)"
  else
    log "no time left for marco's run with flash attention off"
  fi
  # d. On request (GPU_CPU_CONTRAST=1), the same suite on the CPU: Qwen2-7B's shape decodes some
  # 10x slower there, so fewer tokens per row and a smaller search.
  if [ "${GPU_CPU_CONTRAST:-0}" = 1 ] && [ "$(left)" -gt 30 ]; then
    log "CPU contrast (--n-gpu-layers 0), $(left)s left"
    timeout "$(left)" "${bench[@]}" --n-gpu-layers 0 --decode-tokens 64 --search-tokens 512 \
      --prompt-tokens 512 || log "CPU contrast did not finish ($?)"
  fi
  "$venv/bin/python" benchmarks/gpu_speed.py report --out "$out" || status=$?
  log "done: $out"
  return "$status"
}

# One line, so that bash has read all of it before running: editing this file meanwhile is safe.
case "${1:-}" in prepare) shift; prepare "$@" ;; run) shift; run "$@" ;; *) sed -n '2,38p' "$0" >&2; exit 2 ;; esac; exit
