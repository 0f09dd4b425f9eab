// Package optim holds the optimisers of the training loop: plain SGD, SGD with
// heavy-ball momentum and Adam, with exactly the update rules of
// torch.optim.SGD and torch.optim.Adam (THEORY §5 trains with Adam), a step-decay
// learning-rate schedule (torch.optim.lr_scheduler.StepLR) and serialisable
// state so a checkpointed run resumes bit for bit.
//
// Moments are stored in the parameters' element type T, as PyTorch stores
// them in the parameters' dtype; each element's update is computed in float64.
// On amd64, float32 updates run in AVX-512 or AVX2 kernels (update_amd64.s)
// that perform the same float64 operations as the Go loop, in the same
// order, so results are bit-identical whichever code runs (build with
// -tags purego for the Go loop alone).
package optim

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/nn"
)

// Optimizer updates parameters from their gradients.
type Optimizer[T nn.Float] interface {
	// Step updates params in place from their Grad with learning rate lr; it
	// does not zero Grad. The first Step fixes the parameter layout (count,
	// names, lengths); Step panics when a later call, or a state restored by
	// SetState, does not match it (use Check to get an error instead).
	Step(params []*nn.Param[T], lr float64)
	// Name is "sgd", "momentum" or "adam".
	Name() string
	// State serialises the internal state (step count, moments, layout) for a
	// checkpoint.
	State() ([]byte, error)
	// SetState restores a state written by State. It errors on undecodable
	// bytes, a state of another optimiser or other hyperparameters, and on a
	// layout that differs from the one already fixed by Step.
	SetState([]byte) error
	// Check errors unless the optimiser's state (restored or built by Step)
	// fits params; with no state yet any params fit.
	Check(params []*nn.Param[T]) error
}

// FiniteStepper is an Optimizer that can say, from the update itself,
// whether it left every parameter value finite (a NaN or ±Inf gradient
// makes its weights non-finite through every rule), so a training loop
// needs no scan of its own. Every optimiser New returns implements it.
type FiniteStepper[T nn.Float] interface {
	// StepFinite is Step, and reports whether every value of params is
	// finite after it.
	StepFinite(params []*nn.Param[T], lr float64) bool
}

// PieceStepper is a FiniteStepper whose rule may be elementwise without
// state (plain SGD without weight decay), so a training loop can update a
// tensor piece by piece as its gradient is computed, while the pieces are in
// cache. Every optimiser New returns implements it.
type PieceStepper[T nn.Float] interface {
	FiniteStepper[T]
	// Piece returns the update at learning rate lr of values th from their
	// gradients g (of th's length), the same bits as Step gives them,
	// reporting whether every updated value is finite; nil when the rule has
	// state or weight decay. Pieces may be updated concurrently.
	Piece(lr float64) func(th, g []T) bool
	// StepFiniteSkip is StepFinite leaving params[i] alone where skip[i]
	// (tensors updated in this step by Piece's function).
	StepFiniteSkip(params []*nn.Param[T], lr float64, skip []bool) bool
}

// Config selects and parameterises an optimiser. Zero values of Momentum,
// Beta1, Beta2 and Eps mean PyTorch's defaults (momentum 0.9, β1 0.9,
// β2 0.999, eps 1e-8); WeightDecay is an L2 penalty added to the gradient
// (g + wd·θ, as torch.optim.SGD and Adam, not AdamW), default 0. Fields the
// named optimiser does not use are validated but ignored.
type Config struct {
	Name                        string
	Momentum, Beta1, Beta2, Eps float64
	WeightDecay                 float64
}

// Default hyperparameters (PyTorch's).
const (
	DefaultMomentum = 0.9
	DefaultBeta1    = 0.9
	DefaultBeta2    = 0.999
	DefaultEps      = 1e-8
)

var names = []string{"sgd", "momentum", "adam"}

// Names lists the valid optimiser names.
func Names() []string { return append([]string(nil), names...) }

// withDefaults fills the zero fields with the defaults.
func (c Config) withDefaults() Config {
	if c.Momentum == 0 {
		c.Momentum = DefaultMomentum
	}
	if c.Beta1 == 0 {
		c.Beta1 = DefaultBeta1
	}
	if c.Beta2 == 0 {
		c.Beta2 = DefaultBeta2
	}
	if c.Eps == 0 {
		c.Eps = DefaultEps
	}
	return c
}

