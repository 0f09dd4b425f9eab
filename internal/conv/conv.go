// Package conv holds the indirect products behind nn's float32 convolutions
// (implicit GEMM): the im2col matrix is never built, its row q is the image
// buffer x read from offset offs[q], so a convolution over a zero-padded
// (and, for strides above 1, polyphase-split) copy of the input is one
// product with the weight. Copy2D, Split2 and Interleave2 move images in
// and out of those layouts (Split2 and Interleave2: the two column phases
// of a stride-2 split). The AVX-512F tiles have Go twins used on other
// CPUs, in purego builds and for the edges of a product.
package conv

import "fmt"

// PackLen is the length of Pack's output for an m×k left operand.
func PackLen(m, k int) int { return (m + 7) &^ 7 * k }

// Pack writes the row-major m×k matrix a into pack (PackLen(m, k)
// elements) in Gemm's layout: blocks of 8 rows, each k columns of 8, the
// rows past m zero.
func Pack(m, k int, a, pack []float32) {
	if len(a) < m*k || len(pack) < PackLen(m, k) {
		panic(fmt.Sprintf("conv: Pack %d×%d: a %d, pack %d", m, k, len(a), len(pack)))
	}
	for t := 0; t < (m+7)/8; t++ {
		p := pack[t*8*k : (t+1)*8*k]
		for r := 0; r < 8; r++ {
			i := t*8 + r
			if i >= m {
				for q := 0; q < k; q++ {
					p[q*8+r] = 0
				}
				continue
			}
			for q, v := range a[i*k : (i+1)*k] {
				p[q*8+r] = v
			}
		}
	}
}

// Gemm sets c[i·ldc + j] = Σ_q a[i·k + q]·x[offs[q] + j] for i < m, j < n,
// q < k, summing over q in ascending order, with a packed by Pack.
func Gemm(m, n, k int, pack []float32, offs []int32, x, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || len(offs) < k || len(pack) < PackLen(m, k) || len(c) < (m-1)*ldc+n || ldc < n {
		panic(fmt.Sprintf("conv: Gemm %d×%d×%d: pack %d, offs %d, c %d (ldc %d)", m, n, k, len(pack), len(offs), len(c), ldc))
	}
	offs = offs[:k]
	checkOffs(offs, n, len(x))
	n16 := 0
	if useAsm {
		n16 = n &^ 15
	}
	var tmp [8 * 48]float32 // the tile of a last block of fewer than 8 rows
	for j := 0; j < n16; {
		w := min(48, n16-j)
		if n16-j == 64 {
			w = 32 // 32 + 32 rather than 48 + 16: the 16-wide tile is load-bound
		}
		for t := 0; t < (m+7)/8; t++ {
			ap := &pack[t*8*k]
			rows := min(8, m-t*8)
			cp, ld := &tmp[0], 48
			if rows == 8 {
				cp, ld = &c[t*8*ldc+j], ldc
			}
			switch w {
			case 48:
				gemm8x48(k, ap, &offs[0], &x[j], cp, ld)
			case 32:
				gemm8x32(k, ap, &offs[0], &x[j], cp, ld)
			default:
				gemm8x16(k, ap, &offs[0], &x[j], cp, ld)
			}
			for r := 0; r < rows && rows < 8; r++ {
				copy(c[(t*8+r)*ldc+j:][:w], tmp[r*48:][:w])
			}
		}
		j += w
	}
	if n16 < n {
		gemmGo(m, n16, n, k, pack, offs, x, c, ldc)
	}
}

// gemmGo is Gemm for columns [j0, j1).
func gemmGo(m, j0, j1, k int, pack []float32, offs []int32, x, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc+j0 : i*ldc+j1]
		clear(ci)
		p := pack[i/8*8*k+i%8:]
		for q := 0; q < k; q++ {
			av := p[q*8]
			xs := x[int(offs[q])+j0:][:len(ci)]
			for j, v := range xs {
				ci[j] += av * v
			}
		}
	}
}

// checkOffs panics unless every x[offs[q] + j], j < n, is inside x.
func checkOffs(offs []int32, n, lx int) {
	for _, o := range offs {
		if o < 0 || int(o)+n > lx {
			panic(fmt.Sprintf("conv: offset %d + %d columns outside %d elements", o, n, lx))
		}
	}
}

