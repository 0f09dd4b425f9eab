package nn

import "fmt"

// Residual is the skip connection y = body(x) + shortcut(x) when Skip is on
// (a nil shortcut is the identity) and y = body(x) when it is off, so the same
// architecture can be trained with and without skips (THEORY §4 P4, §5 Models
// c and d). Parameter names are prefixed "body." and "shortcut.".
type Residual[T Float] struct {
	Body, Shortcut Layer[T] // Shortcut nil: identity
	Skip           bool

	params      []*Param[T]
	bodyParams  int // NumParams(Body): the column offset of the shortcut's gradients
	y, dx, tang *Mat[T]
}

// NewResidual joins body and shortcut. Their input shapes must agree and so
// must their output shapes (with a nil shortcut, body must preserve its input
// shape); this is checked whether or not skip is on. With skip off the
// shortcut is never run and its parameters are not part of Params.
func NewResidual[T Float](body, shortcut Layer[T], skip bool) (*Residual[T], error) {
	if body == nil {
		return nil, fmt.Errorf("nn: residual: nil body")
	}
	if shortcut == nil {
		if !body.OutShape().Equal(body.InShape()) {
			return nil, fmt.Errorf("nn: residual: identity shortcut needs body (%s) to preserve its shape, but it maps %v to %v",
				body.Kind(), body.InShape(), body.OutShape())
		}
	} else {
		if !shortcut.InShape().Equal(body.InShape()) {
			return nil, fmt.Errorf("nn: residual: body (%s) takes %v but shortcut (%s) takes %v",
				body.Kind(), body.InShape(), shortcut.Kind(), shortcut.InShape())
		}
		if !shortcut.OutShape().Equal(body.OutShape()) {
			return nil, fmt.Errorf("nn: residual: body (%s) outputs %v but shortcut (%s) outputs %v",
				body.Kind(), body.OutShape(), shortcut.Kind(), shortcut.OutShape())
		}
	}
	r := &Residual[T]{Body: body, Shortcut: shortcut, Skip: skip}
	for _, p := range body.Params() {
		p.Name = "body." + p.Name
		r.params = append(r.params, p)
	}
	r.bodyParams = NumParams(body)
	if shortcut != nil {
		for _, p := range shortcut.Params() {
			p.Name = "shortcut." + p.Name
			if skip {
				r.params = append(r.params, p)
			}
		}
	}
	return r, nil
}

func (r *Residual[T]) Kind() string        { return "residual" }
func (r *Residual[T]) InShape() Shape      { return r.Body.InShape() }
func (r *Residual[T]) OutShape() Shape     { return r.Body.OutShape() }
func (r *Residual[T]) Params() []*Param[T] { return r.params }

// residualFused enables Residual.convPair and Residual.convReLU (a
// variable so tests can compare with the layers run one by one).
var residualFused = true

// convReLU returns r's body, its first layer as a float32 convolution on
// the direct path and the ReLU that follows it, when the body starts so
// (every block of Model d) and the convolution is not used again: Forward
// then applies the ReLU to each sample's output while it is in cache
// (forwardMembers) instead of in a pass over the batch, and the ReLU keeps
// that output as its x (x > 0 exactly where relu(x) > 0, so its Backward
// and Tangent masks are the same).
func (r *Residual[T]) convReLU() (body *Sequential[T], c *Conv2D[float32], relu *activation[float32]) {
	if !residualFused || !convDirect {
		return nil, nil, nil
	}
	body, ok := r.Body.(*Sequential[T])
	if !ok || len(body.Layers) < 2 {
		return nil, nil, nil
	}
	c, okC := any(body.Layers[0]).(*Conv2D[float32])
	relu, okR := any(body.Layers[1]).(*activation[float32])
	if !okC || !okR || !relu.relu || !relu.shape.Equal(c.OutShape()) {
		return nil, nil, nil
	}
	if _, ok := useDirect(c); !ok {
		return nil, nil, nil
	}
	for _, l := range body.Layers[1:] {
		if any(l) == any(c) {
			return nil, nil, nil
		}
	}
	return body, c, relu
}

// convPair returns r's body and, when they compute together, the body's
// first layer and the shortcut as float32 convolutions on the direct path
// of one geometry and output width (Model d's downsampling blocks): they
// read the same grid of x, filled once per sample (forwardMembers,
// backwardMembers). Both must be distinct from each other and from the
// body's later layers, and their width a multiple of 4, so that the stacked
// rows of conv.Dot fall in the same tiles as each conv's alone.
func (r *Residual[T]) convPair() (body *Sequential[T], a, b *Conv2D[float32]) {
	if !residualFused || !r.Skip || r.Shortcut == nil || !convDirect {
		return nil, nil, nil
	}
	body, ok := r.Body.(*Sequential[T])
	if !ok || len(body.Layers) < 2 {
		return nil, nil, nil
	}
	a, okA := any(body.Layers[0]).(*Conv2D[float32])
	b, okB := any(r.Shortcut).(*Conv2D[float32])
	if !okA || !okB || a == b || a.geom != b.geom || a.OutC != b.OutC || a.OutC%4 != 0 {
		return nil, nil, nil
	}
	if _, ok := useDirect(a); !ok {
		return nil, nil, nil
	}
	if _, ok := useDirect(b); !ok || len(dirState(a).phases) == 0 {
		return nil, nil, nil
	}
	for _, l := range body.Layers[1:] {
		if any(l) == any(a) || any(l) == any(b) {
			return nil, nil, nil
		}
	}
	return body, a, b
}

