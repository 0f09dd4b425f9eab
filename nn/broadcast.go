package nn

// The structural passes (THEORY §6) forward a batch in which every sample is
// repeated K times, once per seed e_k at the logits. The K copies of a sample
// have the same activations in every layer, so the layers that cost a
// product (Dense, Conv2D) and the window pools compute each sample once and
// copy the result to its group; the elementwise layers, whose work is that
// copy, run as they are.
//
// The seeded backward pass can also run on a Forward of the distinct rows
// alone, without the K copies of every activation: after Forward(x) with n
// rows, BackwardDeltas(l, dy, wantDx) with dy.Rows = rep·n (rep > 1) takes
// group i of rep consecutive rows of dy as sharing row i of x, for every
// layer of this package (the parameter-free layers' Backward reads its
// masks and window positions at row r/rep; the dL/dx of Dense and Conv2D
// does not depend on x; the containers pass dy on), and AddGram(h, ldh, rep)
// then reads row i of x for group i. The values are those of
// ForwardBroadcast on x with every row repeated rep times, bit for bit
// (TestBackwardDeltasOnDistinctRows). Backward with parameter gradients,
// PerSampleGrad and Tangent need the repeated batch.

// BackwardOnDistinctRows reports whether l is one of this package's layers
// other than the containers (Dense, Conv2D, the activations, pools and
// Flatten), whose BackwardDeltas and AddGram take the seeded backward pass
// on a Forward of the distinct rows (above).
func BackwardOnDistinctRows[T Float](l Layer[T]) bool {
	switch l.(type) {
	case *Dense[T], *Conv2D[T], *activation[T], *MaxPool2D[T], *AvgPool2D[T], *GlobalAvgPool[T], *flatten[T]:
		return true
	}
	return false
}

// Broadcaster is implemented by layers that can run Forward on a batch whose
// rows come in groups of rep identical consecutive rows computing each group
// once.
type Broadcaster[T Float] interface {
	// ForwardBroadcast returns Forward(x) for x whose rows come in groups of
	// rep identical consecutive rows (x.Rows a multiple of rep, rep > 1),
	// and leaves the layer in the state Forward(x) leaves (Backward,
	// BackwardDeltas, PerSampleGrad, AddGram and Tangent see the batch x).
	// Every group's output is computed once, from the group's first row,
	// and copied to the group's other rows. The values are Forward's up to
	// rounding: a product over the distinct rows alone is a GEMM with fewer
	// rows, whose rounding may differ (linalg multiplies a few rows by dot
	// products, more rows by its packed kernels).
	ForwardBroadcast(x *Mat[T], rep int) *Mat[T]
}

// ForwardBroadcast is l.Forward(x) for a batch x whose rows come in groups of
// rep identical consecutive rows, through l's Broadcaster when it has one
// (containers pass it on to their children): the structural passes' K-fold
// replicated batch costs the products of its distinct rows only. Layers
// without it, and rep ≤ 1 or x.Rows not a multiple of rep, run Forward.
func ForwardBroadcast[T Float](l Layer[T], x *Mat[T], rep int) *Mat[T] {
	if rep > 1 && x.Rows%rep == 0 {
		if b, ok := l.(Broadcaster[T]); ok {
			return b.ForwardBroadcast(x, rep)
		}
	}
	return l.Forward(x)
}

