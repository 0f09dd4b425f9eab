// Package conv holds the indirect products behind nn's float32 convolutions
// (implicit GEMM): the im2col matrix is never built, its row q is the image
// buffer x read from offset offs[q], so a convolution over a zero-padded
// (and, for strides above 1, polyphase-split) copy of the input is one
// product with the weight. The AVX-512F tiles have Go twins used on other
// CPUs, in purego builds and for the edges of a product.
package conv

import "fmt"

// Gemm sets c[i·ldc + j] = Σ_q a[i·k + q]·x[offs[q] + j] for i < m, j < n,
// q < k, summing over q in ascending order. pack is scratch of at least
// m·k elements.
func Gemm(m, n, k int, a []float32, offs []int32, x, c []float32, ldc int, pack []float32) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || len(offs) < k || len(a) < m*k || len(c) < (m-1)*ldc+n || ldc < n {
		panic(fmt.Sprintf("conv: Gemm %d×%d×%d: a %d, offs %d, c %d (ldc %d)", m, n, k, len(a), len(offs), len(c), ldc))
	}
	offs = offs[:k]
	checkOffs(offs, n, len(x))
	m8, n16 := 0, 0
	if useAsm {
		m8, n16 = m&^7, n&^15
	}
	if m8 > 0 && n16 > 0 {
		if len(pack) < m8*k {
			panic(fmt.Sprintf("conv: Gemm pack %d, want %d", len(pack), m8*k))
		}
		for t := 0; t < m8/8; t++ {
			p := pack[t*8*k : (t+1)*8*k]
			for r := 0; r < 8; r++ {
				row := a[(t*8+r)*k : (t*8+r+1)*k]
				for q, v := range row {
					p[q*8+r] = v
				}
			}
		}
		for j := 0; j < n16; j += 48 {
			w := min(48, n16-j)
			for t := 0; t < m8/8; t++ {
				ap, cp := &pack[t*8*k], &c[t*8*ldc+j]
				switch w {
				case 48:
					gemm8x48(k, ap, &offs[0], &x[j], cp, ldc)
				case 32:
					gemm8x32(k, ap, &offs[0], &x[j], cp, ldc)
				default:
					gemm8x16(k, ap, &offs[0], &x[j], cp, ldc)
				}
			}
		}
	}
	// Edges (all of it without the tiles): rows below m8, columns from n16.
	if n16 < n {
		gemmGo(0, m8, n16, n, k, a, offs, x, c, ldc)
	}
	gemmGo(m8, m, 0, n, k, a, offs, x, c, ldc)
}

// gemmGo is Gemm for rows [i0, i1) and columns [j0, j1).
func gemmGo(i0, i1, j0, j1, k int, a []float32, offs []int32, x, c []float32, ldc int) {
	for i := i0; i < i1; i++ {
		ci := c[i*ldc+j0 : i*ldc+j1]
		clear(ci)
		for q, av := range a[i*k : (i+1)*k] {
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
// order), added lane by lane at the end; n must be a multiple of 16.
func Dot(m, k, n, ns int, a []float32, lda, sa int, offs []int32, x []float32, sx int, c []float32, ldc int) {
	if m <= 0 || k <= 0 || ns <= 0 || n <= 0 {
		return
	}
	if n%16 != 0 || lda < n || len(offs) < k || len(a) < (ns-1)*sa+(m-1)*lda+n || len(c) < (m-1)*ldc+k || ldc < k {
		panic(fmt.Sprintf("conv: Dot %d×%d over %d·%d: a %d (lda %d), offs %d, c %d (ldc %d)", m, k, ns, n, len(a), lda, len(offs), len(c), ldc))
	}
	offs = offs[:k]
	checkOffs(offs, (ns-1)*sx+n, len(x))
	m4, k6 := 0, 0
	if useAsm {
		m4, k6 = m&^3, k/6*6
	}
	var acc [24 * 16]float32
	for i := 0; i < m4; i += 4 {
		for q := 0; q < k6; q += 6 {
			dot4x6(n/16, ns, &a[i*lda], lda, 4*(sa-n), &x[0], &offs[q], 4*(sx-n), &acc[0])
			for r := 0; r < 4; r++ {
				for t := 0; t < 6; t++ {
					c[(i+r)*ldc+q+t] += sum16(acc[(r*6+t)*16:][:16])
				}
			}
		}
	}
	if k6 < k {
		dotGo(0, m4, k6, k, n, ns, a, lda, sa, offs, x, sx, c, ldc)
	}
	dotGo(m4, m, 0, k, n, ns, a, lda, sa, offs, x, sx, c, ldc)
}

// sum16 adds the 16 lane partials in lane order.
func sum16(v []float32) float32 {
	var s float32
	for _, x := range v[:16] {
		s += x
	}
	return s
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
