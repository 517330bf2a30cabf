#!/usr/bin/env bash
# Records a trace of a short training run with dotnet-trace (the Simd-Training events only) and prints
# the per-epoch events from it. Usage: bench/trace-training.sh [path/to/simd] [extra simd train options]
# Without a path it traces the JIT build (dotnet run); give the published Native AOT binary to trace that.
set -euo pipefail
cd "$(dirname "$0")/.."

simd=()
if [ $# -gt 0 ] && [ -x "$1" ]; then
  simd=("$1"); shift
else
  dotnet build src/Simd.Cli -c Release -v quiet -nologo > /dev/null
  simd=(dotnet src/Simd.Cli/bin/Release/net10.0/simd.dll)
fi

out=artifacts/trace
mkdir -p "$out"
trace="$out/training.nettrace"
rm -f "$trace"

# `dotnet dotnet-trace` (not `dotnet tool run dotnet-trace`, which swallows the `--` before the command).
dotnet tool restore > /dev/null
dotnet dotnet-trace collect --providers Simd-Training --output "$trace" -- \
  "${simd[@]}" train --iters 1201 "$@" > "$out/train-output.txt"
dotnet run --project bench/Simd.TraceReport -c Release -- "$trace"
