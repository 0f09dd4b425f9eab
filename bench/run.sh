#!/usr/bin/env bash
# bench/run.sh [--quick] [--no-side] [--no-go] — speed figures of fenchel:
# first fenchel against PyTorch on the same training workloads, run side by
# side (bench/train_side.sh: MLPs, Model d, the per-image instrument, the
# indicator protocol; bench/spectra.sh: spectra of H, H_S, H_p at n = 500;
# ratios of medians), then the Go benchmarks of both builds:
#   pure-Go   CGO_ENABLED=0                  (fenchel AVX2/FMA kernels, gonum fallback)
#   OpenBLAS  CGO_ENABLED=1 -tags openblas   (needs Debian libopenblas-dev)
# It runs the Go benchmarks that live beside the code they measure
# (train/, structural/, instrument/, linalg/), keeps the raw `go test -bench`
# output in bench/out/ (gitignored) and prints one table of medians over the
# -count repetitions. Figures are only meaningful on a quiet machine: the load
# average is printed at start and end and a warning is given above 1.5.
#
# --quick: side by side ×2 with short runs, Go benchmarks ×1 with short bench
# times (≈ 8 min on 2 cores); default: side by side ×3 with the full protocols,
# Go benchmarks ×5 (≈ 30 min on a quiet machine). COUNT=n overrides the Go
# benchmarks' repetitions, REPS=n the side-by-side ones. --no-side / --no-go
# skip a part.
# Compare two runs with benchstat on the raw files (bench/README.md, "How to run").
#
# OpenBLAS picks its kernel set when it loads, from OPENBLAS_CORETYPE if set,
# else from its own CPU detection. An inherited OPENBLAS_CORETYPE (this
# machine's environment pins Haswell, AVX2 only) would measure a setting, not
# the library, so the OpenBLAS build runs with OPENBLAS_CORETYPE removed
# (OpenBLAS's own choice) unless BENCH_OPENBLAS_CORETYPE names one, e.g.
# BENCH_OPENBLAS_CORETYPE=Haswell; when OpenBLAS's own choice lacks AVX-512 on
# an AVX-512 CPU (it does not know the CPU), SkylakeX. PyTorch gets the same
# set. The kernel set used is recorded in meta.txt.
set -u
cd "$(dirname "$0")/.." || exit 1

quick=0 side=1 gobench=1
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	--no-side) side=0 ;;
	--no-go) gobench=0 ;;
	-h | --help)
		sed -n '2,20p' "$0"
		exit 0
		;;
	*)
		echo "run.sh: unknown argument $a (want --quick, --no-side, --no-go)" >&2
		exit 2
		;;
	esac
done

if [ "$quick" = 1 ]; then
	count=1
	bt_fast=1s   # MLP steps: a few hundred iterations
	bt_slow=3x   # Model d step (~0.3–0.5 s each)
	bt_gemm=500ms
	bt_once=1x   # H + spectrum, per-image training runs, SYRK
else
	count=5
	bt_fast=3s
	bt_slow=10x
	bt_gemm=2s
	bt_once=2x
fi
count=${COUNT:-$count}
case "$count" in '' | 0 | *[!0-9]*)
	echo "run.sh: COUNT=$count is not a positive integer" >&2
	exit 2
	;;
esac

out=bench/out
mkdir -p "$out"
load1() { awk '{print $1}' /proc/loadavg; }
loadline() { uptime | sed 's/.*load average/load average/'; }

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: ${cpu:-unknown}, $(nproc) cores"
	echo "go: $(go version)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"
	echo "command: ${COUNT:+COUNT=$COUNT }bench/run.sh $*"
	echo "start $(loadline)"
} | tee "$out/meta.txt"
# obenv: the environment of the OpenBLAS runs (see the header).
if [ -n "${BENCH_OPENBLAS_CORETYPE:-}" ]; then
	obenv=(env "OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE")
else
	obenv=(env -u OPENBLAS_CORETYPE)
