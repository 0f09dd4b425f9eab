package linalg

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fenchel-ml/fenchel/internal/parallel"
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

// chaseGroup is the number of consecutive sweeps one goroutine chases
// together, as a wavefront (see tridiagonalize).
const chaseGroup = 8

// chaseSpin is how many times a goroutine of the bulge chasing polls its
// predecessor's progress before it sleeps.
const chaseSpin = 200

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
// column, and the chase moves b rows down until it leaves the matrix.
// Step k of sweep s (chaseStep) reads and writes only columns
// s+kb..s+(k+1)b of the band (column s too for k = 0), so it conflicts
// with no step of sweep s' > s but steps k and k+1, and with steps of
// sweep s < s' only ahead of those. The sweeps are therefore chased in
// groups of G = min(chaseGroup, b): within a group, at time step t, sweep
// j of the group takes its step t − j (a wavefront that keeps the group's
// few columns in cache), and a group may take time step t once the group
// before it has taken t + G (its last sweep then has passed step t + 1).
// Groups go round-robin to GOMAXPROCS goroutines, each waiting on its
// predecessor only once per time step; every step sees the data it sees
// when the sweeps run one after another, so the result is the same bits
// whatever the number of goroutines.
func (bm bandMatrix) tridiagonalize(ctx context.Context, d, e []float64) error {
	return bm.tridiagonalizeOn(ctx, d, e, runtime.GOMAXPROCS(0))
}

// tridiagonalizeOn is tridiagonalize on up to workers goroutines.
func (bm bandMatrix) tridiagonalizeOn(ctx context.Context, d, e []float64, workers int) error {
	n, b := bm.n, bm.b
	sweeps := n - 2
	if b < 2 {
		sweeps = 0
	}
	g := min(chaseGroup, b)
	groups := (sweeps + g - 1) / g
	if sweeps*b < chaseParallelMin {
		workers = 1
	}
	workers = max(1, min(workers, groups))
	cs := newChaseSync(groups)
	var stopped atomic.Bool
	parallel.Run(workers, func(wk int) {
		states := make([]sweepState, g)
		for i := range states {
			states[i] = newSweepState(b)
		}
		w := make([]float64, b)
		for gi := wk; gi < groups; gi += workers {
			if stopped.Load() || ctx.Err() != nil {
				stopped.Store(true)
				cs.publish(gi, chaseDone)
				continue
			}
			s0 := gi * g
			cnt := min(g, sweeps-s0)
			finished := 0
			for t := 0; finished < cnt; t++ {
				if gi > 0 {
					cs.wait(gi-1, int64(t+g+1))
				}
				for j := 0; j < min(cnt, t+1); j++ {
					s := &states[j]
					if t == j {
						bm.startSweep(s0+j, s)
					} else if s.done {
						continue
					}
					if !bm.chaseStep(s, w) {
						s.done = true
						finished++
					}
				}
				cs.publish(gi, int64(t+1))
			}
			cs.publish(gi, chaseDone)
		}
	})
	if stopped.Load() {
		err := ctx.Err()
		if err == nil {
			err = context.Canceled
		}
		return fmt.Errorf("linalg: bulge chasing of %d sweeps interrupted: %w", sweeps, err)
	}
	for j := 0; j < n; j++ {
		d[j] = bm.ab[j*bm.ld]
		if j+1 < n {
			e[j] = bm.ab[j*bm.ld+1]
		}
	}
	return nil
}

// chaseParallelMin is the number of band columns swept (sweeps × b) below
// which the bulge chasing stays on one goroutine (a variable so tests can
// lower it).
var chaseParallelMin = 1 << 14

// chaseDone is the progress of a group that has finished.
const chaseDone = math.MaxInt64

// chaseSync publishes the progress of each group of sweeps (time steps
// taken) to the goroutine chasing the next group, which polls it and
// sleeps on cond when it has to wait longer.
type chaseSync struct {
	prog, want []atomic.Int64
	mu         sync.Mutex
	cond       sync.Cond
}

func newChaseSync(groups int) *chaseSync {
	c := &chaseSync{prog: make([]atomic.Int64, groups), want: make([]atomic.Int64, groups)}
	c.cond.L = &c.mu
	return c
}

