package linalg

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/linalg/internal/sy2sb"
)

// bandSymmAsm = false makes bandSymm take every product through Gemm
// (tests).
var bandSymmAsm = true

// symmBlock is the height of the row blocks of bandSymm's tasks: each task
// reads its block row and block column of the trailing matrix once (a
// variable so tests can shrink it). A multiple of sy2sb's twelve rows, so
// that only the last block row and block column leave rows to Gemm.
var symmBlock = 264

// bandWork holds the O(n·nb) buffers of symToBand.
type bandWork struct {
	tau, lqWork []float64
	t, s        []float64 // k×k: the block reflector's T, and Tᵀ·V·Xᵀ
	v           []float64 // k×m: the reflectors V (explicit unit diagonal)
	x           []float64 // m×k: Xᵀ, then Wᵀ
	z           []float64 // m×k: Zᵀ = (VA₂₂)ᵀ
	vw, wv      []float64 // 2k×m: [V; W] and [W; V]
	diag        [][]float64
	col         []float64 // the column parts of bandSymm's tasks
	colOff      []int
	vp          []float64 // Vᵀ packed for sy2sb's kernel
	panel       panelWork
}

// symToBand reduces the n×n symmetric matrix in the upper triangle of the
// row-major a (stride lda) to a symmetric band matrix of bandwidth nb by
// orthogonal similarity, as LAPACK dsytrd_sy2sb (stage one of dsytrd_2stage;
// Haidar, Ltaief and Dongarra, "Parallel reduction to condensed forms for
// symmetric eigenvalue problems using aggregated fine-grained and
// memory-aware kernels", SC 2011). The band is left in rows j, columns
// j..j+nb of a; the rest of a is destroyed.
//
// In the row-major upper triangle every column of LAPACK's lower-triangle
// algorithm is a row: for each panel of nb rows i..i+nb−1, the part right
// of the band (columns i+nb on, m of them) is factored P = L·Q (LQ, so that
// Pᵀ = Qᵀ·Lᵀ is LAPACK's panel QR), L stays in the band, and the trailing
// matrix A₂₂ (rows and columns i+nb on) becomes QA₂₂Qᵀ with the block
// reflector Qᵀ = I − VᵀTV (V the k×m reflector rows). With Z = VA₂₂ and
// X = TᵀZ (the rows of A₂₂VᵀT), W = X − ½(TᵀVXᵀ)V gives
// QA₂₂Qᵀ = A₂₂ − VᵀW − WᵀV: one symmetric product (bandSymm) and one
// rank-2k update (bandSyr2k) per panel, both through bandGemm. The panel
// is factored by panelLQ; each panel's update does the next panel's rows
// first and factors them on their own goroutine while it updates the rest
// (look-ahead), so the factorisation runs beside the GEMMs.
func symToBand(ctx context.Context, n int, a []float64, lda, nb int, w *bandWork) error {
	var lp lapackgonum.Implementation
	var g gonum.Implementation
	factored := false // this panel factored by the look-ahead of the last
	for i := 0; n-i-nb > 1; i += nb {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("linalg: band reduction interrupted at row %d of %d: %w", i, n, err)
		}
		m := n - i - nb
		k := min(nb, m)
		p := a[i*lda+i+nb:]
		w.tau = grow(w.tau, k)
		v := grow(w.v, k*m)
		w.v = v
		t := grow(w.t, k*k)
		w.t = t
		if factored {
			factored = false
		} else if k == nb {
			panelLQ(k, m, p, lda, v, t, w.tau, &w.panel)
		} else {
			// The last panel, wider than it is long (m < nb).
			if len(w.lqWork) < nb {
				var q [1]float64
				lp.Dgelqf(nb, m, p, lda, w.tau, q[:], -1)
				w.lqWork = make([]float64, max(int(q[0]), nb))
			}
			lp.Dgelqf(nb, m, p, lda, w.tau, w.lqWork, len(w.lqWork))
			// V with its unit diagonal and zeros explicit.
			for r := 0; r < k; r++ {
				row := v[r*m : (r+1)*m]
				clear(row[:r])
				row[r] = 1
				copy(row[r+1:], p[r*lda+r+1:r*lda+m])
			}
			lp.Dlarft(lapack.Forward, lapack.RowWise, m, k, v, m, w.tau, t, k)
		}
		c := a[(i+nb)*lda+i+nb:]
		x := grow(w.x, m*k)
		w.x = x
		// Xᵀ = (VA₂₂)ᵀT, S = Tᵀ(VXᵀ), Wᵀ = Xᵀ − ½VᵀS, all m×k.
		z := grow(w.z, m*k)
		w.z = z
		bandSymm(m, k, c, lda, v, z, w)
		// Xᵀ = ZᵀT through Gemm (on all cores, where Dtrmm runs on one),
		// T's lower triangle cleared.
		for r := 1; r < k; r++ {
			clear(t[r*k : r*k+r])
		}
		bandGemm(false, false, m, k, k, 1, z, k, t, k, 0, x, k)
		s := grow(w.s, k*k)
		w.s = s
		bandGemm(false, false, k, k, m, 1, v, m, x, k, 0, s, k)
		g.Dtrmm(blas.Left, blas.Upper, blas.Trans, blas.NonUnit, k, k, 1, t, k, s, k)
		bandGemm(true, false, m, k, k, -0.5, v, m, s, k, 1, x, k)
		w.vw, w.wv = grow(w.vw, 2*k*m), grow(w.wv, 2*k*m)
		// [V; W] and [W; V] by column ranges on all cores.
		parallel.Ranges(0, m, bandCopyWorkers(m*k), func(lo, hi int) {
			for q := 0; q < k; q++ {
				copy(w.vw[q*m+lo:q*m+hi], v[q*m+lo:q*m+hi])
				copy(w.wv[(k+q)*m+lo:(k+q)*m+hi], v[q*m+lo:q*m+hi])
			}
			for r := lo; r < hi; r++ {
				for q, xv := range x[r*k : (r+1)*k] {
					w.vw[(k+q)*m+r] = xv
					w.wv[q*m+r] = xv
				}
			}
		})
		// Look-ahead: the next panel (rows 0..nb of C right of the band)
		// is updated first and factored on its own goroutine while the
		// rest of C is updated.
		if next := m - nb; k == nb && next >= nb && next > 1 && lookAhead {
			bandGemm(true, false, nb, m, 2*k, -1, w.vw, m, w.wv, m, 1, c, lda)
			done := make(chan struct{})
			go func() {
				w.tau = grow(w.tau, nb)
				w.v = grow(w.v, nb*next)
				w.t = grow(w.t, nb*nb)
				panelLQ(nb, next, c[nb:], lda, w.v, w.t, w.tau, &w.panel)
				close(done)
			}()
			bandSyr2kFrom(nb, m, 2*k, c, lda, w.vw, w.wv)
			<-done
			factored = true
			continue
		}
		bandSyr2k(m, 2*k, c, lda, w.vw, w.wv)
	}
	return nil
}

