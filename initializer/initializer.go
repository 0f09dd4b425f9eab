// Package initializer sets the parameters of a model from a seeded random
// number generator, following torch.nn.init (THEORY.md §5) plus the two
// dependent initialisations of THEORY.md §4 P3: "symmetric" (every weight of a
// layer equal to one constant) and "symmetric+noise" (that constant plus
// independent Gaussian noise of scale ε).
//
// Every scheme draws in float64 and converts to the model's element type, so a
// float32 and a float64 model initialised from the same seed hold the same
// numbers up to rounding. Parameters are visited in the order given, and each
// scheme consumes the generator in a fixed order, so a seed fixes the result.
package initializer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/nn"
)

// Options selects an initialisation scheme and its free constants.
type Options struct {
	// Scheme is one of Names(); "" means PyTorch.
	Scheme Scheme
	// Constant scales the "symmetric" weights: every weight of a parameter
	// tensor is set to Constant/FanIn. 0 selects DefaultConstant.
	//
	// Why c/fan_in: with c = 1 each unit computes the mean of its inputs, so
	// activations keep the input's scale layer after layer. That does NOT
	// make λ_max of H comparable to random init's, which THEORY.md §4 P3
	// asks for: on Model a (quick probe) c = 1 gives λ_max(H_S) ≈ 61 against
	// ≈ 3000 for the PyTorch default. Experiments that compare symmetric and
	// random init calibrate c instead (reproduce.CalibrateInit; c ≈ 11 there).
	Constant float64
	// Eps is the scale ε of the Gaussian noise added to every weight by
	// "symmetric+noise" (weights only, biases stay 0). Ignored by the other
	// schemes; must be finite and ≥ 0.
	Eps float64
}

// DefaultConstant is the "symmetric" constant used when Options.Constant is 0.
const DefaultConstant = 1.0

// Scheme names an initialisation scheme; its JSON form is the name.
type Scheme string

// Scheme names.
const (
	PyTorch        Scheme = "pytorch"
	Uniform               = "uniform"
	KaimingUniform        = "kaiming_uniform"
	XavierUniform         = "xavier_uniform"
	Normal                = "normal"
	KaimingNormal         = "kaiming_normal"
	XavierNormal          = "xavier_normal"
	Orthogonal            = "orthogonal"
	Symmetric             = "symmetric"
	SymmetricNoise        = "symmetric+noise"
)

// Schemes lists the schemes Apply accepts, the default first.
func Schemes() []Scheme {
	return []Scheme{PyTorch, Uniform, KaimingUniform, XavierUniform, Normal,
		KaimingNormal, XavierNormal, Orthogonal, Symmetric, SymmetricNoise}
}

// Names lists the scheme names, as Schemes.
func Names() []string {
	out := make([]string, 0, 10)
	for _, s := range Schemes() {
		out = append(out, string(s))
	}
	return out
}

// Known reports whether s is one of Schemes.
func (s Scheme) Known() bool { return slices.Contains(Schemes(), s) }

// kaimingGain is torch.nn.init.calculate_gain("leaky_relu", a=0) = √(2/(1+0²)),
// the gain of kaiming_uniform_ and kaiming_normal_ with their default arguments.
var kaimingGain = math.Sqrt2

// Apply initialises params in order with the scheme o.Scheme, drawing from rng.
//
// Semantics follow torch.nn.init with default arguments:
//   - "pytorch": what nn.Linear/nn.Conv2d do at construction: weights
//     kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), biases U(±1/√fan_in);
//   - "uniform": U(0, 1); "normal": N(0, 1);
//   - "kaiming_uniform", "kaiming_normal": a = 0, mode fan_in, leaky_relu,
//     so std = √2/√fan_in (uniform bound √3·std);
//   - "xavier_uniform", "xavier_normal": gain 1, std = √(2/(fan_in+fan_out));
//   - "orthogonal": gain 1, the weight flattened to rows × (rest) is the
//     sign-corrected Q factor of a Gaussian matrix (torch's algorithm);
//   - "symmetric": every weight equal to Constant/fan_in (see Options);
//   - "symmetric+noise": that constant plus Eps·N(0,1) per weight.
//
// All schemes but "pytorch" set biases (Param.Bias) to 0 (THEORY.md §5).
// Fans come from Param.FanIn and Param.FanOut.
func Apply[T nn.Float](params []*nn.Param[T], o Options, rng *rand.Rand) error {
	scheme := o.Scheme
	if scheme == "" {
		scheme = PyTorch
	}
	if !scheme.Known() {
		return fmt.Errorf("initializer: unknown scheme %q (valid: %s)", o.Scheme, strings.Join(Names(), ", "))
	}
	if math.IsNaN(o.Eps) || math.IsInf(o.Eps, 0) || o.Eps < 0 {
		return fmt.Errorf("initializer: eps %v: must be finite and ≥ 0", o.Eps)
	}
	if math.IsNaN(o.Constant) || math.IsInf(o.Constant, 0) {
		return fmt.Errorf("initializer: constant %v: must be finite", o.Constant)
	}
	if rng == nil {
		panic("initializer: nil *rand.Rand")
	}
	for _, p := range params {
		if err := applyOne(p, scheme, o, rng); err != nil {
			return err
		}
	}
	return nil
}

