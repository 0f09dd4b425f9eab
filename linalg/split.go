package linalg

import "github.com/fenchel-ml/fenchel/internal/parallel"

// splitWorkers is the number of goroutines splitGemm and splitSyrk share a
// large product among; ≤ 1 means no split. The OpenBLAS backend sets it when
// it runs OpenBLAS single-threaded (see openblas.go).
var splitWorkers int

// splitAlign keeps chunk boundaries on whole 64-byte lines of C for float32.
const splitAlign = 16

// splitGemm runs C = alpha·op(A)·op(B) + beta·C as splitWorkers independent
// products on disjoint blocks of C (blocksOfC). call(m', n', a', b', c')
// computes one block with the caller's transposes, k, strides, alpha and
// beta; a', b', c' start at the block.
func splitGemm[T Float](tA, tB bool, m, n, k, lda, ldb, ldc int, a, b, c []T, call func(m, n int, a, b, c []T)) {
	w := splitWorkers
	if m*n*k < parallelFlops {
		w = 1
	}
	blocksOfC(tA, tB, m, n, lda, ldb, ldc, w, splitAlign, splitAlign, a, b, c, call)
}

// blocksOfC splits the m×n C of C = op(A)·op(B) along its longer side into
// at most workers chunks, aligned to alignRows rows or alignCols columns,
// and runs call on each block in its own goroutine, returning when all are
// done; with one chunk, call runs on the whole C in the calling goroutine.
// Each block owns its part of C, so no other synchronisation is needed.
// call(m', n', a', b', c') gets the block's sizes and op(A), op(B), C
// starting at the block (strides unchanged).
func blocksOfC[T Float](tA, tB bool, m, n, lda, ldb, ldc, workers, alignRows, alignCols int, a, b, c []T, call func(m, n int, a, b, c []T)) {
	splitBlocks(tA, tB, m, n, lda, ldb, ldc, workers, alignRows, alignCols, a, b, c, call, true)
}

// splitBlocks is blocksOfC; with concurrent false it runs the same blocks
// one after another on the calling goroutine (the same result, for a caller
// that already has a core to itself).
func splitBlocks[T Float](tA, tB bool, m, n, lda, ldb, ldc, workers, alignRows, alignCols int, a, b, c []T, call func(m, n int, a, b, c []T), concurrent bool) {
	byCols := n >= m
	long, align := m, alignRows
	if byCols {
		long, align = n, alignCols
	}
	chunk := (long + max(workers, 1) - 1) / max(workers, 1)
	chunk = (chunk + align - 1) / align * align
	if chunk >= long {
		call(m, n, a, b, c)
		return
	}
	block := func(t int) {
		lo, hi := t*chunk, min((t+1)*chunk, long)
		if byCols {
			bo := lo // B is k×n: column offset; Bᵀ stored n×k: row offset
			if tB {
				bo = lo * ldb
			}
			call(m, hi-lo, a, b[bo:], c[lo:])
			return
		}
		ao := lo * lda // A is m×k: row offset; Aᵀ stored k×m: column offset
		if tA {
			ao = lo
		}
		call(hi-lo, n, a[ao:], b, c[lo*ldc:])
	}
	blocks := (long + chunk - 1) / chunk
	if !concurrent {
		for t := 0; t < blocks; t++ {
			block(t)
		}
		return
	}
	parallel.Run(blocks, block)
}

// splitSyrk runs the upper-triangle SYRK C = alpha·op(A)·op(A)ᵀ + beta·C
// (op(A) n×k: A n×k if !trans, k×n if trans) on splitWorkers goroutines.
// Worker j owns rows [r_j, r_{j+1}) of the triangle, chosen so that each
// owns about the same area: the diagonal block by syrk(n', a', c') and the
// block to its right by gemm(tA, tB, m', n', a', b', c', ldb) (same k, lda,
// ldc, alpha, beta as the caller). lower = !upper is not split.
func splitSyrk[T Float](upper, trans bool, n, k, lda, ldc int, a, c []T,
	syrk func(n int, a, c []T), gemm func(tA, tB bool, m, n int, a, b, c []T, ldb int)) {
	w := splitWorkers
	if w <= 1 || !upper || n*n*k < 2*parallelFlops || n < 2*w {
		syrk(n, a, c)
		return
	}
	bounds := triangleSplit(n, w)
	// rowOff is where row i of op(A) starts in a.
	rowOff := func(i int) int {
		if trans {
			return i // column i of the k×n A
		}
		return i * lda
	}
	parallel.Bounds(bounds, func(lo, hi int) {
		syrk(hi-lo, a[rowOff(lo):], c[lo*ldc+lo:])
		if hi < n {
			// C[lo:hi, hi:n] = op(A)[lo:hi]·op(A)[hi:n]ᵀ: with A n×k that is
			// A_lo·(A_hi)ᵀ; with A k×n it is (A[:,lo:hi])ᵀ·A[:,hi:n].
			gemm(trans, !trans, hi-lo, n-hi, a[rowOff(lo):], a[rowOff(hi):], c[lo*ldc+hi:], lda)
		}
	})
}

// triangleSplit returns 0 = r_0 < r_1 < … < r_w = n such that the rows
// [r_j, r_{j+1}) of an n×n upper triangle hold about equal areas (row i holds
// n − i entries); empty ranges are dropped.
func triangleSplit(n, w int) []int {
	total := n * (n + 1) / 2
	bounds := []int{0}
	area := 0 // entries in rows before i
	for i := 0; i < n && len(bounds) < w; i++ {
		// Cut before row i once the rows before it plus half of it reach
		// the next share, so a cut lands at the nearer row boundary.
		if i > bounds[len(bounds)-1] && 2*(2*area+(n-i))*w >= 4*len(bounds)*total {
			bounds = append(bounds, i)
		}
		area += n - i
	}
	return append(bounds, n)
}
