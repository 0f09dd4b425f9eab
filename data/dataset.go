package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/nn"
)

// MNIST pixel statistics used by the paper's experiment code (THEORY §5):
// (x/255 − MNISTMean)/MNISTStd has mean ≈ 0 and standard deviation ≈ 1 over
// the MNIST training set.
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

// Normalization modes for 8-bit pixel data.
const (
	// ModeStandard maps a pixel byte x to (x/255 − Mean)/Std.
	ModeStandard = "standard"
	// ModeNone maps a pixel byte x to x/255.
	ModeNone = "none"
)

// Normalization says how 8-bit pixel bytes become features. The zero value
// means the standard MNIST normalisation (THEORY §5), i.e. StandardMNIST.
// Normalization has no effect on float-feature datasets (Synthetic,
// NewFeatures), whose features are returned as stored.
type Normalization struct {
	Mode      string // ModeStandard, ModeNone, or "" for StandardMNIST
	Mean, Std float64
}

// StandardMNIST is the default normalisation: mean 0.1307, std 0.3081.
var StandardMNIST = Normalization{Mode: ModeStandard, Mean: MNISTMean, Std: MNISTStd}

// resolve validates n and fills in the default for the zero value.
func (n Normalization) resolve() (Normalization, error) {
	switch n.Mode {
	case "":
		if n.Mean != 0 || n.Std != 0 {
			return n, fmt.Errorf("data: normalization mode is empty but mean %v, std %v given; set Mode to %q", n.Mean, n.Std, ModeStandard)
		}
		return StandardMNIST, nil
	case ModeStandard:
		if math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
			return n, fmt.Errorf("data: normalization mean %v is not finite", n.Mean)
		}
		if !(n.Std > 0) || math.IsInf(n.Std, 0) {
			return n, fmt.Errorf("data: normalization std %v must be positive and finite", n.Std)
		}
		return n, nil
	case ModeNone:
		return Normalization{Mode: ModeNone}, nil
	default:
		return n, fmt.Errorf("data: unknown normalization mode %q (want %q or %q)", n.Mode, ModeStandard, ModeNone)
	}
}

// pixelTable is the byte → feature map of a normalisation, computed in
// float64, and the same values rounded once to float32, so a float32 batch
// is gathered by one lookup per pixel with the bits of float32(f64[v]).
type pixelTable struct {
	f64 [256]float64
	f32 [256]float32
}

// table is the byte → feature map of n.
func (n Normalization) table() *pixelTable {
	var t pixelTable
	for v := range t.f64 {
		x := float64(v) / 255
		if n.Mode == ModeStandard {
			x = (x - n.Mean) / n.Std
		}
		t.f64[v] = x
		t.f32[v] = float32(x)
	}
	return &t
}

func (n Normalization) String() string {
	if n.Mode == ModeStandard {
		return fmt.Sprintf("standard(mean %v, std %v)", n.Mean, n.Std)
	}
	return n.Mode
}

// Dataset is a labelled set of N samples of per-sample shape Shape, with
// labels in [0, K). Pixel datasets (IDX, MNIST) keep the raw bytes and
// normalise on the fly, so a dataset costs one byte per pixel; synthetic
// datasets keep float64 features. Subsets share the storage of their parent.
type Dataset struct {
	Name   string
	N, K   int      // samples, classes
	Shape  nn.Shape // per-sample shape: [1 28 28] for MNIST, [D] for synthetic
	Labels []int    // len N, each in [0, K)

	pix   []uint8   // pixel storage, dim bytes per stored sample (nil for float features)
	feat  []float64 // float feature storage, dim values per stored sample (nil for pixels)
	index []int     // sample i is stored sample index[i]; nil means identity
	norm  Normalization
	lut   *pixelTable // byte → feature under norm
}

// Dim is the number of features of one sample (the product of Shape).
func (d *Dataset) Dim() int { return d.Shape.Size() }