// ForwardBroadcast implements Broadcaster: each layer in turn.
func (s *Sequential[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	for _, l := range s.Layers {
		x = ForwardBroadcast(l, x, rep)
	}
	return x
}

// ForwardBroadcast implements Broadcaster: Forward with the body and the
// shortcut broadcast, and their sum taken on the groups' first rows.
func (r *Residual[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	yb := ForwardBroadcast(r.Body, x, rep)
	if !r.Skip {
		return yb
	}
	ys := x
	if r.Shortcut != nil {
		// Copy the body's output first, as Forward does (shared sub-layers).
		r.y = copyInto(r.y, yb)
		yb = r.y
		ys = ForwardBroadcast(r.Shortcut, x, rep)
	}
	if yb.Rows != ys.Rows || yb.Rows%rep != 0 {
		// A child without the rows of x: the sum over every row.
		r.y = reuse(r.y, yb.Rows, yb.Cols)
		addInto(r.y.Data, yb.Data, ys.Data)
		return r.y
	}
	n, c := yb.Rows/rep, yb.Cols
	r.y = reuse(r.y, yb.Rows, c)
	for i := 0; i < n; i++ {
		// Row i ≤ row i·rep: rows of yb (possibly r.y itself) not yet read
		// are never overwritten.
		addInto(r.y.Data[i*c:(i+1)*c], yb.Data[i*rep*c:], ys.Data[i*rep*c:])
	}
	r.y = spreadRows(&Mat[T]{Rows: n, Cols: c, Data: r.y.Data}, rep)
	return r.y
}

// ForwardBroadcast implements Broadcaster: the activation of the distinct
// rows.
func (a *activation[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	checkIn(a.kind, x, a.shape)
	a.y = reuse(a.y, x.Rows, x.Cols)
	a.y = spreadRows(a.Forward(distinctRows(x, rep)), rep)
	a.x = x
	return a.y
}

// ForwardBroadcast implements Broadcaster: the product on the distinct rows.
func (d *Dense[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	checkIn("dense", x, d.InShape())
	d.y = reuse(d.y, x.Rows, d.Out) // Forward on the distinct rows reuses it
	d.y = spreadRows(d.Forward(distinctRows(x, rep)), rep)
	d.x = x
	return d.y
}

// ForwardBroadcast implements Broadcaster: im2col and product on the distinct
// rows. The float32 direct path (conv_direct.go) runs Forward on x.
func (d *Conv2D[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	if _, ok := useDirect(d); ok {
		return d.Forward(x)
	}
	checkIn("conv2d", x, d.InShape())
	d.y = reuse(d.y, x.Rows, d.OutC*d.geom.outArea())
	d.y = spreadRows(d.Forward(distinctRows(x, rep)), rep)
	// The cached columns belong to the distinct rows, not to rows of x.
	d.x, d.colsHi = x, 0
	return d.y
}

// ForwardBroadcast implements Broadcaster: the maxima and their positions on
// the distinct rows.
func (m *MaxPool2D[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	checkIn("maxpool2d", x, m.InShape())
	out := m.geom.C * m.geom.outArea()
	m.y = reuse(m.y, x.Rows, out)
	if cap(m.arg) < x.Rows*out {
		m.arg = make([]int32, x.Rows*out)
	}
	y := m.Forward(distinctRows(x, rep))
	n := y.Rows
	m.y = spreadRows(y, rep)
	m.arg = spread(m.arg[:n*out], n, out, rep)
	m.x = x
	return m.y
}

// ForwardBroadcast implements Broadcaster: the window averages on the
// distinct rows.
func (a *AvgPool2D[T]) ForwardBroadcast(x *Mat[T], rep int) *Mat[T] {
	checkIn("avgpool2d", x, a.InShape())
	a.y = reuse(a.y, x.Rows, a.geom.C*a.geom.outArea())
	a.y = spreadRows(a.Forward(distinctRows(x, rep)), rep)
	a.x = x
	return a.y
}

// distinctRows returns the first row of every group of rep rows of x: a view
// of x for a single group, else a copy.
func distinctRows[T Float](x *Mat[T], rep int) *Mat[T] {
	n := x.Rows / rep
	if n == 1 {
		return &Mat[T]{Rows: 1, Cols: x.Cols, Data: x.Data[:x.Cols]}
	}
	d := NewMat[T](n, x.Cols)
	for i := 0; i < n; i++ {
		copy(d.Row(i), x.Row(i*rep))
	}
	return d
}

// spreadRows returns the y.Rows·rep-row matrix whose group i holds rep
// copies of row i of y, in y's own storage when its capacity allows.
func spreadRows[T Float](y *Mat[T], rep int) *Mat[T] {
	return &Mat[T]{Rows: y.Rows * rep, Cols: y.Cols, Data: spread(y.Data, y.Rows, y.Cols, rep)}
}

// spread writes rep copies of each of the n rows of length c at the start of
// v into v[:n·rep·c] (reallocating when v lacks the capacity) and returns it.
// Groups are written from the last one down, so every row is read before
// any group overwrites it; a single group's copies run on up to GOMAXPROCS
// goroutines.
func spread[E any](v []E, n, c, rep int) []E {
	if cap(v) < n*rep*c {
		w := make([]E, n*rep*c)
		copy(w, v[:n*c])
		v = w
	}
	v = v[:n*rep*c]
	if n == 1 {
		// One group (the per-image measurement's x_a): its copies are
		// independent and are split over goroutines when large.
		src := v[:c]
		parallelFor(rep-1, c, func(a, b int) {
			for r := a + 1; r <= b; r++ {
				copy(v[r*c:(r+1)*c], src)
			}
		})
		return v
	}
	for i := n - 1; i >= 0; i-- {
		src := v[i*c : (i+1)*c]
		for k := rep - 1; k >= 0; k-- {
			if r := i*rep + k; r != i {
				copy(v[r*c:(r+1)*c], src)
			}
		}
	}
	return v
}