// forwardBody runs the body on x; with convReLU its first convolution
// (with convPair together with the shortcut, whose output it returns as
// ys) and the ReLU after it run fused. When the shortcut's output is at
// hand (identity or convPair) and the body ends with a float32
// convolution on the direct path, that convolution also adds it into r.y
// per sample, in cache: then y is r.y and summed is true, and with relu
// r.y is the ReLU of the sum.
func (r *Residual[T]) forwardBody(x *Mat[T], relu bool) (y, ys *Mat[T], summed bool) {
	body, c, rl := r.convReLU()
	pb, a, b := r.convPair()
	if body == nil && pb == nil {
		return r.Body.Forward(x), nil, false
	}
	if body == nil {
		body, c = pb, a
	}
	checkIn("conv2d", x, c.InShape())
	ms := []*Conv2D[float32]{c}
	if pb != nil {
		ms = append(ms, b)
	}
	forwardMembers(ms, any(x).(*Mat[float32]), rl != nil, nil, nil, false)
	rest := body.Layers[1:]
	if rl != nil {
		rl.x, rest = c.y, body.Layers[2:]
	}
	if pb != nil {
		ys = any(b.y).(*Mat[T])
	}
	var skip *Mat[T]
	if r.Skip && r.Shortcut == nil {
		skip = x
	} else if pb != nil {
		skip = ys
	}
	var last *Conv2D[float32]
	if n := len(rest); n > 0 && skip != nil {
		if l, ok := any(rest[n-1]).(*Conv2D[float32]); ok && l != c && l != b {
			if _, ok := useDirect(l); ok {
				last, rest = l, rest[:n-1]
			}
		}
	}
	y = any(c.y).(*Mat[T])
	for _, l := range rest {
		y = l.Forward(y)
	}
	if last == nil {
		return y, ys, false
	}
	checkIn("conv2d", y, last.InShape())
	r.y = reuse(r.y, y.Rows, last.OutShape().Size())
	forwardMembers([]*Conv2D[float32]{last}, any(y).(*Mat[float32]), false,
		any(r.y).(*Mat[float32]), any(skip).(*Mat[float32]), relu)
	return r.y, ys, true
}

func (r *Residual[T]) Forward(x *Mat[T]) *Mat[T] {
	yb, ys, summed := r.forwardBody(x, false)
	return r.sum(x, yb, ys, summed)
}

// forwardReLU is a.Forward(r.Forward(x)) for the ReLU a after r: when the
// block's last convolution adds the shortcut per sample (forwardBody) it
// also applies the ReLU there, in cache, and a keeps that output as its x
// (x > 0 exactly where relu(x) > 0: its Backward and Tangent masks are
// the same), instead of a pass over the batch.
func (r *Residual[T]) forwardReLU(x *Mat[T], a *activation[T]) *Mat[T] {
	if !residualFused || !a.relu {
		return a.Forward(r.Forward(x))
	}
	yb, ys, summed := r.forwardBody(x, true)
	if !summed {
		return a.Forward(r.sum(x, yb, ys, false))
	}
	checkIn(a.kind, yb, a.shape)
	a.x = yb
	return yb
}

// sum completes Forward from the body's output yb and, when forwardBody
// computed it, the shortcut's ys (summed: yb is the sum already).
func (r *Residual[T]) sum(x, yb, ys *Mat[T], summed bool) *Mat[T] {
	if summed || !r.Skip {
		return yb
	}
	if r.Shortcut == nil {
		// Identity: one pass, y = body(x) + x.
		r.y = reuse(r.y, yb.Rows, yb.Cols)
		sumInto(r.y.Data, yb.Data, x.Data)
		return r.y
	}
	if ys != nil {
		r.y = reuse(r.y, yb.Rows, yb.Cols)
		sumInto(r.y.Data, yb.Data, ys.Data)
		return r.y
	}
	// Copy the body's output before the shortcut runs (shared sub-layers).
	r.y = copyFan(r.y, yb)
	sumTo(r.y.Data, r.Shortcut.Forward(x).Data)
	return r.y
}

// addInto sets dst[i] = a[i] + b[i] (all of equal length). It copies a and
// adds b (addTo, vectorised) in blocks that stay in L1: the same one rounding
// per element as the plain loop. dst may be a or b.
func addInto[T Float](dst, a, b []T) {
	const block = 2048
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) > 0 && &dst[0] == &b[0] {
		a, b = b, a // a + b = b + a exactly; copying a would overwrite b
	}
	for lo := 0; lo < len(dst); lo += block {
		hi := min(lo+block, len(dst))
		copy(dst[lo:hi], a[lo:hi])
		addTo(dst[lo:hi], b[lo:hi])
	}
}