// lookAhead = false makes symToBand factor each panel after the whole
// trailing update (tests).
var lookAhead = true

// bandSymm sets zt (m×k) = C·vᵀ for the k×m row-major v and the m×m
// symmetric C held in the upper triangle of the row-major c (stride ldc).
// Task b owns block row J = [j0, j1) of symmBlock rows: Zᵀ_J = C_JJ·V_Jᵀ
// (the diagonal block symmetrised into scratch) plus, for each tile C_JT
// of its stored block row right of the diagonal, C_JT·V_Tᵀ into Zᵀ_J and
// then, with the tile in cache, C_JTᵀ·V_Jᵀ into the task's own rows of
// w.col. With the AVX-512 kernels and k a multiple of 16 all three run on
// sy2sb's kernels, which read twelve rows (MulA12x16; SetA12x16 on the
// diagonal block, which starts Zᵀ_J) or twelve columns (SetAt12x16, which
// writes w.col without its being cleared) of the tile where they lie
// against Vᵀ packed once, and Gemm takes only the rows left over (none but
// in the last block row and column: symmBlock is a multiple of twelve);
// otherwise all are Gemm calls. Each
// stored entry of C is read from memory once and never packed, where a
// task per block row and block column read it twice and packed it twice:
// at m = 4000, k = 32 that took 1.3-1.5× the CPU time (BenchmarkBandSymm).
// The tasks take the block rows in order as they come free (the first,
// longest, first: rows b, b+2, … to task b of two would give the first
// 10 % more tiles than the second at m = 5000), and the column parts are
// added to zt afterwards, block by block in order, so every entry of zt is
// summed in the same order however the rows fall to the tasks.
// w.col holds about m²·k/(2·symmBlock) values (12 MB at m = 5000, k = 32).
func bandSymm(m, k int, c []float64, ldc int, v, zt []float64, w *bandWork) {
	blocks := (m + symmBlock - 1) / symmBlock
	workers := 1
	if kernel64 != nil || SerialGemm[float64]() {
		workers = min(blocks, runtime.GOMAXPROCS(0))
	}
	for len(w.diag) < workers {
		w.diag = append(w.diag, nil)
	}
	// Block b's column parts are rows j1..m of its slice of w.col.
	w.colOff = w.colOff[:0]
	total := 0
	for b := 0; b < blocks; b++ {
		w.colOff = append(w.colOff, total)
		total += (m - min((b+1)*symmBlock, m)) * k
	}
	w.col = grow(w.col, total)
	gemm := bandGemm
	if workers > 1 {
		gemm = bandGemmSerial
	}
	// direct: the tiles' products by sy2sb's kernels, with Vᵀ packed in
	// 16-wide panels (w.vp[(q·m + p)·16 + j] = V[q+j, p], q a multiple of 16).
	direct := sy2sb.Built && bandSymmAsm && kernel64 != nil && kernel64.mr == 12 && k%16 == 0
	if direct {
		w.vp = grow(w.vp, k*m)
		for q := 0; q < k; q += 16 {
			panel := w.vp[q*m : (q+16)*m]
			for j := 0; j < 16; j++ {
				for p, x := range v[(q+j)*m : (q+j+1)*m] {
					panel[p*16+j] = x
				}
			}
		}
	}
	var nextBlock atomic.Int64
	parallel.Run(workers, func(wk int) {
		d := grow(w.diag[wk], symmBlock*symmBlock)
		w.diag[wk] = d
		for {
			b := int(nextBlock.Add(1) - 1)
			if b >= blocks {
				break
			}
			j0 := b * symmBlock
			j1 := min(j0+symmBlock, m)
			nj := j1 - j0
			zj := zt[j0*k:]
			// Diagonal block, both triangles: the stored rows, then the
			// lower triangle from them in 8×8 blocks (contiguous writes).
			for r := 0; r < nj; r++ {
				copy(d[r*nj+r:(r+1)*nj], c[(j0+r)*ldc+j0+r:(j0+r)*ldc+j1])
			}
			for qb := 0; qb < nj; qb += 8 {
				for rb := 0; rb <= qb; rb += 8 {
					for q := qb; q < min(qb+8, nj); q++ {
						dq := d[q*nj : q*nj+q]
						for r := rb; r < min(rb+8, q); r++ {
							dq[r] = d[r*nj+q]
						}
					}
				}
			}
			drows := 0
			if direct {
				// The symmetrised block twelve rows at a time, as the
				// tiles' rows below.
				drows = nj / 12 * 12
				for i0 := 0; i0 < drows; i0 += 12 {
					_ = d[(i0+11)*nj+nj-1]
					for q := 0; q < k; q += 16 {
						sy2sb.SetA12x16(nj, &d[i0*nj], nj, &w.vp[(q*m+j0*16)], &zj[i0*k+q], k)
					}
				}
			}
			if drows < nj {
				gemm(false, true, nj-drows, k, nj, 1, d[drows*nj:], nj, v[j0:], m, 0, zj[drows*k:], k)
			}
			col := w.col[w.colOff[b]:]
			for t0 := j1; t0 < m; t0 += symmBlock {
				t1 := min(t0+symmBlock, m)
				tile := c[j0*ldc+t0:]
				rows := 0
				if direct {
					// C_JT·V_Tᵀ twelve rows of the tile at a time.
					rows = nj / 12 * 12
					for i0 := 0; i0 < rows; i0 += 12 {
						_ = c[(j0+i0+11)*ldc+t1-1]
						for q := 0; q < k; q += 16 {
							sy2sb.MulA12x16(t1-t0, &c[(j0+i0)*ldc+t0], ldc, &w.vp[(q*m+t0*16)], &zj[i0*k+q], k)
						}
					}
				}
				if rows < nj {
					gemm(false, true, nj-rows, k, t1-t0, 1, tile[rows*ldc:], ldc, v[t0:], m, 1, zj[rows*k:], k)
				}
				out := col[(t0-j1)*k:]
				full := 0
				if direct {
					// The rows of C_JTᵀ are columns of the stored tile:
					// twelve of them at a time straight from c.
					full = (t1 - t0) / 12 * 12
					for i0 := 0; i0 < full; i0 += 12 {
						_ = c[(j0+nj-1)*ldc+t0+i0+11]
						for q := 0; q < k; q += 16 {
							sy2sb.SetAt12x16(nj, &c[j0*ldc+t0+i0], ldc, &w.vp[(q*m+j0*16)], &out[i0*k+q], k)
						}
					}
				}
				if full < t1-t0 {
					gemm(true, true, t1-t0-full, k, nj, 1, tile[full:], ldc, v[j0:], m, 0, out[full*k:], k)
				}
			}
		}
	})
	// Rows of zt by ranges on all cores, each row's parts in block order.
	parallel.Ranges(0, m, bandCopyWorkers(total), func(lo, hi int) {
		for b := 0; b < blocks; b++ {
			j1 := min((b+1)*symmBlock, m)
			r0 := max(lo, j1)
			if r0 >= hi {
				continue
			}
			col := w.col[w.colOff[b]+(r0-j1)*k : w.colOff[b]+(hi-j1)*k]
			z := zt[r0*k : hi*k]
			for i, x := range col {
				z[i] += x
			}
		}
	})
}

