package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/fenchel-ml/fenchel/linalg/internal/kern"
)

// withVec runs f with the level-2 kernels v (nil: the Go twins).
func withVec(v *vecKernels, f func()) {
	old := vec
	vec = v
	defer func() { vec = old }()
	f()
}

// vecModes are the level-2 kernels this machine can run, Go twins first.
func vecModes() []*vecKernels {
	m := []*vecKernels{nil}
	if kern.AVX2 {
		m = append(m, vecAVX2)
	}
	if kern.AVX512 {
		m = append(m, vecAVX512)
	}
	return m
}

// vecName names v for messages.
func vecName(v *vecKernels) string {
	if v == nil {
		return "Go"
	}
	return v.name
}

// TestLevel2KernelTwins: the AVX-512 kernels give the bits of their Go
// twins on every length around the 8-, 16- and 64-column steps and every
// row count 1…9, with strides beyond the row length.
func TestLevel2KernelTwins(t *testing.T) {
	if !kern.AVX512 {
		t.Log("no AVX-512 here: only the Go twins run")
	}
	rnd := rand.New(rand.NewPCG(21, 22))
	lens := []int{0, 1, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 72, 127, 128, 129, 1000, 1003}
	for _, m := range lens {
		for k := 1; k <= 9; k++ {
			ldu := m + 5
			u := randSlice(rnd, (k-1)*ldu+m+1)
			xi, x := randSlice(rnd, k), randSlice(rnd, m+1)
			ref := slices.Clone(x)
			axpyRowsGo(k, 0, m, u, ldu, xi, ref)
			for _, v := range vecModes() {
				y := slices.Clone(x)
				withVec(v, func() { axpyRows(k, m, u, ldu, xi, y) })
				for p := range ref {
					if y[p] != ref[p] {
						t.Fatalf("axpyRows %s k=%d m=%d: x[%d] = %v, Go twin %v", vecName(v), k, m, p, y[p], ref[p])
					}
				}
			}
			for _, asm := range vecModes() {
				s := make([]float64, k)
				withVec(asm, func() { dotRows(k, m, u, ldu, x, s) })
				for q := range s {
					row := u[q*ldu : q*ldu+m]
					w := dot8Go(row[:m&^7], x[:m&^7])
					for p := m &^ 7; p < m; p++ {
						w = math.FMA(row[p], x[p], w)
					}
					if s[q] != w {
						t.Fatalf("dotRows %s k=%d m=%d: s[%d] = %v, want %v", vecName(asm), k, m, q, s[q], w)
					}
					plain, abs := 0.0, 0.0
					for p := range row {
						plain += row[p] * x[p]
						abs += math.Abs(row[p] * x[p])
					}
					if math.Abs(s[q]-plain) > float64(m)*0x1p-52*abs {
						t.Fatalf("dotRows k=%d m=%d: s[%d] = %v, plain sum %v", k, m, q, s[q], plain)
					}
				}
			}
		}
	}
}

// wellConditionedUpper returns an n×n upper triangular U (row-major,
// stride ldu, NaN below the diagonal and in the padding, so reading them
// shows) with diagonal in [1, 2] and off-diagonal entries in ±1/n: ‖U − D‖₂
// ≤ ‖U − D‖_F < 1/√2, so κ₂(U) < (2 + 0.71)/(1 − 0.71) < 10.
func wellConditionedUpper(rnd *rand.Rand, n, ldu int) []float64 {
	u := make([]float64, (n-1)*ldu+n)
	for i := range u {
		u[i] = math.NaN()
	}
	for i := 0; i < n; i++ {
		u[i*ldu+i] = 1 + rnd.Float64()
		for j := i + 1; j < n; j++ {
			u[i*ldu+j] = (2*rnd.Float64() - 1) / float64(n)
		}
	}
	return u
}

// trsvTol is the agreement asked of two triangular solves, relative to
// max|x|: each is backward stable with |ΔU| ≤ γ_n|U| (Higham, Accuracy and
// Stability of Numerical Algorithms, Thm. 8.5), so each forward error is at
// most κ(U)·n·ε·‖x‖ to first order; with κ < 10 (wellConditionedUpper) the
// two differ by at most 20·n·ε·‖x‖.
func trsvTol(n int) float64 { return 20 * float64(n) * 0x1p-52 }