// Validate errors on an unknown name or an invalid hyperparameter (NaN, Inf,
// negative, momentum or β outside [0, 1)). Zero fields are valid (defaults).
func (c Config) Validate() error {
	known := false
	for _, n := range names {
		known = known || c.Name == n
	}
	if !known {
		return fmt.Errorf("optim: unknown optimiser %q (valid: %s)", c.Name, strings.Join(names, ", "))
	}
	for _, f := range []struct {
		field string
		v     float64
		unit  bool // must lie in [0, 1)
	}{{"momentum", c.Momentum, true}, {"beta1", c.Beta1, true}, {"beta2", c.Beta2, true}, {"eps", c.Eps, false}, {"weight decay", c.WeightDecay, false}} {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0):
			return fmt.Errorf("optim: %s: %s = %v is not finite", c.Name, f.field, f.v)
		case f.v < 0:
			return fmt.Errorf("optim: %s: %s = %v is negative", c.Name, f.field, f.v)
		case f.unit && f.v >= 1:
			return fmt.Errorf("optim: %s: %s = %v must lie in [0, 1)", c.Name, f.field, f.v)
		}
	}
	return nil
}

// New returns the optimiser named by c.Name ("sgd", "momentum", "adam").
func New[T nn.Float](c Config) (Optimizer[T], error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	o := &optimizer[T]{cfg: c}
	switch c.Name {
	case "momentum":
		o.nMoments = 1
	case "adam":
		o.nMoments = 2
	}
	return o, nil
}

// optimizer implements all three rules; nMoments is 0 (sgd), 1 (momentum
// buffer) or 2 (Adam's first and second moments).
type optimizer[T nn.Float] struct {
	cfg      Config
	nMoments int
	step     int
	names    []string
	lens     []int
	moments  [][][]T // moments[j][i] is moment j of param i
}

func (o *optimizer[T]) Name() string { return o.cfg.Name }

// Check implements Optimizer.
func (o *optimizer[T]) Check(params []*nn.Param[T]) error {
	if o.lens == nil {
		return nil
	}
	if len(params) != len(o.lens) {
		return fmt.Errorf("optim: %s: state has %d parameter tensors, model has %d", o.cfg.Name, len(o.lens), len(params))
	}
	for i, p := range params {
		if p.Len() != o.lens[i] || p.Name != o.names[i] {
			return fmt.Errorf("optim: %s: parameter %d is %q with %d values, state has %q with %d", o.cfg.Name, i, p.Name, p.Len(), o.names[i], o.lens[i])
		}
		if len(p.Grad) != p.Len() {
			return fmt.Errorf("optim: %s: parameter %q has %d values but %d gradients", o.cfg.Name, p.Name, p.Len(), len(p.Grad))
		}
	}
	return nil
}

// bind fixes the layout on first use and allocates zero moments (PyTorch's
// lazily created buffers behave as zeros: the first momentum buffer μ·0 + g = g).
func (o *optimizer[T]) bind(params []*nn.Param[T]) {
	if o.lens != nil {
		if err := o.Check(params); err != nil {
			panic(err.Error())
		}
		return
	}
	o.names, o.lens = make([]string, len(params)), make([]int, len(params))
	o.moments = make([][][]T, o.nMoments)
	for j := range o.moments {
		o.moments[j] = make([][]T, len(params))
	}
	for i, p := range params {
		if len(p.Grad) != p.Len() {
			panic(fmt.Sprintf("optim: %s: parameter %q has %d values but %d gradients", o.cfg.Name, p.Name, p.Len(), len(p.Grad)))
		}
		o.names[i], o.lens[i] = p.Name, p.Len()
		for j := range o.moments {
			o.moments[j][i] = make([]T, p.Len())
		}
	}
}

// Step implements Optimizer with the update rules of torch.optim:
//
//	sgd:       θ −= lr·g
//	momentum:  b = μ·b + g;  θ −= lr·b
//	adam:      m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//	           θ −= (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + eps)
//
// with g = ∇θ + wd·θ. lr must be finite and ≥ 0 (a programmer error otherwise).
func (o *optimizer[T]) Step(params []*nn.Param[T], lr float64) { o.apply(params, lr, false) }

// StepFinite implements FiniteStepper.
func (o *optimizer[T]) StepFinite(params []*nn.Param[T], lr float64) bool {
	return o.apply(params, lr, true)
}