// Dot adds into c[i·ldc + q] the sum over samples s < ns and j < n of
// a[s·sa + i·lda + j]·x[s·sx + offs[q] + j] (i < m, q < k): a product
// whose inner dimension runs over the image (a convolution's weight
// gradient). Each sum is kept in 16 lane-wise partials (j mod 16, samples in
// order), added by sum16 at the end; n must be a multiple of 16.
func Dot(m, k, n, ns int, a []float32, lda, sa int, offs []int32, x []float32, sx int, c []float32, ldc int) {
	if m <= 0 || k <= 0 || ns <= 0 || n <= 0 {
		return
	}
	if n%16 != 0 || lda < n || len(offs) < k || len(a) < (ns-1)*sa+(m-1)*lda+n || len(c) < (m-1)*ldc+k || ldc < k {
		panic(fmt.Sprintf("conv: Dot %d×%d over %d·%d: a %d (lda %d), offs %d, c %d (ldc %d)", m, k, ns, n, len(a), lda, len(offs), len(c), ldc))
	}
	offs = offs[:k]
	checkOffs(offs, (ns-1)*sx+n, len(x))
	m4, k6 := 0, k/6*6
	if useAsm {
		m4 = m &^ 3
	}
	var acc [24]float32
	// The last block of fewer than 6 offsets repeats its last offset.
	var last [6]int32
	if useAsm && k6 < k {
		for t := range last {
			last[t] = offs[min(k6+t, k-1)]
		}
	}
	for i := 0; i < m4; i += 4 {
		for q := 0; q < k; q += 6 {
			op, cols := &offs[min(q, k-1)], min(6, k-q)
			if cols < 6 {
				op = &last[0]
			}
			dot4x6(n/16, ns, &a[i*lda], lda, 4*(sa-n), &x[0], op, 4*(sx-n), &acc[0])
			for r := 0; r < 4; r++ {
				for t := 0; t < cols; t++ {
					c[(i+r)*ldc+q+t] += acc[r*6+t]
				}
			}
		}
	}
	dotGo(m4, m, 0, k, n, ns, a, lda, sa, offs, x, sx, c, ldc)
}

// sum16 adds 16 lane partials by halves: lanes l and l+8, then l and l+4,
// l and l+2, l and l+1 (the order of the tiles' reduction).
func sum16(v []float32) float32 {
	var h [8]float32
	for l := range h {
		h[l] = v[l] + v[l+8]
	}
	for l := 0; l < 4; l++ {
		h[l] += h[l+4]
	}
	h[0] += h[2]
	h[1] += h[3]
	return h[0] + h[1]
}

// dotGo is Dot for rows [i0, i1) and offsets [q0, q1), with the same
// lane-wise partial sums.
func dotGo(i0, i1, q0, q1, n, ns int, a []float32, lda, sa int, offs []int32, x []float32, sx int, c []float32, ldc int) {
	var acc [16]float32
	for i := i0; i < i1; i++ {
		for q := q0; q < q1; q++ {
			acc = [16]float32{}
			for s := 0; s < ns; s++ {
				ar := a[s*sa+i*lda:][:n]
				xr := x[s*sx+int(offs[q]):][:n]
				for j := 0; j < n; j += 16 {
					av, xv := ar[j:j+16:j+16], xr[j:j+16:j+16]
					for l := range acc {
						acc[l] += av[l] * xv[l]
					}
				}
			}
			c[i*ldc+q] += sum16(acc[:])
		}
	}
}

// Accelerated reports whether Gemm and Dot run on the assembly tiles.
func Accelerated() bool { return useAsm }