// Normalization is the pixel normalisation in force (the zero value for
// float-feature datasets).
func (d *Dataset) Normalization() Normalization { return d.norm }

// stored is the storage row of sample i.
func (d *Dataset) stored(i int) int {
	if i < 0 || i >= d.N {
		panic(fmt.Sprintf("data: %s: sample %d out of range [0, %d)", d.Name, i, d.N))
	}
	if d.index == nil {
		return i
	}
	return d.index[i]
}

// Row writes the normalised features of sample i into dst (len Dim),
// computed in float64.
func (d *Dataset) Row(dst []float64, i int) {
	dim := d.Dim()
	if len(dst) != dim {
		panic(fmt.Sprintf("data: %s: Row dst has length %d, want %d", d.Name, len(dst), dim))
	}
	s := d.stored(i)
	if d.pix != nil {
		lut := &d.lut.f64
		for j, v := range d.pix[s*dim : (s+1)*dim] {
			dst[j] = lut[v]
		}
		return
	}
	copy(dst, d.feat[s*dim:(s+1)*dim])
}

// Gather writes the samples idx as the rows of dst, reallocating dst when it
// is nil or its capacity is short, and returns it. Features are computed in
// float64 and then converted to T.
func Gather[T nn.Float](d *Dataset, idx []int, dst *nn.Mat[T]) *nn.Mat[T] {
	dim := d.Dim()
	rows := len(idx)
	if dst == nil {
		dst = &nn.Mat[T]{}
	}
	if cap(dst.Data) < rows*dim {
		dst.Data = make([]T, rows*dim)
	}
	dst.Rows, dst.Cols, dst.Data = rows, dim, dst.Data[:rows*dim]
	switch out := any(dst.Data).(type) {
	case []float32:
		if d.pix != nil {
			// Rows sit at random places of a large array: each row's
			// lines are requested prefetchAhead rows before it is read,
			// so its misses overlap the conversion of the rows before.
			row := func(r int) []uint8 {
				s := d.stored(idx[r])
				return d.pix[s*dim : (s+1)*dim]
			}
			// Large batches are shared with the team's worker when it is
			// spinning, as it is in the training loop, between two steps'
			// products (internal/parallel.TeamIfAwake): a goroutine started
			// for the second half began too late to gain anything.
			parts := 1
			if rows*dim >= gatherSplit && runtime.GOMAXPROCS(0) > 1 {
				parts = 2
			}
			parallel.TeamIfAwake(parts, func(i int) {
				lo, hi := i*rows/parts, (i+1)*rows/parts
				for r := lo; r < min(lo+prefetchAhead, hi); r++ {
					simd.Prefetch(row(r))
				}
				for r := lo; r < hi; r++ {
					if r+prefetchAhead < hi {
						simd.Prefetch(row(r + prefetchAhead))
					}
					simd.Lookup32(out[r*dim:(r+1)*dim], row(r), &d.lut.f32)
				}
			})
			return dst
		}
	case []float64:
		if d.pix != nil {
			gatherPix(out, d, idx, &d.lut.f64)
			return dst
		}
	}
	for r, i := range idx {
		s := d.stored(i)
		out := dst.Data[r*dim : (r+1)*dim]
		if d.pix != nil {
			lut := &d.lut.f64
			for j, v := range d.pix[s*dim : (s+1)*dim] {
				out[j] = T(lut[v])
			}
			continue
		}
		for j, v := range d.feat[s*dim : (s+1)*dim] {
			out[j] = T(v)
		}
	}
	return dst
}

// gatherSplit is the number of values from which Gather converts a float32
// pixel batch on two goroutines: an MNIST batch of 128 (10⁵ values) took
// 87–95 µs on one or with a goroutine started for the second half, 48–53 µs
// with the training loop's spinning team worker.
const gatherSplit = 1 << 16

// prefetchAhead is how many rows ahead Gather prefetches: 4 MNIST rows are
// 52 cache lines in flight, about what a core's miss queues hold.
const prefetchAhead = 4

