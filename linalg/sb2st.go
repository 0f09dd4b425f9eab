package linalg

import (
	"context"
	"fmt"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/linalg/internal/sb2st"
)

// bandMatrix is a symmetric band matrix of bandwidth b in LAPACK's lower
// band storage with room for the bulge: column j holds A[j+d, j] at
// ab[j·ld+d] for d < ld = 2b. A block of rows r0+p, columns r0+q with
// p − q ∈ [0, ld) is then the column-major matrix at ab[r0·ld+…] with
// stride ld−1, which is how the sweep kernels see the diagonal blocks
// (offset 0) and the blocks below them (offset b).
type bandMatrix struct {
	n, b, ld int
	ab       []float64
	// asm selects the AVX-512 kernels of package internal/sb2st, used with the
	// AVX-512 GEMM kernels (FENCHEL_KERNELS picks the summation order).
	asm bool
}

// bandFromRows copies the band of width b of the row-major upper triangle
// a (stride lda), row j's columns j..j+b, into band storage.
func bandFromRows(n, b int, a []float64, lda int) bandMatrix {
	bm := bandMatrix{n: n, b: b, ld: 2 * b, ab: make([]float64, n*2*b),
		asm: sb2st.Built && bandAsmAllowed && kernel64 != nil && kernel64.mr == 12}
	for j := 0; j < n; j++ {
		copy(bm.ab[j*bm.ld:j*bm.ld+min(b+1, n-j)], a[j*lda+j:j*lda+min(j+b+1, n)])
	}
	return bm
}

// bandAsmAllowed = false makes the bulge chasing run its Go loops (tests).
var bandAsmAllowed = true

// sweepPoll is how many sweeps run between checks of ctx.
const sweepPoll = 64

// tridiagonalize reduces the band matrix to symmetric tridiagonal form by
// Householder bulge chasing, as LAPACK dsytrd_sb2st with its kernels
// dsb2st_kernels (stage two of dsytrd_2stage; Haidar, Ltaief and Dongarra,
// SC 2011), writing the diagonal to d and the off-diagonal to e. The
// reflectors are not kept (eigenvalues only).
//
// Sweep st annihilates column st below the subdiagonal with a reflector of
// length ≤ b, applies it to the diagonal block (rows st+1..st+b) from both
// sides and to the block below from the right, which fills that block's
// lower triangle (the bulge); a new reflector annihilates the bulge's first
// column, and the chase moves b rows down until it leaves the matrix. A
// step works on b columns of the band (a few KB, in L1), so the sweeps run
// on one goroutine: a pipeline of sweeps over two goroutines, each sweep
// waiting on its predecessor every few µs, ran 3× slower on a shared
// two-core machine than one goroutine.
func (bm bandMatrix) tridiagonalize(ctx context.Context, d, e []float64) error {
	n, b := bm.n, bm.b
	sweeps := n - 2
	if b < 2 {
		sweeps = 0
	}
	v, w := make([]float64, b), make([]float64, b)
	for st := 0; st < sweeps; st++ {
		if st%sweepPoll == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("linalg: bulge chasing interrupted at sweep %d of %d: %w", st, sweeps, err)
			}
		}
		bm.sweep(st, v, w)
	}
	for j := 0; j < n; j++ {
		d[j] = bm.ab[j*bm.ld]
		if j+1 < n {
			e[j] = bm.ab[j*bm.ld+1]
		}
	}
	return nil
}

// sweep runs sweep st (dsb2st_kernels types 1, 2 and 3 in turn), with v
// and w of length ≥ b as scratch.
func (bm bandMatrix) sweep(st int, v, w []float64) {
	n, b, ld := bm.n, bm.b, bm.ld
	ab := bm.ab
	var lp lapackgonum.Implementation
	r0 := st + 1
	length := min(b, n-r0)
	// Type 1: the reflector that annihilates column st below the subdiagonal.
	col := ab[st*ld+1 : st*ld+1+length]
	beta, tau := lp.Dlarfg(length, col[0], col[1:], 1)
	v[0] = 1
	copy(v[1:length], col[1:])
	col[0] = beta
	clear(col[1:])
	for {
		if tau != 0 {
			bm.symReflect(length, ab[r0*ld:], ld-1, v[:length], tau, w)
		}
		rb := r0 + b
		if rb >= n {
			return
		}
		rows := min(b, n-rb)
		below := ab[r0*ld+b:]
		// Type 2: the reflector from the right fills the block below; the
		// next one annihilates the bulge's first column and is applied
		// from the left (type 3 is the next step's symReflect).
		if tau != 0 {
			bm.rightReflect(rows, length, below, ld-1, v[:length], tau, w)
		}
		beta, tau = lp.Dlarfg(rows, below[0], below[1:rows], 1)
		below[0] = beta
		v[0] = 1
		copy(v[1:rows], below[1:rows])
		clear(below[1:rows])
		if tau != 0 && length > 1 {
			bm.leftReflect(rows, length-1, below[ld-1:], ld-1, v[:rows], tau)
		}
		if rows < 2 {
			return
		}
		r0, length = rb, rows
	}
}