var trsvSizes = []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 256, 257, 300, 1031}

// TestNarrowSolves: the narrow forward and back solves agree with gonum's
// Dtrsm for every r in 1…9, orders around the kernels' steps and the row
// blocks, and strides of U and B beyond n and r; the forward solve gives
// the bits of plain fused forward substitution, and neither depends on the
// kernels (asm or Go twin) or GOMAXPROCS.
func TestNarrowSolves(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rnd := rand.New(rand.NewPCG(23, 24))
	var g gonum.Implementation
	run := func(t *testing.T, blocks string) {
		for _, n := range trsvSizes {
			ldu := n + 3
			u := wellConditionedUpper(rnd, n, ldu)
			for r := 1; r <= 9; r++ {
				for _, ldb := range []int{r, r + 2} {
					b := make([]float64, (n-1)*ldb+r)
					for i := range b {
						b[i] = 2*rnd.Float64() - 1
					}
					name := fmt.Sprintf("n=%d r=%d ldb=%d (%s blocks)", n, r, ldb, blocks)
					// Plain fused forward substitution, column by column.
					ref := slices.Clone(b)
					for c := 0; c < r; c++ {
						for p := 0; p < n; p++ {
							v := ref[p*ldb+c]
							for i := 0; i < p; i++ {
								v = math.FMA(-ref[i*ldb+c], u[i*ldu+p], v)
							}
							ref[p*ldb+c] = v / u[p*ldu+p]
						}
					}
					fwd, back := slices.Clone(b), slices.Clone(b)
					g.Dtrsm(blas.Left, blas.Upper, blas.Trans, blas.NonUnit, n, r, 1, u, ldu, fwd, ldb)
					g.Dtrsm(blas.Left, blas.Upper, blas.NoTrans, blas.NonUnit, n, r, 1, u, ldu, back, ldb)
					var backBits []float64
					for _, asm := range vecModes() {
						for _, procs := range []int{1, 2, 3} {
							runtime.GOMAXPROCS(procs)
							x := slices.Clone(b)
							withVec(asm, func() { solveUpperTNarrow(n, r, u, ldu, x, ldb) })
							for i, v := range x {
								if v != ref[i] {
									t.Fatalf("%s %s GOMAXPROCS %d: forward x[%d] = %v, plain substitution %v", name, vecName(asm), procs, i, v, ref[i])
								}
							}
							checkClose(t, name+" forward vs Dtrsm", n, x, fwd)
							y := slices.Clone(b)
							withVec(asm, func() { solveUpperNarrow(n, r, u, ldu, y, ldb) })
							checkClose(t, name+" back vs Dtrsm", n, y, back)
							if backBits == nil {
								backBits = y
							}
							for i, v := range y {
								if v != backBits[i] && !(math.IsNaN(v) && math.IsNaN(backBits[i])) {
									t.Fatalf("%s %s GOMAXPROCS %d: back x[%d] = %v, Go twin at GOMAXPROCS 1 %v", name, vecName(asm), procs, i, v, backBits[i])
								}
							}
						}
					}
				}
			}
		}
	}
	run(t, "default")
	withSmallBlocks(t, func() { run(t, "small") })
}

// checkClose compares x with want entrywise against trsvTol(n)·max|want|;
// padding between rows of B (NaN-free here) must be untouched, which the
// exact comparison of the entries beyond r would show as a difference.
func checkClose(t *testing.T, what string, n int, x, want []float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range x {
		if d := math.Abs(x[i] - want[i]); !(d <= trsvTol(n)*scale) {
			t.Fatalf("%s: x[%d] = %v, want %v (|Δ| = %.3g > %.3g)", what, i, x[i], want[i], d, trsvTol(n)*scale)
		}
	}
}