var _ PieceStepper[float32] = (*optimizer[float32])(nil)

// Piece implements PieceStepper.
func (o *optimizer[T]) Piece(lr float64) func(th, g []T) bool {
	checkLR(o.cfg.Name, lr)
	if o.cfg.Name != "sgd" || o.cfg.WeightDecay != 0 {
		return nil
	}
	u := o.rule(lr)
	return func(th, g []T) bool { return u.apply(th, g, nil, nil, true) }
}

// StepFiniteSkip implements PieceStepper.
func (o *optimizer[T]) StepFiniteSkip(params []*nn.Param[T], lr float64, skip []bool) bool {
	return o.applySkip(params, lr, true, skip)
}

func checkLR(name string, lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		panic(fmt.Sprintf("optim: %s: learning rate %v", name, lr))
	}
}

// apply is Step; with check it also reports whether every updated value is
// finite (else true).
func (o *optimizer[T]) apply(params []*nn.Param[T], lr float64, check bool) bool {
	return o.applySkip(params, lr, check, nil)
}

// applySkip is apply leaving params[i] alone where skip[i] (skip nil or of
// params' length).
func (o *optimizer[T]) applySkip(params []*nn.Param[T], lr float64, check bool, skip []bool) bool {
	checkLR(o.cfg.Name, lr)
	if skip != nil && len(skip) != len(params) {
		panic(fmt.Sprintf("optim: %s: %d skip flags for %d parameter tensors", o.cfg.Name, len(skip), len(params)))
	}
	o.bind(params)
	o.step++
	u := o.rule(lr)
	finite := true
	for i, p := range params {
		if skip != nil && skip[i] {
			continue
		}
		var m0, m1 []T
		if o.nMoments > 0 {
			m0 = o.moments[0][i]
		}
		if o.nMoments > 1 {
			m1 = o.moments[1][i]
		}
		n := len(p.Grad)
		workers := min(runtime.GOMAXPROCS(0), n/u.splitMin(), maxTasks)
		if workers <= 1 {
			finite = u.apply(p.Value, p.Grad, m0, m1, check) && finite
			continue
		}
		// Elements are independent: split them into contiguous chunks, one
		// per goroutine. The result does not depend on the split.
		chunk := (n + workers - 1) / workers
		tasks := (n + chunk - 1) / chunk
		var ok [maxTasks]bool
		if tasks > maxTasks {
			panic("optim: too many update chunks")
		}
		parallel.Run(tasks, func(t int) {
			lo, hi := t*chunk, min((t+1)*chunk, n)
			ok[t] = u.apply(p.Value[lo:hi], p.Grad[lo:hi], sub(m0, lo, hi), sub(m1, lo, hi), check)
		})
		for _, f := range ok[:tasks] {
			finite = finite && f
		}
	}
	return finite
}

// maxTasks bounds the chunks of one tensor's update (GOMAXPROCS is at
// most this many in practice; more would only wait on each other).
const maxTasks = 64

// parallelMin and parallelMinVector are the numbers of elements per
// goroutine below which a parameter tensor is updated on the calling
// goroutine alone, for the Go loop and for the assembly kernels.
//
// Go loop: the update right after backward is bound by fetching gradients
// the GEMM goroutines left in the other core's cache (≈ 4× slower than the
// same update repeated at once), so even mid-sized tensors gain from two
// cores fetching at once.
//
// The assembly kernels are several times faster per element, so a 2-way
// split of ~100k elements costs more in waking and waiting for the second
// goroutine than it saves (BenchmarkStep); tensors of MLP-1000 size (785k)
// are still split.
const (
	parallelMin       = 1 << 13
	parallelMinVector = 1 << 16
)

// splitMin is the splitting threshold (parallelMin or parallelMinVector) for
// an update of T with the kernel in use.
func (u update[T]) splitMin() int {
	var t T
	if _, f32 := any(t).(float32); f32 && useKernel != kernelGo {
		return parallelMinVector
	}
	return parallelMin
}

func sub[T nn.Float](m []T, lo, hi int) []T {
	if m == nil {
		return nil
	}
	return m[lo:hi]
}

// update is one step's rule with its scalars fixed: it updates values θ from
// gradients g and moments m0, m1 (nil when the rule has none) elementwise.
type update[T nn.Float] struct{ coef }