// publish records that group g has taken v time steps.
func (c *chaseSync) publish(g int, v int64) {
	c.prog[g].Store(v)
	if w := c.want[g].Load(); w > 0 && v >= w {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// wait returns once group g has taken need time steps.
func (c *chaseSync) wait(g int, need int64) {
	for range chaseSpin {
		if c.prog[g].Load() >= need {
			return
		}
	}
	c.mu.Lock()
	c.want[g].Store(need)
	for c.prog[g].Load() < need {
		c.cond.Wait()
	}
	c.want[g].Store(0)
	c.mu.Unlock()
}

// sweepState is a sweep being chased: the reflector I − τvvᵀ (v of length
// length) still to be applied to the diagonal block at rows r0..r0+length−1.
type sweepState struct {
	r0, length int
	tau        float64
	v          []float64
	u          []float64 // the next reflector, while v is still applied (asm)
	done       bool
}

// newSweepState returns a sweepState with its buffers for bandwidth b.
func newSweepState(b int) sweepState {
	return sweepState{v: make([]float64, b), u: make([]float64, b)}
}

// sweep runs sweep st to its end (dsb2st_kernels types 1, 2 and 3 in
// turn), with s.v and w of length ≥ b as scratch.
func (bm bandMatrix) sweep(st int, s *sweepState, w []float64) {
	bm.startSweep(st, s)
	for bm.chaseStep(s, w) {
	}
}

// startSweep computes the type-1 reflector of sweep st, the one that
// annihilates column st below the subdiagonal.
func (bm bandMatrix) startSweep(st int, s *sweepState) {
	ab, ld := bm.ab, bm.ld
	r0 := st + 1
	length := min(bm.b, bm.n-r0)
	col := ab[st*ld+1 : st*ld+1+length]
	beta, tau := larfg(length, col[0], col[1:])
	s.v[0] = 1
	copy(s.v[1:length], col[1:])
	col[0] = beta
	clear(col[1:])
	s.r0, s.length, s.tau, s.done = r0, length, tau, false
}

// chaseStep applies the sweep's pending reflector to its diagonal block
// from both sides (type 1 or 3), then to the block below from the right
// (type 2), which fills that block's lower triangle; the next reflector
// annihilates the bulge's first column and is applied from the left. It
// reports whether the sweep goes on.
func (bm bandMatrix) chaseStep(s *sweepState, w []float64) bool {
	n, b, ld := bm.n, bm.b, bm.ld
	ab := bm.ab
	r0, length, tau, v := s.r0, s.length, s.tau, s.v
	if tau != 0 {
		bm.symReflect(length, ab[r0*ld:], ld-1, v[:length], tau, w)
	}
	rb := r0 + b
	if rb >= n {
		return false
	}
	rows := min(b, n-rb)
	below := ab[r0*ld+b:]
	if bm.asm && tau != 0 && length > 1 {
		// The right reflection's update of B's columns after the first and
		// the left reflection by the reflector from the first, in one pass.
		_, _, _ = below[(length-1)*(ld-1)+rows-1], v[length-1], w[rows-1]
		sb2st.Gemv(rows, length, &below[0], ld-1, &v[0], &w[0])
		sb2st.Ger(rows, 1, &below[0], ld-1, &v[0], &w[0], -tau)
		beta, tau2 := larfg(rows, below[0], below[1:rows])
		below[0] = beta
		u := s.u
		u[0] = 1
		copy(u[1:rows], below[1:rows])
		clear(below[1:rows])
		if tau2 != 0 {
			sb2st.GerDotAxpyCols(rows, length-1, &below[ld-1], ld-1, &v[1], &w[0], -tau, &u[0], tau2)
		} else {
			sb2st.Ger(rows, length-1, &below[ld-1], ld-1, &v[1], &w[0], -tau)
		}
		s.v, s.u = u, v
		if rows < 2 {
			return false
		}
		s.r0, s.length, s.tau = rb, rows, tau2
		return true
	}
	if tau != 0 {
		bm.rightReflect(rows, length, below, ld-1, v[:length], tau, w)
	}
	beta, tau := larfg(rows, below[0], below[1:rows])
	below[0] = beta
	v[0] = 1
	copy(v[1:rows], below[1:rows])
	clear(below[1:rows])
	if tau != 0 && length > 1 {
		bm.leftReflect(rows, length-1, below[ld-1:], ld-1, v[:rows], tau)
	}
	if rows < 2 {
		return false
	}
	s.r0, s.length, s.tau = rb, rows, tau
	return true
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