// symReflect sets the symmetric m×m D to HDH for H = I − τvvᵀ, D's lower
// triangle column-major with stride ldd (dlarfy): w = τDv, w −= ½τ(wᵀv)v,
// D −= vwᵀ + wvᵀ.
func (bm bandMatrix) symReflect(m int, dm []float64, ldd int, v []float64, tau float64, w []float64) {
	w, v = w[:m], v[:m]
	clear(w)
	if bm.asm {
		_ = dm[(m-1)*ldd+m-1]
		sb2st.SymvLower(m, &dm[0], ldd, &v[0], &w[0])
		reflectorUpdate(w, v, tau)
		sb2st.Syr2Lower(m, &dm[0], ldd, &v[0], &w[0])
		return
	}
	for q := 0; q < m; q++ {
		col := dm[q*ldd+q : q*ldd+m]
		vq := v[q]
		vv, ww := v[q+1:], w[q+1:]
		cc := col[1:]
		cc, ww = cc[:len(vv)], ww[:len(vv)]
		s0, s1 := col[0]*vq, 0.0
		p := 0
		for ; p+2 <= len(cc); p += 2 {
			c0, c1 := cc[p], cc[p+1]
			s0 += c0 * vv[p]
			s1 += c1 * vv[p+1]
			ww[p] += c0 * vq
			ww[p+1] += c1 * vq
		}
		if p < len(cc) {
			s0 += cc[p] * vv[p]
			ww[p] += cc[p] * vq
		}
		w[q] += s0 + s1
	}
	reflectorUpdate(w, v, tau)
	for q := 0; q < m; q++ {
		col := dm[q*ldd+q : q*ldd+m]
		vq, wq := v[q], w[q]
		vv, ww := v[q:], w[q:]
		vv, ww = vv[:len(col)], ww[:len(col)]
		for p := range col {
			col[p] -= vv[p]*wq + ww[p]*vq
		}
	}
}

// reflectorUpdate sets w = τw, then w −= ½τ(wᵀv)v.
func reflectorUpdate(w, v []float64, tau float64) {
	v = v[:len(w)]
	dot := 0.0
	for p := range w {
		w[p] *= tau
		dot += w[p] * v[p]
	}
	alpha := -0.5 * tau * dot
	for p := range w {
		w[p] += alpha * v[p]
	}
}

// rightReflect sets the rows×cols B (column-major, stride ldb) to
// B(I − τvvᵀ), using w (rows) for Bv; four columns per pass over w.
func (b bandMatrix) rightReflect(rows, cols int, bm []float64, ldb int, v []float64, tau float64, w []float64) {
	w = w[:rows]
	if b.asm {
		_, _ = bm[(cols-1)*ldb+rows-1], v[cols-1]
		sb2st.Gemv(rows, cols, &bm[0], ldb, &v[0], &w[0])
		sb2st.Ger(rows, cols, &bm[0], ldb, &v[0], &w[0], -tau)
		return
	}
	clear(w)
	q := 0
	for ; q+4 <= cols; q += 4 {
		c0 := bm[q*ldb : q*ldb+rows]
		c1 := bm[(q+1)*ldb : (q+1)*ldb+rows]
		c2 := bm[(q+2)*ldb : (q+2)*ldb+rows]
		c3 := bm[(q+3)*ldb : (q+3)*ldb+rows]
		v0, v1, v2, v3 := v[q], v[q+1], v[q+2], v[q+3]
		for p := range w {
			w[p] += c0[p]*v0 + c1[p]*v1 + c2[p]*v2 + c3[p]*v3
		}
	}
	for ; q < cols; q++ {
		col := bm[q*ldb : q*ldb+rows]
		vq := v[q]
		for p := range w {
			w[p] += col[p] * vq
		}
	}
	q = 0
	for ; q+4 <= cols; q += 4 {
		c0 := bm[q*ldb : q*ldb+rows]
		c1 := bm[(q+1)*ldb : (q+1)*ldb+rows]
		c2 := bm[(q+2)*ldb : (q+2)*ldb+rows]
		c3 := bm[(q+3)*ldb : (q+3)*ldb+rows]
		s0, s1, s2, s3 := tau*v[q], tau*v[q+1], tau*v[q+2], tau*v[q+3]
		for p, wp := range w {
			c0[p] -= s0 * wp
			c1[p] -= s1 * wp
			c2[p] -= s2 * wp
			c3[p] -= s3 * wp
		}
	}
	for ; q < cols; q++ {
		col := bm[q*ldb : q*ldb+rows]
		s := tau * v[q]
		for p, wp := range w {
			col[p] -= s * wp
		}
	}
}

// leftReflect sets the rows×cols B (column-major, stride ldb) to
// (I − τvvᵀ)B, four columns per pass over v.
func (b bandMatrix) leftReflect(rows, cols int, bm []float64, ldb int, v []float64, tau float64) {
	v = v[:rows]
	if b.asm {
		_ = bm[(cols-1)*ldb+rows-1]
		sb2st.DotAxpyCols(rows, cols, &bm[0], ldb, &v[0], tau)
		return
	}
	q := 0
	for ; q+4 <= cols; q += 4 {
		c0 := bm[q*ldb : q*ldb+rows]
		c1 := bm[(q+1)*ldb : (q+1)*ldb+rows]
		c2 := bm[(q+2)*ldb : (q+2)*ldb+rows]
		c3 := bm[(q+3)*ldb : (q+3)*ldb+rows]
		var s0, s1, s2, s3 float64
		for p, vp := range v {
			s0 += c0[p] * vp
			s1 += c1[p] * vp
			s2 += c2[p] * vp
			s3 += c3[p] * vp
		}
		s0, s1, s2, s3 = tau*s0, tau*s1, tau*s2, tau*s3
		for p, vp := range v {
			c0[p] -= s0 * vp
			c1[p] -= s1 * vp
			c2[p] -= s2 * vp
			c3[p] -= s3 * vp
		}
	}
	for ; q < cols; q++ {
		col := bm[q*ldb : q*ldb+rows]
		s := 0.0
		for p, vp := range v {
			s += col[p] * vp
		}
		s *= tau
		for p, vp := range v {
			col[p] -= s * vp
		}
	}
}
