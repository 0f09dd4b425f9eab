package loss

import (
	"fmt"
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/nn"
)

// batchSplitMin is the number of logits from which BatchGrad splits its
// rows in two when the team's worker is spinning (parallel.TeamOrInline):
// a softmax row of 10 classes costs about a third of a microsecond, so the
// 128 rows of an MLP batch took 44–47 µs on one goroutine and 29 µs shared.
const batchSplitMin = 640

// BatchGrad evaluates loss l on a batch of logits z (one row of K logits per
// sample) against integer labels with label smoothing s (targets from
// Target). Every row is computed in float64 whatever T is (THEORY §3
// "Numerics"). It writes dz = (p − q)/rows, the gradient of the batch-mean
// loss, into dz (same shape as z; dz may be nil when only the loss is needed),
// and returns the sum of the per-row losses and the number of rows whose
// first largest logit is the label.
//
// Rows are independent: a large batch is split into two halves of rows
// when the team's worker is spinning, the per-row losses summed afterwards
// in row order, so the result does not depend on the split.
//
// It errors on a shape mismatch, a label outside [0, K), an invalid
// smoothing, and any NaN/Inf logit or loss, naming the row and value (the
// first such row).
func BatchGrad[T nn.Float](l Loss, z *nn.Mat[T], labels []int, smoothing float64, dz *nn.Mat[T]) (lossSum float64, correct int, err error) {
	rows, K := z.Rows, z.Cols
	if len(z.Data) != rows*K || K < 1 {
		return 0, 0, fmt.Errorf("loss: %s batch: logits %d×%d with %d values", l.Name(), rows, K, len(z.Data))
	}
	if len(labels) != rows {
		return 0, 0, fmt.Errorf("loss: %s batch: %d labels for %d rows of logits", l.Name(), len(labels), rows)
	}
	if dz != nil && (dz.Rows != rows || dz.Cols != K || len(dz.Data) != rows*K) {
		return 0, 0, fmt.Errorf("loss: %s batch: gradient %d×%d does not match logits %d×%d", l.Name(), dz.Rows, dz.Cols, rows, K)
	}
	if err := ValidateSmoothing(smoothing); err != nil {
		return 0, 0, err
	}
	b := batch[T]{l: l, z: z, labels: labels, smoothing: smoothing, dz: dz, vals: make([]float64, rows),
		useLabel: l.OnSimplex() && smoothing == 0, scale: 1 / float64(rows)}
	b.sm, b.fused = l.(Softmax)
	b.fused = b.fused && dz != nil
	if rows*K >= batchSplitMin && runtime.GOMAXPROCS(0) > 1 {
		var counts [2]int
		var errs [2]error
		parallel.TeamOrInline(2, func(t int) { counts[t], errs[t] = b.rows(t*rows/2, (t+1)*rows/2) })
		correct = counts[0] + counts[1]
		err = errs[0]
		if err == nil {
			err = errs[1]
		}
	} else {
		correct, err = b.rows(0, rows)
	}
	if err != nil {
		return 0, 0, err
	}
	for _, v := range b.vals {
		lossSum += v
	}
	if !finite(lossSum) {
		return 0, 0, fmt.Errorf("loss: %s batch: loss sum over %d rows = %v", l.Name(), rows, lossSum)
	}
	return lossSum, correct, nil
}

// batch is one BatchGrad call: its inputs, and vals, the per-row losses.
type batch[T nn.Float] struct {
	l         Loss
	z, dz     *nn.Mat[T]
	labels    []int
	smoothing float64
	vals      []float64
	// The one-hot identity of Residual needs Σp = 1 (simplex losses only).
	useLabel bool
	scale    float64
	// Softmax shares one log-sum-exp between the value and the prediction.
	sm    Softmax
	fused bool
}

// rows evaluates rows [lo, hi): their losses into vals, their gradient rows
// into dz; it returns how many are classified correctly, or the error of the
// first bad row.
func (b *batch[T]) rows(lo, hi int) (correct int, err error) {
	l, K := b.l, b.z.Cols
	buf := make([]float64, 4*K)
	z64, p, q, r := buf[:K], buf[K:2*K], buf[2*K:3*K], buf[3*K:]
	for i := lo; i < hi; i++ {
		y := b.labels[i]
		if y < 0 || y >= K {
			return 0, fmt.Errorf("loss: %s batch: row %d: label %d outside [0, %d)", l.Name(), i, y, K)
		}
		for k, v := range b.z.Row(i) {
			z64[k] = float64(v)
			if !finite(z64[k]) {
				return 0, fmt.Errorf("loss: %s batch: row %d: logit %d = %v", l.Name(), i, k, z64[k])
			}
		}
		Target(q, y, K, b.smoothing)
		var v float64
		var m int
		if b.fused {
			v, m = b.sm.valuePredict(p, z64, q)
		} else {
			v, m = l.Value(z64, q), argmax(z64)
		}
		if !finite(v) {
			return 0, fmt.Errorf("loss: %s batch: row %d (label %d): loss = %v", l.Name(), i, y, v)
		}
		b.vals[i] = v
		if m == y {
			correct++
		}
		if b.dz == nil {
			continue
		}
		if !b.fused {
			l.Predict(p, z64)
		}
		label := -1
		if b.useLabel {
			label = y
		}
		Residual(r, p, q, label)
		row := b.dz.Row(i)
		for k, rk := range r {
			row[k] = T(rk * b.scale)
		}
	}
	return correct, nil
}
