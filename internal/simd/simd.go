// Package simd holds the elementwise loops of the training step that Go does
// not vectorise, in amd64 assembly (AVX2) with a pure-Go twin for other
// architectures and -tags purego. Each function gives bit-for-bit the result
// of its Go twin (the *Go functions, which the tests compare against): the
// assembly does the same IEEE operations in the same order, lane by lane.
package simd

import "math"

// ReLUMask32 sets dst[i] = v[i] where x[i] > 0 and +0 elsewhere (also where
// x[i] is NaN), for i < len(x); dst and v must be at least as long as x.
// It is ReLU's forward pass (v = x) and its backward and tangent passes.
func ReLUMask32(dst, v, x []float32) {
	dst, v = dst[:len(x)], v[:len(x)]
	n := 0
	if useAsm && len(x) >= 8 {
		n = len(x) &^ 7
		reluMask32AVX2(&dst[0], &v[0], &x[0], n)
	}
	reluMask32Go(dst[n:], v[n:], x[n:])
}

// ReLUMask64 is ReLUMask32 for float64.
func ReLUMask64(dst, v, x []float64) {
	dst, v = dst[:len(x)], v[:len(x)]
	n := 0
	if useAsm && len(x) >= 4 {
		n = len(x) &^ 3
		reluMask64AVX2(&dst[0], &v[0], &x[0], n)
	}
	reluMask64Go(dst[n:], v[n:], x[n:])
}

// AddRows32 adds the rows of the rows×cols row-major matrix a to dst:
// dst[j] += a[0·cols+j] + a[1·cols+j] + … in that order (one rounding per
// addition, row by row, as the plain loop), for j < cols. It is a bias
// gradient: the column sums of dy.
func AddRows32(dst, a []float32, rows, cols int) { AddRowsLd32(dst, a, rows, cols, cols) }

// AddRowsLd32 is AddRows32 on a matrix whose rows are lda ≥ cols apart in a
// (a block of columns of a wider matrix), with the same bits per column.
func AddRowsLd32(dst, a []float32, rows, cols, lda int) {
	if rows == 0 || cols == 0 {
		return
	}
	dst, a = dst[:cols], a[:(rows-1)*lda+cols]
	n := 0
	if useAsm && cols >= 8 {
		n = cols &^ 7
		addRows32AVX2(&dst[0], &a[0], rows, lda, n)
	}
	if n < cols {
		for r := 0; r < rows; r++ {
			row := a[r*lda : r*lda+cols]
			for j := n; j < cols; j++ {
				dst[j] += row[j]
			}
		}
	}
}

// AddRows64 is AddRows32 for float64.
func AddRows64(dst, a []float64, rows, cols int) { AddRowsLd64(dst, a, rows, cols, cols) }

// AddRowsLd64 is AddRowsLd32 for float64.
func AddRowsLd64(dst, a []float64, rows, cols, lda int) {
	if rows == 0 || cols == 0 {
		return
	}
	dst, a = dst[:cols], a[:(rows-1)*lda+cols]
	n := 0
	if useAsm && cols >= 4 {
		n = cols &^ 3
		addRows64AVX2(&dst[0], &a[0], rows, lda, n)
	}
	if n < cols {
		for r := 0; r < rows; r++ {
			row := a[r*lda : r*lda+cols]
			for j := n; j < cols; j++ {
				dst[j] += row[j]
			}
		}
	}
}

// Widen sets dst[i] = float64(src[i]) for i < len(src) (exact);
// dst must be at least as long as src.
func Widen(dst []float64, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if useAsm && len(src) >= 8 {
		n = len(src) &^ 7
		widenAVX2(&dst[0], &src[0], n)
	}
	for j, v := range src[n:] {
		dst[n+j] = float64(v)
	}
}

func reluMask32Go(dst, v, x []float32) {
	dst, v = dst[:len(x)], v[:len(x)]
	for i, xi := range x {
		var m uint32
		if xi > 0 {
			m = ^uint32(0)
		}
		dst[i] = math.Float32frombits(math.Float32bits(v[i]) & m)
	}
}

func reluMask64Go(dst, v, x []float64) {
	dst, v = dst[:len(x)], v[:len(x)]
	for i, xi := range x {
		var m uint64
		if xi > 0 {
			m = ^uint64(0)
		}
		dst[i] = math.Float64frombits(math.Float64bits(v[i]) & m)
	}
}

// AllFinite32 reports whether no x[i] is NaN or ±Inf (an exponent of all
// ones). It reads x once at memory speed: the training loop's check of every
// weight after each update.
func AllFinite32(x []float32) bool {
	n := 0
	if useAsm && len(x) >= 32 {
		n = len(x) &^ 31
		if nonFinite32AVX2(&x[0], n) {
			return false
		}
	}
	return allFinite32Go(x[n:])
}

// AllFinite reports whether no element of v is NaN or ±Inf, through
// AllFinite32 or AllFinite64 for those element types and a plain scan for
// other types of the same underlying kind.
func AllFinite[T ~float32 | ~float64](v []T) bool {
	switch w := any(v).(type) {
	case []float32:
		return AllFinite32(w)
	case []float64:
		return AllFinite64(w)
	}
	for _, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// AllFinite64 is AllFinite32 for float64.
func AllFinite64(x []float64) bool {
	n := 0
	if useAsm && len(x) >= 16 {
		n = len(x) &^ 15
		if nonFinite64AVX2(&x[0], n) {
			return false
		}
	}
	return allFinite64Go(x[n:])
}

// allFinite32Go: b^exp is 0 only for a non-finite value and otherwise below
// 2³¹, so (b^exp)−1 has bit 31 set exactly for NaN and ±Inf.
func allFinite32Go(x []float32) bool {
	const exp = 0x7f800000
	var acc uint32
	for _, v := range x {
		acc |= (math.Float32bits(v)&exp ^ exp) - 1
	}
	return acc>>31 == 0
}

func allFinite64Go(x []float64) bool {
	const exp = 0x7ff0000000000000
	var acc uint64
	for _, v := range x {
		acc |= (math.Float64bits(v)&exp ^ exp) - 1
	}
	return acc>>63 == 0
}

// MaxPool3Row32 is a row of a 3×3, stride-1 max-pool on a plane of row length
// w: for j < len(y), the window's top-left element is x[at+j], y[j] is its
// maximum and arg[j] the index in x of the first maximum in scan order (row
// by row, left to right; a later value wins only when strictly greater, so
// a NaN never replaces the running maximum and one at the first position
// stays). Every window must lie inside x; arg must be as long as y.
func MaxPool3Row32(x []float32, w, at int, y []float32, arg []int32) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = x[at+2*w+2+n-1] // the last window's last element
	arg = arg[:n]
	m := 0
	if useAsm && n >= 8 {
		m = n &^ 7
		maxPool3Row32AVX2(&x[at], w, &y[0], &arg[0], at, m)
	}
	maxPool3Row32Go(x, w, at, y[m:], arg[m:], m)
}

// maxPool3Row32Go is MaxPool3Row32 for outputs j0, j0+1, … (y and arg
// start at output j0).
func maxPool3Row32Go(x []float32, w, at int, y []float32, arg []int32, j0 int) {
	offs := [9]int{0, 1, 2, w, w + 1, w + 2, 2 * w, 2*w + 1, 2*w + 2}
	for j := range y {
		a := at + j0 + j
		best, k := x[a], 0
		for _, o := range offs[1:] {
			if v := x[a+o]; v > best {
				best, k = v, o
			}
		}
		y[j], arg[j] = best, int32(a+k)
	}
}