fi
obver=$("${obenv[@]}" CGO_ENABLED=1 go run -tags openblas ./cmd/fenchel version 2>&1 | tr '\n' ' ')
# OpenBLAS that does not recognise an AVX-512 CPU falls back to kernels without
# AVX-512 (fenchel version says so): PyTorch, the peer, would then be measured
# with a handicap, so both sides get the AVX-512 set instead.
if [ -z "${BENCH_OPENBLAS_CORETYPE:-}" ] && [[ "$obver" == *"OPENBLAS_CORETYPE=SkylakeX selects"* ]]; then
	export BENCH_OPENBLAS_CORETYPE=SkylakeX
	obenv=(env "OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE")
	echo "OpenBLAS's own detection picks kernels without AVX-512 on this AVX-512 CPU: OpenBLAS runs and PyTorch use OPENBLAS_CORETYPE=SkylakeX" | tee -a "$out/meta.txt"
	obver=$("${obenv[@]}" CGO_ENABLED=1 go run -tags openblas ./cmd/fenchel version 2>&1 | tr '\n' ' ')
fi
{
	echo "inherited OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(unset)}; OpenBLAS runs use: ${BENCH_OPENBLAS_CORETYPE:-(unset: OpenBLAS detects)}"
	echo "openblas build: $obver"
} | tee -a "$out/meta.txt"
if awk -v l="$(load1)" 'BEGIN{exit !(l > 1.5)}'; then
	echo "WARNING: 1-min load average $(load1) > 1.5: the machine is busy, figures are depressed and noisy" | tee -a "$out/meta.txt"
fi

# bench BUILD PKG REGEX BENCHTIME: appends the raw output of one go test -bench
# run to $out/BUILD.txt (a failure is recorded and the run goes on).
bench() {
	local build=$1 pkg=$2 re=$3 bt=$4 env tags pre
	if [ "$build" = openblas ]; then env=1 tags=(-tags openblas) pre=("${obenv[@]}"); else env=0 tags=() pre=(env); fi
	echo "# $(date -u +%T) $pkg -bench '$re' -benchtime $bt -count $count; $(loadline)" >>"$out/load.txt"
	printf '  %-13s %-40s' "$pkg" "$re" >&2
	local t0=$SECONDS
	if "${pre[@]}" CGO_ENABLED=$env go test "${tags[@]}" -run '^$' -bench "$re" -benchtime "$bt" -count "$count" "./$pkg/" >>"$out/$build.txt" 2>&1; then
		echo " $((SECONDS - t0)) s" >&2
	else
		echo " FAILED (see $out/$build.txt)" >&2
	fi
}

: >"$out/load.txt"
if [ "$side" = 1 ]; then
	sideargs=()
	[ "$quick" = 1 ] && sideargs=(--quick)
	bench/train_side.sh "${sideargs[@]}" | tee "$out/side.txt"
	# The structural engine against PyTorch on the same weights (MLP 784-1000-10,
	# n = 500: spectra of H, H_S, H_p), interleaved.
	spectra_rounds=3
	[ "$quick" = 1 ] && spectra_rounds=2
	# PyTorch's eigvalsh runs on OpenBLAS's LAPACK: the same kernel set as above.
	"${obenv[@]}" bench/spectra.sh --n 500 --rounds "$spectra_rounds" | tee "$out/spectra.txt"
	# Every eigenvalue on both sides (fenchel's two-stage reduction against eigvalsh).
	"${obenv[@]}" bench/spectra.sh --n 500 --rounds 1 --method dense | tee "$out/spectra-dense.txt"
fi
if [ "$gobench" = 0 ]; then
	echo "end $(loadline)" | tee -a "$out/meta.txt"
	exit 0
fi
for build in purego openblas; do
	: >"$out/$build.txt"
	echo "$build:" >&2
	bench "$build" train 'TrainStepMLP(100|1000)$' "$bt_fast"
	bench "$build" train 'TrainStepModelD$' "$bt_slow"
	bench "$build" structural 'StructuralMLP1000$' "$bt_once"
	bench "$build" instrument 'PerImage$' "$bt_once"
	bench "$build" linalg 'Gemm$/installed' "$bt_gemm"
	bench "$build" linalg 'Syrk$/installed' "$bt_once"
	bench "$build" linalg 'SymEigenvalues$/^SymEigenvalues$/^n=5000$' "$bt_once"
	bench "$build" structural 'AnalyzeProbe100$/^auto$' "$bt_once"
done
echo "end $(loadline)" | tee -a "$out/meta.txt"