// Copy2D copies rows of cols elements from src (row stride lds) to dst (row
// stride ldd); with bias it stores src + b instead (a nil bias copies the
// bits, −0 included).
func Copy2D(dst []float32, ldd int, src []float32, lds, rows, cols int, bias *float32) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ldd < cols || lds < cols || len(dst) < (rows-1)*ldd+cols || len(src) < (rows-1)*lds+cols {
		panic(fmt.Sprintf("conv: Copy2D %d×%d: dst %d (ld %d), src %d (ld %d)", rows, cols, len(dst), ldd, len(src), lds))
	}
	if useAsm {
		w := wideRows(len(src), lds, rows, cols, 16)
		if w > 0 {
			if bias == nil {
				copy2DWide(&dst[0], ldd, &src[0], lds, w, cols)
			} else {
				copy2DBiasWide(&dst[0], ldd, &src[0], lds, w, cols, *bias)
			}
		}
		if w < rows {
			d, s := dst[w*ldd:], src[w*lds:]
			if bias == nil {
				copy2D(&d[0], ldd, &s[0], lds, rows-w, cols)
			} else {
				copy2DBias(&d[0], ldd, &s[0], lds, rows-w, cols, *bias)
			}
		}
		return
	}
	for r := 0; r < rows; r++ {
		d, s := dst[r*ldd:][:cols], src[r*lds:][:cols]
		if bias == nil {
			copy(d, s)
			continue
		}
		b := *bias
		for j, v := range s {
			d[j] = v + b
		}
	}
}

// Split2 writes the even elements of each of rows rows of cols elements of
// src (row stride lds) to e and the odd ones to o (both row stride ldd):
// e[r·ldd + t] = src[r·lds + 2t] for t < ⌈cols/2⌉ and o[r·ldd + t] =
// src[r·lds + 2t + 1] for t < ⌊cols/2⌋ (the column phases of a stride-2
// polyphase split). Nothing else of e and o is written.
func Split2(e, o []float32, ldd int, src []float32, lds, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	ne, no := (cols+1)/2, cols/2
	if ldd < ne || lds < cols || len(e) < (rows-1)*ldd+ne || len(o) < (rows-1)*ldd+no || len(src) < (rows-1)*lds+cols {
		panic(fmt.Sprintf("conv: Split2 %d×%d: e %d, o %d (ld %d), src %d (ld %d)", rows, cols, len(e), len(o), ldd, len(src), lds))
	}
	if useAsm {
		// o is only written where cols > 1; &o[0] must still exist.
		op := &e[0]
		if no > 0 {
			op = &o[0]
		}
		w := wideRows(len(src), lds, rows, cols, 32)
		if w > 0 {
			split2Wide(&e[0], op, ldd, &src[0], lds, w, cols)
		}
		if w < rows {
			if no > 0 {
				op = &o[w*ldd]
			}
			split2(&e[w*ldd], op, ldd, &src[w*lds], lds, rows-w, cols)
		}
		return
	}
	for r := 0; r < rows; r++ {
		s, er, or := src[r*lds:][:cols], e[r*ldd:][:ne], o[r*ldd:][:no]
		for t := range or {
			er[t], or[t] = s[2*t], s[2*t+1]
		}
		if cols&1 == 1 {
			er[ne-1] = s[cols-1]
		}
	}
}

// wideRows is the number of leading rows of a src of n elements (row
// stride lds) whose last step of v elements, read whole from the first
// element past the row's full steps, lies inside src: rows that the Wide
// kernels may load without a mask.
func wideRows(n, lds, rows, cols, v int) int {
	if cols%v == 0 {
		return rows
	}
	need := cols&^(v-1) + v
	if n < need {
		return 0
	}
	return min(rows, (n-need)/lds+1)
}

// Interleave2 is Split2's inverse: dst[r·ldd + 2t] = e[r·lds + t] and
// dst[r·ldd + 2t + 1] = o[r·lds + t] for the cols elements of each of rows
// rows. Nothing else of dst is written.
func Interleave2(dst []float32, ldd int, e, o []float32, lds, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	ne, no := (cols+1)/2, cols/2
	if ldd < cols || lds < ne || len(dst) < (rows-1)*ldd+cols || len(e) < (rows-1)*lds+ne || len(o) < (rows-1)*lds+no {
		panic(fmt.Sprintf("conv: Interleave2 %d×%d: dst %d (ld %d), e %d, o %d (ld %d)", rows, cols, len(dst), ldd, len(e), len(o), lds))
	}
	if useAsm {
		op := &e[0]
		if no > 0 {
			op = &o[0]
		}
		interleave2(&dst[0], ldd, &e[0], op, lds, rows, cols)
		return
	}
	for r := 0; r < rows; r++ {
		d, er, or := dst[r*ldd:][:cols], e[r*lds:][:ne], o[r*lds:][:no]
		for t, v := range or {
			d[2*t], d[2*t+1] = er[t], v
		}
		if cols&1 == 1 {
			d[cols-1] = er[ne-1]
		}
	}
}