// bandCopyMin is the size of bandCopyWorkers' smallest parallel pass (a
// variable so tests can lower it).
var bandCopyMin = 1 << 15

// bandCopyWorkers is the number of goroutines for a pass of the band
// reduction over size values: one below bandCopyMin.
func bandCopyWorkers(size int) int {
	if size < bandCopyMin {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// bandGemm is Gemm through fenchel's kernels whenever this CPU has them,
// in the OpenBLAS build too: on the band reduction's shapes (a wide
// operand times 32 or 64 columns) SymEigenvaluesGo at n = 5000 took 7.7
// and 9.4 CPU-s with OpenBLAS's dgemm, 3.9 and 4.3 with fenchel's kernels
// (BenchmarkLAPACKEigenvalues, load 5-6); else through the installed
// backend.
func bandGemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if kernel64 != nil {
		Kernels{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// bandGemmSerial is bandGemm on the calling goroutine (GemmSerial).
func bandGemmSerial(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 || serialGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	GemmSerial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// bandSyr2k sets the upper triangle of the m×m c (stride ldc) to
// c − xᵀy for the kk×m row-major x and y, block column by block column
// (each block column one Gemm, which shares it among the cores); the lower
// part of each diagonal block is written too.
func bandSyr2k(m, kk int, c []float64, ldc int, x, y []float64) {
	bandSyr2kFrom(0, m, kk, c, ldc, x, y)
}

// bandSyr2kFrom is bandSyr2k on rows and columns r0..m of c.
func bandSyr2kFrom(r0, m, kk int, c []float64, ldc int, x, y []float64) {
	for j0 := r0; j0 < m; j0 += syr2kColumns {
		j1 := min(j0+syr2kColumns, m)
		bandGemm(true, false, j1-r0, j1-j0, kk, -1, x[r0:], m, y[j0:], m, 1, c[r0*ldc+j0:], ldc)
	}
}