// The residual's sums and copies below split a batch-sized buffer over
// goroutines by element (elementwise); each element is computed alone, so
// the bits do not depend on the split.

// sumInto is addInto over goroutines.
func sumInto[T Float](dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	elementwise(len(dst), 1, func(lo, hi int) { addInto(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

// sumTo is addTo over goroutines.
func sumTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	elementwise(len(dst), 1, func(lo, hi int) { addTo(dst[lo:hi], src[lo:hi]) })
}

// copyFan is copyInto over goroutines.
func copyFan[T Float](dst, src *Mat[T]) *Mat[T] {
	dst = reuse(dst, src.Rows, src.Cols)
	d, s := dst.Data, src.Data[:len(dst.Data)]
	elementwise(len(d), 1, func(lo, hi int) { copy(d[lo:hi], s[lo:hi]) })
	return dst
}

func (r *Residual[T]) Backward(dy *Mat[T]) *Mat[T] {
	body, c, relu := r.convReLU()
	pb, a, b := r.convPair()
	identity := body != nil && r.Skip && r.Shortcut == nil && len(dirState(c).phases) > 0
	if pb != nil || identity {
		// The body's first convolution computes dx with the shortcut's
		// (convPair) or adds dy into it per sample, in cache (identity),
		// masking its dy by the ReLU after it on the way (convReLU), instead
		// of passes over the batch.
		if pb != nil {
			body, c = pb, a
		}
		stop := 1
		if relu != nil {
			stop = 2
		}
		d := dy
		for i := len(body.Layers) - 1; i >= stop; i-- {
			d = body.Layers[i].Backward(d)
		}
		dy32 := any(dy).(*Mat[float32])
		m0 := convMember{d: c, dy: any(d).(*Mat[float32])}
		if relu != nil {
			relu.dx = reuse(relu.dx, d.Rows, d.Cols)
			m0 = convMember{d: c, dy: relu.dx, src: m0.dy, mask: relu.x}
		}
		ms, plus := []convMember{m0}, dy32
		if pb != nil {
			ms, plus = append(ms, convMember{d: b, dy: dy32}), nil
		}
		r.dx = reuse(r.dx, dy.Rows, body.InShape().Size())
		backwardMembers(ms, any(r.dx).(*Mat[float32]), plus, true, true)
		return r.dx
	}
	dxb := r.Body.Backward(dy)
	if !r.Skip {
		return dxb
	}
	if r.Shortcut == nil {
		r.dx = reuse(r.dx, dxb.Rows, dxb.Cols)
		sumInto(r.dx.Data, dxb.Data, dy.Data)
		return r.dx
	}
	// Copy the body's dx before the shortcut runs: with shared sub-layers or
	// an aliasing child its buffer may be reused.
	r.dx = copyFan(r.dx, dxb)
	sumTo(r.dx.Data, r.Shortcut.Backward(dy).Data)
	return r.dx
}

// BackwardDeltas implements DeltaBackwarder as Backward does, with
// BackwardDeltas in the body and the shortcut.
func (r *Residual[T]) BackwardDeltas(dy *Mat[T], wantDx bool) (*Mat[T], bool) {
	dxb, touched := BackwardDeltas(r.Body, dy, wantDx)
	if !r.Skip {
		return dxb, touched
	}
	if r.Shortcut == nil {
		if !wantDx {
			return nil, touched
		}
		r.dx = reuse(r.dx, dxb.Rows, dxb.Cols)
		sumInto(r.dx.Data, dxb.Data, dy.Data)
		return r.dx, touched
	}
	if wantDx {
		r.dx = copyFan(r.dx, dxb) // before the shortcut may reuse a shared buffer
	}
	dxs, t := BackwardDeltas(r.Shortcut, dy, wantDx)
	if !wantDx {
		return nil, touched || t
	}
	sumTo(r.dx.Data, dxs.Data)
	return r.dx, touched || t
}

func (r *Residual[T]) Tangent(dx *Mat[T]) *Mat[T] {
	tb := r.Body.Tangent(dx)
	if !r.Skip {
		return tb
	}
	r.tang = copyInto(r.tang, tb)
	ts := dx
	if r.Shortcut != nil {
		ts = r.Shortcut.Tangent(dx)
	}
	if ts != nil {
		for i, v := range ts.Data {
			r.tang.Data[i] += v
		}
	}
	return r.tang
}

func (r *Residual[T]) PerSampleGrad(dst *Mat[T], col int) {
	r.Body.PerSampleGrad(dst, col)
	if r.Skip && r.Shortcut != nil {
		r.Shortcut.PerSampleGrad(dst, col+r.bodyParams)
	}
}

func (r *Residual[T]) AddGram(h []T, ldh int, rep int) {
	r.Body.AddGram(h, ldh, rep)
	if r.Skip && r.Shortcut != nil {
		r.Shortcut.AddGram(h, ldh, rep)
	}
}
