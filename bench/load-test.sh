#!/usr/bin/env bash
# The book's run beside one CPU-bound process (a busy loop), as on a shared machine: when another process
# takes a core, a worker can be descheduled for a whole time slice. Times `simd train` with the default
# threads and with --threads 1, alternately, RUNS times each (default 5), with the busy loop running, and
# prints the medians and their ratio (the goal: default threads <= 1.15x one thread).
#   bench/load-test.sh [path/to/simd] [RUNS] [extra simd train options...]
# Without a path it runs the JIT build (dotnet build -c Release first). MNIST from $MNIST_DIR or the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
simd=${1:-src/Simd.Cli/bin/Release/net10.0/simd}
runs=${2:-5}
shift $(( $# > 2 ? 2 : $# ))
[ -x "$simd" ] || { echo "no simd binary at $simd (build it, or pass its path)" >&2; exit 2; }

busy() { while :; do :; done; }
busy & busy_pid=$!
trap 'kill $busy_pid 2>/dev/null || true' EXIT

total_of() { # prints the "total S s" figure of one run
  "$simd" train "$@" | sed -n 's/^total \([0-9.]*\) s:.*/\1/p'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

default_times=(); one_times=()
for ((i = 1; i <= runs; i++)); do
  default_times+=("$(total_of "$@")")
  one_times+=("$(total_of --threads 1 "$@")")
  echo "run $i: default threads ${default_times[-1]} s, --threads 1 ${one_times[-1]} s" >&2
done

d=$(printf '%s\n' "${default_times[@]}" | median)
o=$(printf '%s\n' "${one_times[@]}" | median)
echo "beside a busy loop, median of $runs: default threads $d s, --threads 1 $o s, ratio $(awk -v d="$d" -v o="$o" 'BEGIN { printf "%.2f", d / o }')x"