# med BUILD NAME UNIT: median over repetitions of the value reported with UNIT
# by benchmark NAME (without the -GOMAXPROCS suffix); "n/a" if absent.
med() {
	awk -v name="$2" -v unit="$3" '
		/^Benchmark/ {
			n = $1; sub(/-[0-9]+$/, "", n)
			if (n != name) next
			for (i = 3; i <= NF; i++) if ($i == unit) print $(i-1)
		}' "$out/$1.txt" | sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "n/a"; exit }
			print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}
# fmt VALUE SCALE DECIMALS: VALUE·SCALE with DECIMALS decimals, or n/a.
fmt() { awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN{ if (v == "n/a") print "n/a"; else printf "%.*f\n", d, v*s }'; }
# ratio A B: A/B to two significant figures, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2g\n", a/b }'; }

row() { printf '| %-50s | %12s | %12s | %12s |\n' "$@"; }
echo
row "figure (median of $count)" "pure-Go" "OpenBLAS" "PyTorch"
row "---" "---" "---" "---"
train_row() { # NAME LABEL PYTORCH_SAMPLES_PER_S
	local g o
	g=$(med purego "$1" samples/s) o=$(med openblas "$1" samples/s)
	row "$2 samples/s" "$(fmt "$g" 1 0)" "$(fmt "$o" 1 0)" "side table"
	row "$2 ms/step" "$(fmt "$(med purego "$1" ns/op)" 1e-6 2)" "$(fmt "$(med openblas "$1" ns/op)" 1e-6 2)" "–"
}
train_row BenchmarkTrainStepMLP100 "train MLP 784-100-10 (b128, SGD)"
train_row BenchmarkTrainStepMLP1000 "train MLP 784-1000-10 (b128, SGD)"
train_row BenchmarkTrainStepModelD "train Model d k=1 skip (b64, Adam)"
for n in 100 500; do
	b=BenchmarkStructuralMLP1000/n=$n
	row "H + lambda_min/max(H_S), MLP 784-1000-10 n=$n: s" \
		"$(fmt "$(med purego "$b" ns/op)" 1e-9 2)" "$(fmt "$(med openblas "$b" ns/op)" 1e-9 2)" "–"
	row "  of which build H: s" "$(fmt "$(med purego "$b" s-H)" 1 2)" "$(fmt "$(med openblas "$b" s-H)" 1 2)" "–"
done
row "all eigenvalues of a 5000x5000 matrix: s" \
	"$(fmt "$(med purego BenchmarkSymEigenvalues/SymEigenvalues/n=5000 ns/op)" 1e-9 2)" \
	"$(fmt "$(med openblas BenchmarkSymEigenvalues/SymEigenvalues/n=5000 ns/op)" 1e-9 2)" "–"
row "training probe, MLP 784-256-10 n=100 (auto): s" \
	"$(fmt "$(med purego BenchmarkAnalyzeProbe100/auto ns/op)" 1e-9 3)" \
	"$(fmt "$(med openblas BenchmarkAnalyzeProbe100/auto ns/op)" 1e-9 3)" "–"
for m in a-k1 d-k1-skip; do
	b=BenchmarkPerImage/$m
	row "per-image every 2 steps, $m: overhead %" \
		"$(fmt "$(med purego "$b" overhead_%)" 1 1)" "$(fmt "$(med openblas "$b" overhead_%)" 1 1)" "–"
done
for f in purego openblas; do
	awk '/^Benchmark(Gemm|Syrk)\/installed\// { n = $1; sub(/-[0-9]+$/, "", n); if (!(n in s)) { s[n]; print n } }' "$out/$f.txt"
done | awk '!seen[$0]++' | while read -r b; do
	label=${b#Benchmark}
	label=${label/\/installed\//: }
	label=${label//·/*}
	row "${label} GFLOP/s" "$(fmt "$(med purego "$b" GFLOP/s)" 1 1)" "$(fmt "$(med openblas "$b" GFLOP/s)" 1 1)" "–"
done
echo
echo "raw output: $out/purego.txt $out/openblas.txt; load per step: $out/load.txt"
if [ "$side" = 1 ]; then
	echo
	echo "fenchel against PyTorch (from bench/train_side.sh above, also in $out/side.txt):"
	sed -n '/^| side by side/,/^$/p' "$out/side.txt"
fi