// TestSymvTwin: with the AVX-512 panel kernel, Symv and SymvBatch agree
// with the Go loop (their twin) to the n·ε·Σ|a x| that bounds two sums of
// the same n products in different orders, fused or not (Higham, §3.1:
// each differs from the exact sum by at most γ_n·Σ|a x|, γ_n ≈ n·ε/…, half
// the bound each).
func TestSymvTwin(t *testing.T) {
	rnd := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{4, 8, 11, 12, 13, 19, 20, 27, 28, 36, 64, 67, 300, 1001} {
		lda := n + 3
		a, full := upperSymmetric(rnd, n, lda)
		xs := [][]float64{randSlice(rnd, n), randSlice(rnd, n)}
		ys := make([][][]float64, len(vecModes()))
		for m, v := range vecModes() {
			ys[m] = [][]float64{make([]float64, n), make([]float64, n)}
			withVec(v, func() { SymvBatch(n, a, lda, xs, ys[m]) })
			for j := range xs {
				checkSymProduct(t, fmt.Sprintf("%s n=%d vector %d", vecName(v), n, j), full, n, xs[j], ys[m][j])
			}
			y := make([]float64, n)
			withVec(v, func() { Symv(n, a, lda, xs[0], y, nil) })
			checkSymProduct(t, fmt.Sprintf("Symv %s n=%d", vecName(v), n), full, n, xs[0], y)
			for j, x := range xs {
				for i := 0; i < n; i++ {
					m1 := 0.0
					for k := 0; k < n; k++ {
						m1 += math.Abs(full[i*n+k] * x[k])
					}
					if d := math.Abs(ys[m][j][i] - ys[0][j][i]); d > float64(n)*0x1p-52*m1 {
						t.Fatalf("n=%d vector %d: y[%d] = %v (%s), %v (Go loop)", n, j, i, ys[m][j][i], vecName(v), ys[0][j][i])
					}
				}
			}
		}
	}
}

// TestSymvGOMAXPROCS: Symv and SymvBatch give the same bits at GOMAXPROCS
// 1, 2 and 3 (the split of A's triangle depends on n only), with either
// kernel.
func TestSymvGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rnd := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{130, 257, 600, 1031} {
		a, _ := upperSymmetric(rnd, n, n+1)
		xs := [][]float64{randSlice(rnd, n), randSlice(rnd, n), randSlice(rnd, n)}
		for _, asm := range vecModes() {
			var want [][]float64
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				ys := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
				withVec(asm, func() {
					SymvBatch(n, a, n+1, xs, ys[:3])
					Symv(n, a, n+1, xs[0], ys[3], nil)
				})
				if want == nil {
					want = ys
				}
				for j := range ys {
					for i := range ys[j] {
						if ys[j][i] != want[j][i] {
							t.Fatalf("n=%d %s GOMAXPROCS %d: vector %d y[%d] = %v, GOMAXPROCS 1 %v", n, vecName(asm), procs, j, i, ys[j][i], want[j][i])
						}
					}
				}
			}
		}
	}
}

// TestWideSolves: SolveUpperTGo and SolveUpperGo with more right-hand
// sides than narrowRHS (GEMM between row blocks, diagonal blocks by
// solveDiagT/solveDiag) agree with gonum's Dtrsm, with strides beyond n
// and r, on every kernel set's level-2 kernels.
func TestWideSolves(t *testing.T) {
	rnd := rand.New(rand.NewPCG(29, 30))
	var g gonum.Implementation
	run := func(t *testing.T, blocks string) {
		for _, n := range []int{1, 9, 17, 65, 257, 300} {
			ldu := n + 2
			u := wellConditionedUpper(rnd, n, ldu)
			for _, r := range []int{narrowRHS + 1, 12, 67} {
				ldb := r + 3
				b := make([]float64, (n-1)*ldb+r)
				for i := range b {
					b[i] = 2*rnd.Float64() - 1
				}
				fwd, back := slices.Clone(b), slices.Clone(b)
				g.Dtrsm(blas.Left, blas.Upper, blas.Trans, blas.NonUnit, n, r, 1, u, ldu, fwd, ldb)
				g.Dtrsm(blas.Left, blas.Upper, blas.NoTrans, blas.NonUnit, n, r, 1, u, ldu, back, ldb)
				for _, v := range vecModes() {
					name := fmt.Sprintf("n=%d r=%d %s (%s blocks)", n, r, vecName(v), blocks)
					x, y := slices.Clone(b), slices.Clone(b)
					withVec(v, func() {
						SolveUpperTGo(n, r, u, ldu, x, ldb)
						SolveUpperGo(n, r, u, ldu, y, ldb)
					})
					checkClose(t, name+" forward vs Dtrsm", n, x, fwd)
					checkClose(t, name+" back vs Dtrsm", n, y, back)
				}
			}
		}
	}
	run(t, "default")
	withSmallBlocks(t, func() { run(t, "small") })
}
