#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (CPU, Release) once and print the binary's path as the last
# line of stdout; later calls print it at once. The sources are the llama.cpp copy inside the
# source distribution of the installed llama-cpp-python, so the server runs the same llama.cpp
# as marco's local engine (the remote conformance tests compare the two).
#
#   scripts/llama-server.sh            # build if needed, print the path
#   scripts/llama-server.sh --cached   # print the path if built, else exit 1 (no build)
#   LLAMA_SERVER_JOBS=8 scripts/llama-server.sh
#
# Environment: LLAMA_CPP_PYTHON_VERSION (default: the installed one), LLAMA_SERVER_JOBS
# (default 2), XDG_CACHE_HOME. Build output goes to stderr.
set -euo pipefail

python="${PYTHON:-python3}"
version="${LLAMA_CPP_PYTHON_VERSION:-$("$python" -c \
  'import importlib.metadata as m; print(m.version("llama-cpp-python"))')}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/marco/llama-server/$version"
binary="$cache/llama-server"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
if [ "${1:-}" = "--cached" ]; then
  echo "llama-server $version is not built yet: run scripts/llama-server.sh" >&2
  exit 1
fi

mkdir -p "$cache"
# Two callers at once (parallel test runs, CI jobs) build once: the second waits for the first.
exec 9>"$cache/.lock"
flock 9
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  echo "building llama-server from llama-cpp-python $version (once; takes minutes)"
  "$python" -m pip download --quiet --no-binary :all: --no-deps \
    --dest "$work" "llama-cpp-python==$version"
  tar -xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
  source="$work/llama_cpp_python-$version/vendor/llama.cpp"
  # Static and CPU-only: one self-contained binary; no curl (the tests serve local files).
  cmake -S "$source" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF
  cmake --build "$work/build" --config Release --target llama-server \
    -j "${LLAMA_SERVER_JOBS:-2}"
} >&2
# Copy then rename, so that a reader never sees a half-written binary.
cp "$work/build/bin/llama-server" "$binary.tmp"
mv "$binary.tmp" "$binary"
echo "$binary"