func applyOne[T nn.Float](p *nn.Param[T], scheme Scheme, o Options, rng *rand.Rand) error {
	needFanIn := scheme == PyTorch || scheme == KaimingUniform || scheme == KaimingNormal ||
		(!p.Bias && (scheme == Symmetric || scheme == SymmetricNoise))
	if needFanIn && p.FanIn <= 0 {
		return fmt.Errorf("initializer: %s: parameter %q has fan_in %d", scheme, p.Name, p.FanIn)
	}
	if p.Bias {
		if scheme == PyTorch {
			fillUniform(p.Value, rng, -1/math.Sqrt(float64(p.FanIn)), 1/math.Sqrt(float64(p.FanIn)))
		} else {
			clear(p.Value)
		}
		return nil
	}
	switch scheme {
	case PyTorch:
		// kaiming_uniform_(a=√5): gain √(2/(1+5)), bound √3·gain/√fan_in = 1/√fan_in.
		b := 1 / math.Sqrt(float64(p.FanIn))
		fillUniform(p.Value, rng, -b, b)
	case Uniform:
		fillUniform(p.Value, rng, 0, 1)
	case Normal:
		fillNormal(p.Value, rng, 0, 1)
	case KaimingUniform:
		b := math.Sqrt(3) * kaimingGain / math.Sqrt(float64(p.FanIn))
		fillUniform(p.Value, rng, -b, b)
	case KaimingNormal:
		fillNormal(p.Value, rng, 0, kaimingGain/math.Sqrt(float64(p.FanIn)))
	case XavierUniform, XavierNormal:
		if p.FanIn+p.FanOut <= 0 {
			return fmt.Errorf("initializer: %s: parameter %q has fan_in %d, fan_out %d", scheme, p.Name, p.FanIn, p.FanOut)
		}
		std := math.Sqrt(2 / float64(p.FanIn+p.FanOut))
		if scheme == XavierUniform {
			fillUniform(p.Value, rng, -math.Sqrt(3)*std, math.Sqrt(3)*std)
		} else {
			fillNormal(p.Value, rng, 0, std)
		}
	case Orthogonal:
		return fillOrthogonal(p, rng)
	case Symmetric, SymmetricNoise:
		c := o.Constant
		if c == 0 {
			c = DefaultConstant
		}
		c /= float64(p.FanIn)
		for i := range p.Value {
			v := c
			if scheme == SymmetricNoise {
				v += o.Eps * rng.NormFloat64()
			}
			p.Value[i] = T(v)
		}
	}
	return nil
}

func fillUniform[T nn.Float](v []T, rng *rand.Rand, lo, hi float64) {
	for i := range v {
		v[i] = T(lo + (hi-lo)*rng.Float64())
	}
}

func fillNormal[T nn.Float](v []T, rng *rand.Rand, mean, std float64) {
	for i := range v {
		v[i] = T(mean + std*rng.NormFloat64())
	}
}

// fillOrthogonal follows torch.nn.init.orthogonal_: view the weight as
// rows = Shape[0] by cols = rest, draw a Gaussian matrix of that shape, take
// the QR factorisation of it (of its transpose when rows < cols), multiply
// column j of Q by sign(R_jj) so the result is uniquely defined (Haar
// distributed), and transpose back. Rows (or columns, whichever are fewer)
// are then orthonormal.
func fillOrthogonal[T nn.Float](p *nn.Param[T], rng *rand.Rand) error {
	if len(p.Shape) == 0 || p.Len() == 0 {
		return fmt.Errorf("initializer: orthogonal: parameter %q has empty shape %v", p.Name, p.Shape)
	}
	rows := p.Shape[0]
	cols := p.Len() / rows
	g := make([]float64, rows*cols)
	for i := range g {
		g[i] = rng.NormFloat64()
	}
	a := mat.NewDense(rows, cols, g)
	var flat mat.Matrix = a
	m, n := rows, cols
	if rows < cols {
		flat = a.T()
		m, n = cols, rows
	}
	var qr mat.QR
	qr.Factorize(flat) // m×n with m ≥ n
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for j := 0; j < n; j++ {
		s := 1.0
		if r.At(j, j) < 0 {
			s = -1
		}
		for i := 0; i < m; i++ {
			v := s * q.At(i, j)
			if rows < cols {
				p.Value[j*cols+i] = T(v) // Q is cols×rows: transpose back
			} else {
				p.Value[i*cols+j] = T(v)
			}
		}
	}
	return nil
}
