package nn

import (
	"fmt"
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// window describes a square sliding window over a [C H W] input, shared by
// Conv2D and the pooling layers: output size floor((H + 2·Pad − Kernel)/Stride) + 1
// as in PyTorch (dilation 1, ceil_mode off).
type window struct {
	C, H, W             int
	Kernel, Stride, Pad int
	OutH, OutW          int
}

// newWindow validates an image shape and window parameters; kind names the
// layer for error messages.
func newWindow(kind string, in Shape, kernel, stride, pad int) (window, error) {
	if len(in) != 3 || in[0] <= 0 || in[1] <= 0 || in[2] <= 0 {
		return window{}, fmt.Errorf("nn: %s: input shape %v, want [C H W] with positive sizes", kind, in)
	}
	if kernel <= 0 {
		return window{}, fmt.Errorf("nn: %s: kernel %d, want > 0", kind, kernel)
	}
	if stride <= 0 {
		return window{}, fmt.Errorf("nn: %s: stride %d, want > 0", kind, stride)
	}
	if pad < 0 {
		return window{}, fmt.Errorf("nn: %s: padding %d, want ≥ 0", kind, pad)
	}
	w := window{C: in[0], H: in[1], W: in[2], Kernel: kernel, Stride: stride, Pad: pad}
	w.OutH = (w.H+2*pad-kernel)/stride + 1
	w.OutW = (w.W+2*pad-kernel)/stride + 1
	if w.H+2*pad < kernel || w.W+2*pad < kernel {
		return window{}, fmt.Errorf("nn: %s: kernel %d larger than padded input %d×%d (padding %d)", kind, kernel, w.H+2*pad, w.W+2*pad, pad)
	}
	return w, nil
}

// checkPoolPad applies PyTorch's pooling rule that padding be at most half the kernel.
func checkPoolPad(kind string, kernel, pad int) error {
	if pad > kernel/2 {
		return fmt.Errorf("nn: %s: padding %d should be at most half of kernel %d", kind, pad, kernel)
	}
	return nil
}

// inSize and outSize are the per-sample element counts.
func (w *window) inSize() int  { return w.C * w.H * w.W }
func (w *window) outArea() int { return w.OutH * w.OutW }

// validRange returns the output columns [lo, hi) whose input column
// oj·Stride − Pad + kj lies inside [0, W); lo ≤ hi always.
func (w *window) validRange(kj int) (lo, hi int) {
	return validSpan(kj, w.W, w.OutW, w.Stride, w.Pad)
}

// validRows is validRange for rows.
func (w *window) validRows(ki int) (lo, hi int) {
	return validSpan(ki, w.H, w.OutH, w.Stride, w.Pad)
}

func validSpan(k, size, outSize, stride, pad int) (lo, hi int) {
	// o·stride − pad + k ≥ 0  ⇔  o ≥ ceil((pad − k)/stride)
	if pad-k > 0 {
		lo = (pad - k + stride - 1) / stride
	}
	// o·stride − pad + k ≤ size − 1  ⇔  o ≤ floor((size − 1 + pad − k)/stride)
	if top := size - 1 + pad - k; top >= 0 {
		hi = top/stride + 1
	}
	hi = min(hi, outSize)
	lo = min(lo, outSize)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// minParallelWork is the number of scalar operations below which splitting a
// loop over goroutines costs more than it saves.
const minParallelWork = 1 << 15

// parallelFor runs f over [0, n) split into contiguous ranges, one per
// available processor, when n·costPerItem is large enough; f must only write
// state owned by its items.
func parallelFor(n, costPerItem int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*costPerItem < minParallelWork {
		f(0, n)
		return
	}
	parallel.TeamIfAwake(workers, func(i int) { f(i*n/workers, (i+1)*n/workers) })
}

// sameShift reports the "same" stride-1 geometry (OutH == H, OutW == W,
// Kernel = 2·Pad + 1) in which every im2col row is the input plane shifted
// by a constant offset (im2colSample, col2imSample).
func (w *window) sameShift() bool {
	return w.Stride == 1 && w.OutH == w.H && w.OutW == w.W && w.Kernel == 2*w.Pad+1
}
