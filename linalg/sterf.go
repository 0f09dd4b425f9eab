package linalg

import (
	"math"
	"slices"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// sterf sets d to the eigenvalues, ascending, of the symmetric tridiagonal
// matrix with diagonal d (n) and off-diagonal e (n−1), destroying e: the
// root-free QL/QR of Pal, Walker and Kahan as LAPACK dsterf (gonum's
// Dsterf, whose deflation, shift and iteration limits it keeps), with the
// inner loop rearranged to one division on its recurrence instead of two.
// dsterf's step divides twice in a row on the chain from p to the next p,
// c = p/r then p' = γ²/c; with g = rγ = p(α−σ) − e²γ₋ (γ₋ the previous
// γ) the same step is
//
//	γ = g/r,  p' = g²/(r·p),
//
// the division for γ off the chain (0.6× Dsterf's CPU time at n = 5000,
// BenchmarkTridiagValues). An unreduced block of norm outside
// [2⁻⁴⁰, 2⁴⁰] is scaled exactly by a power of two to norm about 1,
// where g² (of order ‖T‖⁶) can neither overflow nor underflow for the
// block's large entries; a step whose r·p or g² is near underflow or
// overflow takes dsterf's formulas (sterfFast). It reports false if some
// eigenvalue did not converge within 30n iterations.
func sterf(d, e []float64) bool {
	n := len(d)
	if n <= 1 {
		return true
	}
	const (
		eps      = 0x1p-53 // dlamch('E')
		eps2     = eps * eps
		maxit    = 30
		normLow  = 0x1p-40
		normHigh = 0x1p40
	)
	e = e[:n-1]
	nmaxit := n * maxit
	jtot := 0
	for l1 := 0; l1 < n; {
		if l1 > 0 {
			e[l1-1] = 0
		}
		m := l1
		for ; m < n-1; m++ {
			if math.Abs(e[m]) <= math.Sqrt(math.Abs(d[m]))*math.Sqrt(math.Abs(d[m+1]))*eps {
				e[m] = 0
				break
			}
		}
		l, lend := l1, m
		lsv, lendsv := l, lend
		l1 = m + 1
		if lend == l {
			continue
		}
		anorm := 0.0
		for i := l; i <= lend; i++ {
			anorm = max(anorm, math.Abs(d[i]))
		}
		for i := l; i < lend; i++ {
			anorm = max(anorm, math.Abs(e[i]))
		}
		if anorm == 0 {
			continue
		}
		// scale = 2^-k with anorm·scale near 1; exact unless subnormal.
		scale := 1.0
		if anorm > normHigh || anorm < normLow {
			_, k := math.Frexp(anorm)
			scale = math.Ldexp(1, -k)
			for i := l; i <= lend; i++ {
				d[i] *= scale
			}
			for i := l; i < lend; i++ {
				e[i] *= scale
			}
		}
		for i := l; i < lend; i++ {
			e[i] *= e[i]
		}
		// QL if the block's top is the larger end, else QR.
		if math.Abs(d[lend]) < math.Abs(d[l]) {
			l, lend = lendsv, lsv
		}
		if lend >= l {
			jtot = sterfQL(d, e, l, lend, jtot, nmaxit)
		} else {
			jtot = sterfQR(d, e, l, lend, jtot, nmaxit)
		}
		if scale != 1 {
			for i := lsv; i <= lendsv; i++ {
				d[i] /= scale
			}
		}
		if jtot >= nmaxit {
			break
		}
	}
	for _, v := range e {
		if v != 0 {
			return false
		}
	}
	slices.Sort(d)
	return true
}

// sterfQL runs the QL iteration of sterf on the block l..lend (lend ≥ l,
// e holding the squared off-diagonal) until every eigenvalue of it has
// converged or jtot reaches nmaxit; it returns jtot.
func sterfQL(d, e []float64, l, lend, jtot, nmaxit int) int {
	const eps2 = 0x1p-106
	var lp lapackgonum.Implementation
	for {
		m := lend
		for i := l; i < lend; i++ {
			if math.Abs(e[i]) <= eps2*math.Abs(d[i]*d[i+1]) {
				m = i
				break
			}
		}
		if m < lend {
			e[m] = 0
		}
		p := d[l]
		if m == l {
			// Eigenvalue found.
			if l++; l > lend {
				return jtot
			}
			continue
		}
		if m == l+1 {
			d[l], d[l+1] = lp.Dlae2(d[l], math.Sqrt(e[l]), d[l+1])
			e[l] = 0
			if l += 2; l > lend {
				return jtot
			}
			continue
		}
		if jtot == nmaxit {
			return jtot
		}
		jtot++
		rte := math.Sqrt(e[l])
		sigma := (d[l+1] - p) / (2 * rte)
		sigma = p - rte/(sigma+math.Copysign(math.Hypot(sigma, 1), sigma))
		gamma := d[m] - sigma
		p = gamma * gamma
		// s = e²₋/r₋ of the step before; pPrev/rPrev its c (dsterf's
		// oldc, 1 before the first step).
		s, pPrev, rPrev := 0.0, 1.0, 1.0
		dd, ee := d[l:m+1], e[l:m]
		for i := len(ee) - 1; i >= 0; i-- {
			bb := ee[i]
			r := p + bb
			if i != len(ee)-1 {
				ee[i+1] = s * r
			}
			s = bb / r
			oldgam := gamma
			alpha := dd[i]
			rp := r * p
			g := p*(alpha-sigma) - bb*oldgam
			if gg := g * g; sterfFast(rp, g, gg) {
				gamma = g / r
				pPrev, rPrev = p, r
				p = gg / rp
			} else {
				c := p / r
				gamma = c*(alpha-sigma) - s*oldgam
				if c != 0 {
					p = gamma * gamma / c
				} else {
					p = pPrev / rPrev * bb
				}
				pPrev, rPrev = c, 1
			}
			dd[i+1] = oldgam + (alpha - gamma)
		}
		ee[0] = s * p
		dd[0] = sigma + gamma
	}
}

// sterfQR is sterfQL's mirror, the QR iteration on the block lend..l
// (lend < l).
func sterfQR(d, e []float64, l, lend, jtot, nmaxit int) int {
	const eps2 = 0x1p-106
	var lp lapackgonum.Implementation
	for {
		m := lend
		for i := l; i > lend; i-- {
			if math.Abs(e[i-1]) <= eps2*math.Abs(d[i]*d[i-1]) {
				m = i
				break
			}
		}
		if m > lend {
			e[m-1] = 0
		}
		p := d[l]
		if m == l {
			if l--; l < lend {
				return jtot
			}
			continue
		}
		if m == l-1 {
			d[l], d[l-1] = lp.Dlae2(d[l], math.Sqrt(e[l-1]), d[l-1])
			e[l-1] = 0
			if l -= 2; l < lend {
				return jtot
			}
			continue
		}
		if jtot == nmaxit {
			return jtot
		}
		jtot++
		rte := math.Sqrt(e[l-1])
		sigma := (d[l-1] - p) / (2 * rte)
		sigma = p - rte/(sigma+math.Copysign(math.Hypot(sigma, 1), sigma))
		gamma := d[m] - sigma
		p = gamma * gamma
		s, pPrev, rPrev := 0.0, 1.0, 1.0
		dd, ee := d[m:l+1], e[m:l]
		for i := range ee {
			bb := ee[i]
			r := p + bb
			if i != 0 {
				ee[i-1] = s * r
			}
			s = bb / r
			oldgam := gamma
			alpha := dd[i+1]
			rp := r * p
			g := p*(alpha-sigma) - bb*oldgam
			if gg := g * g; sterfFast(rp, g, gg) {
				gamma = g / r
				pPrev, rPrev = p, r
				p = gg / rp
			} else {
				c := p / r
				gamma = c*(alpha-sigma) - s*oldgam
				if c != 0 {
					p = gamma * gamma / c
				} else {
					p = pPrev / rPrev * bb
				}
				pPrev, rPrev = c, 1
			}
			dd[i] = oldgam + alpha - gamma
		}
		ee[len(ee)-1] = s * p
		dd[len(dd)-1] = sigma + gamma
	}
}

// sterfFastAllowed = false makes every step of sterf take dsterf's
// formulas (tests).
var sterfFastAllowed = true

// sterfFast reports whether a step of sterf may take p' = g²/(r·p): r·p
// and g² normal (or g zero) and far from overflow.
func sterfFast(rp, g, gg float64) bool {
	return sterfFastAllowed && rp >= 0x1p-1000 && rp <= 0x1p1000 && gg <= 0x1p1000 && (gg >= 0x1p-1000 || g == 0)
}
