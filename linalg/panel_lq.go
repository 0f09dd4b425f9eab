package linalg

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// panelLeaf is the number of rows panelLQ factors unblocked (leafLQ);
// above it the rows are halved (a 48-row panel into leaves of 12). On
// 48×5000 panels 12 took 0.85-0.9× the CPU time of 8 and 16, 0.8× that of
// 4 (BenchmarkPanelLQ).
const panelLeaf = 12

// panelWork holds panelLQ's scratch.
type panelWork struct {
	work []float64 // Dgelq2's
	w, y []float64 // k×k products
}

// panelLQ factors the k×m panel P (k ≤ m, row-major, stride lda) as
// P = L·Q, Q = H₁⋯H_k = I − VᵀTV, as gonum's Dgelqf followed by Dlarft:
// L is left in P's lower triangle, the reflectors in the k×m v (stride m)
// with their unit diagonal and the zeros before it explicit, their factors
// in tau and the upper triangular T in the k×k t (stride k, lower triangle
// zero). It is the recursive QR of Elmroth and Gustavson ("Applying
// recursion to serial and parallel QR factorization leads to better
// performance", IBM J. Res. Dev. 44, 2000) by rows: the top half of the
// rows is factored, P₂ ← P₂(I − V₁ᵀT₁V₁) for the bottom half P₂, the
// bottom half is factored, and T₁₂ = −T₁(V₁V₂ᵀ)T₂ joins the two T. The
// products run through bandGemm, so on the band reduction's panels (48
// rows, thousands of columns) the flops are GEMM's except those of the
// panelLeaf-row leaves.
func panelLQ(k, m int, p []float64, lda int, v, t, tau []float64, pw *panelWork) {
	clear(t[:k*k])
	pw.w = grow(pw.w, k*k)
	pw.y = grow(pw.y, k*k)
	panelLQRows(0, k, k, m, p, lda, v, t, tau, pw)
}

// panelLQRows factors rows r0..r1 of panelLQ's panel from column r0 on,
// rows r0..r1 of v and tau, and the diagonal block r0..r1 of t.
func panelLQRows(r0, r1, k, m int, p []float64, lda int, v, t, tau []float64, pw *panelWork) {
	rows, cols := r1-r0, m-r0
	if rows <= panelLeaf {
		pw.work = grow(pw.work, rows)
		leafLQ(rows, cols, p[r0*lda+r0:], lda, tau[r0:r1], pw.work)
		for r := r0; r < r1; r++ {
			row := v[r*m : (r+1)*m]
			clear(row[:r])
			row[r] = 1
			copy(row[r+1:], p[r*lda+r+1:r*lda+m])
		}
		lapackgonum.Implementation{}.Dlarft(lapack.Forward, lapack.RowWise, cols, rows, v[r0*m+r0:], m, tau[r0:r1], t[r0*k+r0:], k)
		return
	}
	h := rows / 2
	if h > panelLeaf {
		h = h / panelLeaf * panelLeaf
	}
	mid := r0 + h
	k2 := r1 - mid
	panelLQRows(r0, mid, k, m, p, lda, v, t, tau, pw)
	// P₂ ← P₂ − (P₂V₁ᵀ)T₁V₁, V₁ zero left of column r0.
	p2, v1 := p[mid*lda+r0:], v[r0*m+r0:]
	w, y := pw.w[:k2*h], pw.y[:k2*h]
	bandGemm(false, true, k2, h, cols, 1, p2, lda, v1, m, 0, w, h)
	bandGemm(false, false, k2, h, h, 1, w, h, t[r0*k+r0:], k, 0, y, h)
	bandGemm(false, false, k2, cols, h, -1, y, h, v1, m, 1, p2, lda)
	panelLQRows(mid, r1, k, m, p, lda, v, t, tau, pw)
	// T₁₂ = −T₁(V₁V₂ᵀ)T₂, V₂ zero left of column mid.
	w, y = pw.w[:h*k2], pw.y[:h*k2]
	bandGemm(false, true, h, k2, m-mid, 1, v[r0*m+mid:], m, v[mid*m+mid:], m, 0, w, k2)
	bandGemm(false, false, h, k2, h, -1, t[r0*k+r0:], k, w, k2, 0, y, k2)
	bandGemm(false, false, h, k2, k2, 1, y, k2, t[mid*k+mid:], k, 0, t[r0*k+mid:], k)
}

// leafLQ is gonum's Dgelq2 (the unblocked LQ of the rows×cols a, rows ≤
// cols, stride lda; work of length rows) with reflectors by larfg.
func leafLQ(rows, cols int, a []float64, lda int, tau, work []float64) {
	var lp lapackgonum.Implementation
	for i := 0; i < rows; i++ {
		a[i*lda+i], tau[i] = larfg(cols-i, a[i*lda+i], a[i*lda+min(i+1, cols-1):i*lda+cols])
		if i < rows-1 {
			aii := a[i*lda+i]
			a[i*lda+i] = 1
			lp.Dlarf(blas.Right, rows-i-1, cols-i, a[i*lda+i:], 1, tau[i], a[(i+1)*lda+i:], lda, work)
			a[i*lda+i] = aii
		}
	}
}

// larfg is gonum's Dlarfg(n, alpha, x, 1) with ‖x‖ as the square root of
// a plain sum of squares where that sum is far from underflow and
// overflow (Dnrm2 scales every term, several times the cost), Dlarfg
// itself otherwise.
func larfg(n int, alpha float64, x []float64) (beta, tau float64) {
	if n <= 1 {
		return alpha, 0
	}
	x = x[:n-1]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * x[i]
		s1 += x[i+1] * x[i+1]
		s2 += x[i+2] * x[i+2]
		s3 += x[i+3] * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * x[i]
	}
	ss := (s0 + s1) + (s2 + s3)
	if !(ss >= 0x1p-900 && ss <= 0x1p900) {
		return lapackgonum.Implementation{}.Dlarfg(n, alpha, x, 1)
	}
	beta = -math.Copysign(math.Hypot(alpha, math.Sqrt(ss)), alpha)
	tau = (beta - alpha) / beta
	gonum.Implementation{}.Dscal(n-1, 1/(alpha-beta), x, 1)
	return beta, tau
}
