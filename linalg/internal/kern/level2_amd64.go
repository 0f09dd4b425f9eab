//go:build !purego

package kern

// SymvPanel4AVX512 applies the off-diagonal part of a four-row panel of a
// symmetric matrix held by its upper triangle (rows at a, a+lda, a+2·lda,
// a+3·lda, m&^7 columns): y[c] += u[0]·a₀[c] + u[1]·a₁[c] + u[2]·a₂[c] +
// u[3]·a₃[c] (fused, in that order) and s[k] = Σ_c a_k[c]·x[c] (eight-lane
// partial sums, two per row, added and reduced as the file comment of level2_amd64.s says), AVX-512F.
// The caller guarantees the bounds.
//
//go:noescape
func SymvPanel4AVX512(m int, a *float64, lda int, x, y, u, s *float64)

// AxpyRowsAVX512 sets x[p] = fma(−xi[i], u[i·ldu+p], x[p]) for i = 0, 1, …,
// k−1 in that order, for every p < m&^7 (AVX-512F): the forward-substitution
// update with k rows of a row-major triangular factor. Lanes are
// independent, so the result is that of the scalar loop. The caller
// guarantees the bounds.
//
//go:noescape
func AxpyRowsAVX512(k, m int, u *float64, ldu int, xi, x *float64)

// DotRowsAVX512 sets s[q] = Σ_{p < m&^7} u[q·ldu+p]·x[p] for q < k
// (AVX-512F), each row summed the same way whatever k: two eight-lane fused
// accumulators over sixteen columns at a time (columns p with p mod 16 < 8
// into the first), a last group of eight into the first, then the two added
// and reduced as the file comment of level2_amd64.s says. The caller guarantees the bounds.
//
//go:noescape
func DotRowsAVX512(k, m int, u *float64, ldu int, x, s *float64)

// SymvPanel4AVX2 is SymvPanel4AVX512 in AVX2+FMA3, each row's products
// summed in one eight-lane accumulator over eight columns at a time, then
// reduced the same way (level2_avx2_amd64.s). The caller guarantees the
// bounds.
//
//go:noescape
func SymvPanel4AVX2(m int, a *float64, lda int, x, y, u, s *float64)

// AxpyRowsAVX2 is AxpyRowsAVX512 in AVX2+FMA3, with the same bits.
//
//go:noescape
func AxpyRowsAVX2(k, m int, u *float64, ldu int, xi, x *float64)

// DotRowsAVX2 is DotRowsAVX512 in AVX2+FMA3, with the same bits (each
// eight-lane accumulator held in two ymm registers).
//
//go:noescape
func DotRowsAVX2(k, m int, u *float64, ldu int, x, s *float64)