// gatherPix writes the pixel samples idx through lut as the rows of out
// (len(idx)·Dim values): one table lookup per pixel, no conversion.
func gatherPix[T nn.Float](out []T, d *Dataset, idx []int, lut *[256]T) {
	dim := d.Dim()
	for r, i := range idx {
		s := d.stored(i)
		src := d.pix[s*dim : (s+1)*dim]
		dst := out[r*dim : (r+1)*dim]
		dst = dst[:len(src)]
		for j, v := range src {
			dst[j] = lut[v]
		}
	}
}

// Subset returns the dataset of samples idx (in that order, repeats
// allowed), sharing d's storage. An index outside [0, N) is a programmer
// error and panics.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := *d
	s.N = len(idx)
	s.Labels = make([]int, len(idx))
	s.index = make([]int, len(idx))
	for j, i := range idx {
		s.index[j] = d.stored(i)
		s.Labels[j] = d.Labels[i]
	}
	s.Shape = append(nn.Shape(nil), d.Shape...)
	return &s
}

// First returns the subset of the first n samples.
func (d *Dataset) First(n int) (*Dataset, error) {
	if n < 1 || n > d.N {
		return nil, fmt.Errorf("data: %s: cannot take the first %d samples of %d", d.Name, n, d.N)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return d.Subset(idx), nil
}

// WithNormalization returns a view of d (sharing storage) that normalises
// pixels with n. Float-feature datasets have no pixels to normalise and
// return an error.
func (d *Dataset) WithNormalization(n Normalization) (*Dataset, error) {
	if d.pix == nil {
		return nil, fmt.Errorf("data: %s: has float features, not pixels; normalization %v does not apply", d.Name, n)
	}
	r, err := n.resolve()
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", d.Name, err)
	}
	s := *d
	s.norm, s.lut = r, r.table()
	return &s, nil
}

// ClassCounts returns the number of samples of each class (len K).
func (d *Dataset) ClassCounts() []int {
	c := make([]int, d.K)
	for _, y := range d.Labels {
		c[y]++
	}
	return c
}

// NewFeatures builds a float-feature dataset of len(labels) samples of the
// given shape from feat (row-major, shape.Size() values per sample; the
// dataset keeps feat without copying). k is the number of classes; labels
// must lie in [0, k) and k must be at least 2. Non-finite features are an
// error.
func NewFeatures(name string, shape nn.Shape, feat []float64, labels []int, k int) (*Dataset, error) {
	dim := shape.Size()
	if len(shape) == 0 || dim < 1 {
		return nil, fmt.Errorf("data: %s: invalid per-sample shape %v", name, shape)
	}
	for _, s := range shape {
		if s < 1 {
			return nil, fmt.Errorf("data: %s: invalid per-sample shape %v", name, shape)
		}
	}
	if len(feat) != len(labels)*dim {
		return nil, fmt.Errorf("data: %s: %d features for %d samples of shape %v (want %d)", name, len(feat), len(labels), shape, len(labels)*dim)
	}
	if err := checkLabels(name, labels, k); err != nil {
		return nil, err
	}
	for j, v := range feat {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("data: %s: sample %d feature %d is %v", name, j/dim, j%dim, v)
		}
	}
	return &Dataset{Name: name, N: len(labels), K: k, Shape: append(nn.Shape(nil), shape...), Labels: labels, feat: feat}, nil
}

func checkLabels(name string, labels []int, k int) error {
	if k < 2 {
		return fmt.Errorf("data: %s: %d classes; need at least 2", name, k)
	}
	for i, y := range labels {
		if y < 0 || y >= k {
			return fmt.Errorf("data: %s: label %d of sample %d out of range [0, %d)", name, y, i, k)
		}
	}
	return nil
}

// Permutation returns a uniformly random permutation of 0..n-1 drawn with the
// Fisher–Yates shuffle on rng, so it is deterministic for a given seed.
func Permutation(n int, rng *rand.Rand) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