// coef holds a rule's scalars, all float64 whatever T.
type coef struct {
	name              string
	lr, wd, mu        float64
	b1, b2, eps       float64
	stepSize, sqrtBC2 float64
}

func (o *optimizer[T]) rule(lr float64) update[T] {
	c := coef{name: o.cfg.Name, lr: lr, wd: o.cfg.WeightDecay, mu: o.cfg.Momentum,
		b1: o.cfg.Beta1, b2: o.cfg.Beta2, eps: o.cfg.Eps}
	if c.name == "adam" {
		t := float64(o.step)
		c.stepSize = lr / (1 - math.Pow(c.b1, t))
		c.sqrtBC2 = math.Sqrt(1 - math.Pow(c.b2, t))
	}
	return update[T]{c}
}

// kernel selects how float32 updates are computed: the Go loop applyGo or
// an assembly kernel (update_amd64.s) with the same operations in the same
// order, so every kernel gives the same bits. float64 parameters always use
// the Go loop.
type kernel int

const (
	kernelGo     kernel = iota
	kernelAVX2          // 4 float64 lanes
	kernelAVX512        // 8 float64 lanes
)

func (k kernel) String() string { return [...]string{"go", "avx2", "avx512"}[k] }

// useKernel is the kernel Step uses for float32 parameters: the widest the
// CPU supports (bestKernel); tests switch it to compare kernels.
var useKernel = bestKernel()

// apply updates th[k] for every k (see Step for the rules). Each element's
// update is computed in float64 and rounded to T once. With check it
// reports whether every updated th[k] is finite (else true): from the
// kernel when it checks as it goes (sgdZ), otherwise by a scan of th.
func (u update[T]) apply(th, grad, m0, m1 []T, check bool) bool {
	th = th[:len(grad)]
	all := th
	if useKernel != kernelGo {
		if th32, ok := any(th).([]float32); ok {
			// The kernel updates a prefix (a multiple of its width); the Go
			// loop does the rest.
			n, known, finite := applyVector(useKernel, &u.coef, th32, any(grad).([]float32), any(m0).([]float32), any(m1).([]float32))
			if check && known {
				if !finite {
					u.applyGo(th[n:], grad[n:], sub(m0, n, len(grad)), sub(m1, n, len(grad)))
					return false
				}
				all = th[n:]
			}
			th, grad, m0, m1 = th[n:], grad[n:], sub(m0, n, len(grad)), sub(m1, n, len(grad))
		}
	}
	u.applyGo(th, grad, m0, m1)
	return !check || simd.AllFinite(all)
}

// applyGo is the scalar reference of every kernel. Products feeding a sum
// are wrapped in float64(·): an explicit conversion rounds, which forbids
// the compiler from fusing them into an FMA (Go spec, "Arithmetic
// operators"; amd64 fuses with GOAMD64=v3), so the result is the rounded
// operation sequence as written on every GOARCH.
func (u update[T]) applyGo(th, grad, m0, m1 []T) {
	lr, wd := u.lr, u.wd
	th = th[:len(grad)]
	switch u.name {
	case "sgd":
		if wd == 0 {
			for k, g := range grad {
				th[k] = T(float64(th[k]) - float64(lr*float64(g)))
			}
			return
		}
		for k, g := range grad {
			t := float64(th[k])
			th[k] = T(t - float64(lr*(float64(g)+float64(wd*t))))
		}
	case "momentum":
		mu := u.mu
		buf := m0[:len(grad)]
		for k, g := range grad {
			t := float64(th[k])
			b := float64(mu*float64(buf[k])) + float64(g) + float64(wd*t)
			buf[k] = T(b)
			th[k] = T(t - float64(lr*b))
		}
	case "adam":
		b1, b2, eps, stepSize, sqrtBC2 := u.b1, u.b2, u.eps, u.stepSize, u.sqrtBC2
		m, v := m0[:len(grad)], m1[:len(grad)]
		for k, g := range grad {
			t := float64(th[k])
			gk := float64(g) + float64(wd*t)
			mk := float64(b1*float64(m[k])) + float64((1-b1)*gk)
			vk := float64(b2*float64(v[k])) + float64(float64((1-b2)*gk)*gk)
			m[k], v[k] = T(mk), T(vk)
			th[k] = T(t - stepSize*mk/(math.Sqrt(vk)/sqrtBC2+eps))
		}
	}
}

