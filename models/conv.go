package models

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/nn"
)

// seq collects layers for one nn.Sequential, remembering the first error so
// builders read as a straight list of layers. out is the running output shape.
type seq[T nn.Float] struct {
	layers []nn.Layer[T]
	out    nn.Shape
	err    error
}

func (s *seq[T]) add(l nn.Layer[T], err error) {
	if s.err != nil {
		return
	}
	if err != nil {
		s.err = fmt.Errorf("layer %d: %w", len(s.layers), err)
		return
	}
	s.layers = append(s.layers, l)
	s.out = l.OutShape()
}

func (s *seq[T]) conv(outC, kernel, stride, pad int, bias bool) {
	if s.err == nil {
		c, err := nn.NewConv2D[T](s.out, outC, kernel, stride, pad, bias)
		s.add(c, err)
	}
}

func (s *seq[T]) maxPool(kernel, stride, pad int) {
	if s.err == nil {
		p, err := nn.NewMaxPool2D[T](s.out, kernel, stride, pad)
		s.add(p, err)
	}
}

func (s *seq[T]) relu()                          { s.add(nn.NewReLU[T](s.out), nil) }
func (s *seq[T]) dense(out int)                  { s.add(nn.NewDense[T](s.out.Size(), out), nil) }
func (s *seq[T]) flatten()                       { s.add(nn.NewFlatten[T](s.out), nil) }
func (s *seq[T]) layer(l nn.Layer[T], err error) { s.add(l, err) }

func (s *seq[T]) build() (*nn.Sequential[T], error) {
	if s.err != nil {
		return nil, s.err
	}
	return nn.NewSequential(s.layers...)
}

// buildB is Model b (THEORY.md §5): k × [conv 3×3 → 8 channels, pad 1; ReLU;
// max-pool 3×3 stride 1 pad 1], flatten, dense 8·H·W → K.
func buildB[T nn.Float](s Spec) (nn.Layer[T], error) {
	b := &seq[T]{out: s.Input}
	for range s.Depth {
		b.conv(8, 3, 1, 1, true)
		b.relu()
		b.maxPool(3, 1, 1)
	}
	b.flatten()
	b.dense(s.Classes)
	return b.build()
}

// denseSkip is h ↦ relu(W h + b) + h (skip) or relu(W h + b): the dense
// block of Model c and of the residual MLP.
func denseSkip[T nn.Float](width int, skip bool) (nn.Layer[T], error) {
	body, err := nn.NewSequential(nn.NewDense[T](width, width), nn.NewReLU[T](nn.Shape{width}))
	if err != nil {
		return nil, err
	}
	return nn.NewResidual[T](body, nil, skip)
}

// buildC is Model c (THEORY.md §5): conv 1→8 3×3 pad 1, ReLU, max-pool 2×2
// stride 2, flatten, dense 8·(H/2)·(W/2) → 10, ReLU, k dense skip blocks
// 10 → 10, dense 10 → K. The hidden width 10 is the paper's; it does not
// follow Classes.
func buildC[T nn.Float](s Spec) (nn.Layer[T], error) {
	const width = 10
	b := &seq[T]{out: s.Input}
	b.conv(8, 3, 1, 1, true)
	b.relu()
	b.maxPool(2, 2, 0)
	b.flatten()
	b.dense(width)
	b.relu()
	for range s.Depth {
		b.layer(denseSkip[T](width, s.Skip))
	}
	b.dense(s.Classes)
	return b.build()
}

// basicBlock is the body of a ResNet basic block without batch norm: conv
// 3×3 (stride, no bias), ReLU, conv 3×3 (no bias), plus the shortcut (a 3×3
// conv with bias, stride s, pad 1, when the shape changes; identity
// otherwise) when skip is on. The final ReLU follows in the caller's list.
func basicBlock[T nn.Float](in nn.Shape, outC, stride int, skip bool) (nn.Layer[T], error) {
	c1, err := nn.NewConv2D[T](in, outC, 3, stride, 1, false)
	if err != nil {
		return nil, err
	}
	c2, err := nn.NewConv2D[T](c1.OutShape(), outC, 3, 1, 1, false)
	if err != nil {
		return nil, err
	}
	body, err := nn.NewSequential[T](c1, nn.NewReLU[T](c1.OutShape()), c2)
	if err != nil {
		return nil, err
	}
	// nn.Residual wants a shape-matching shortcut even with skip off; it then
	// never runs it and leaves its parameters out of Params.
	var shortcut nn.Layer[T]
	if !in.Equal(c2.OutShape()) {
		sc, err := nn.NewConv2D[T](in, outC, 3, stride, 1, true)
		if err != nil {
			return nil, err
		}
		shortcut = sc
	}
	return nn.NewResidual(body, shortcut, skip)
}

// buildD is Model d (THEORY.md §5), a ResNet without batch norm: stem conv
// 1→16 3×3 pad 1 with bias, ReLU, max-pool 3×3 stride 1 pad 1; stages of
// basic blocks (each followed by ReLU) with 16, 32, 64 channels, strides
// 1, 2, 2 and block counts k, 1, 1; global average pool; dense 64 → K.
func buildD[T nn.Float](s Spec) (nn.Layer[T], error) {
	b := &seq[T]{out: s.Input}
	b.conv(16, 3, 1, 1, true)
	b.relu()
	b.maxPool(3, 1, 1)
	stages := []struct{ channels, stride, blocks int }{{16, 1, s.Depth}, {32, 2, 1}, {64, 2, 1}}
	for _, st := range stages {
		for i := range st.blocks {
			stride := st.stride
			if i > 0 {
				stride = 1
			}
			if b.err == nil {
				b.layer(basicBlock[T](b.out, st.channels, stride, s.Skip))
			}
			b.relu()
		}
	}
	if b.err == nil {
		b.layer(nn.NewGlobalAvgPool[T](b.out))
	}
	b.dense(s.Classes)
	return b.build()
}

// buildResMLP is the residual MLP: dense in → w, ReLU, L dense skip blocks
// w → w, dense w → K.
func buildResMLP[T nn.Float](s Spec) (nn.Layer[T], error) {
	b := &seq[T]{out: nn.Shape{s.Input.Size()}}
	b.dense(s.Width)
	b.relu()
	for range s.Depth {
		b.layer(denseSkip[T](s.Width, s.Skip))
	}
	b.dense(s.Classes)
	return b.build()
}