// savedState is the serialised form of an optimiser's state. Moments are
// widened to float64, which is exact for float32.
type savedState struct {
	Config  Config
	Step    int
	Names   []string
	Lens    []int
	Moments [][][]float64
}

// State implements Optimizer (gob encoding).
func (o *optimizer[T]) State() ([]byte, error) {
	s := savedState{Config: o.cfg, Step: o.step, Names: o.names, Lens: o.lens}
	s.Moments = make([][][]float64, len(o.moments))
	for j, mj := range o.moments {
		s.Moments[j] = make([][]float64, len(mj))
		for i, m := range mj {
			s.Moments[j][i] = make([]float64, len(m))
			for k, v := range m {
				s.Moments[j][i][k] = float64(v)
			}
		}
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return nil, fmt.Errorf("optim: %s: encode state: %w", o.cfg.Name, err)
	}
	return b.Bytes(), nil
}

// SetState implements Optimizer.
func (o *optimizer[T]) SetState(data []byte) error {
	var s savedState
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return fmt.Errorf("optim: %s: decode state (%d bytes): %w", o.cfg.Name, len(data), err)
	}
	if s.Config != o.cfg {
		return fmt.Errorf("optim: state is for %+v, optimiser is %+v", s.Config, o.cfg)
	}
	if s.Step < 0 || len(s.Names) != len(s.Lens) {
		return fmt.Errorf("optim: %s: corrupt state: step %d, %d names for %d lengths", o.cfg.Name, s.Step, len(s.Names), len(s.Lens))
	}
	if s.Lens != nil && len(s.Moments) != o.nMoments {
		return fmt.Errorf("optim: %s: state has %d moment sets, want %d", o.cfg.Name, len(s.Moments), o.nMoments)
	}
	for j, mj := range s.Moments {
		if len(mj) != len(s.Lens) {
			return fmt.Errorf("optim: %s: moment set %d has %d tensors, layout has %d", o.cfg.Name, j, len(mj), len(s.Lens))
		}
		for i, m := range mj {
			if len(m) != s.Lens[i] {
				return fmt.Errorf("optim: %s: moment %d of %q has %d values, want %d", o.cfg.Name, j, s.Names[i], len(m), s.Lens[i])
			}
		}
	}
	// Once Step has fixed the layout, the restored one must match it.
	if o.lens != nil && s.Lens != nil && (!slices.Equal(o.lens, s.Lens) || !slices.Equal(o.names, s.Names)) {
		return fmt.Errorf("optim: %s: restored layout %v %v differs from the parameters in use %v %v", o.cfg.Name, s.Names, s.Lens, o.names, o.lens)
	}
	o.step, o.names, o.lens, o.moments = s.Step, s.Names, s.Lens, nil
	if s.Lens == nil {
		return nil // no Step taken yet: layout still free
	}
	o.moments = make([][][]T, o.nMoments)
	for j := range o.moments {
		o.moments[j] = make([][]T, len(s.Lens))
		for i, n := range s.Lens {
			o.moments[j][i] = make([]T, n)
			for k := range o.moments[j][i] {
				o.moments[j][i][k] = T(s.Moments[j][i][k])
			}
		}
	}
	return nil
}

// StepDecay is the step-decay schedule of torch.optim.lr_scheduler.StepLR:
// the learning rate at epoch e (0-based) is Base·Gamma^⌊e/Every⌋; Every ≤ 0
// means a constant Base.
type StepDecay struct {
	Base, Gamma float64
	Every       int
}

// LR returns the learning rate for epoch (≥ 0).
func (s StepDecay) LR(epoch int) float64 {
	if epoch < 0 {
		panic(fmt.Sprintf("optim: step decay: epoch %d", epoch))
	}
	if s.Every <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(epoch/s.Every))
}

// Validate errors unless Base is positive and finite and, when the schedule
// decays (Every > 0), Gamma is positive and finite.
func (s StepDecay) Validate() error {
	if !(s.Base > 0) || math.IsInf(s.Base, 0) {
		return fmt.Errorf("optim: step decay: base learning rate %v must be positive and finite", s.Base)
	}
	if s.Every > 0 && (!(s.Gamma > 0) || math.IsInf(s.Gamma, 0)) {
		return fmt.Errorf("optim: step decay: gamma %v must be positive and finite (every %d epochs)", s.Gamma, s.Every)
	}
	return nil
}
