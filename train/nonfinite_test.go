package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// TestFirstNonFinite checks the blocked scan against the definition: the
// first NaN or ±Inf, in parameter order then element order, is reported with
// its tensor's name and value; large finite values, ±0 and subnormals are not.
func TestFirstNonFinite(t *testing.T) {
	sizes := []int{3, 2500, 1024} // ragged last block, several blocks, exactly one block
	for _, tc := range []struct {
		name    string
		at      [][2]int // (tensor, element) positions to poison, in order
		val     float64
		want    int // index into at of the expected report, -1 for none
		grad    bool
		special bool // also plant large finite values, -0 and subnormals
	}{
		{"clean", nil, 0, -1, false, true},
		{"nan first tensor", [][2]int{{0, 2}}, math.NaN(), 0, false, false},
		{"inf in second block", [][2]int{{1, 1500}}, math.Inf(1), 0, true, true},
		{"-inf last element", [][2]int{{2, 1023}}, math.Inf(-1), 0, false, true},
		{"two, earlier tensor wins", [][2]int{{1, 2499}, {2, 0}}, math.NaN(), 0, true, false},
		{"two in one tensor, earlier element wins", [][2]int{{1, 7}, {1, 1030}}, math.Inf(1), 0, false, false},
	} {
		for _, f64 := range []bool{false, true} {
			var got struct {
				name string
				v    float64
				bad  bool
			}
			if f64 {
				got.name, got.v, got.bad = runFirstNonFinite[float64](sizes, tc.at, tc.val, tc.grad, tc.special)
			} else {
				got.name, got.v, got.bad = runFirstNonFinite[float32](sizes, tc.at, tc.val, tc.grad, tc.special)
			}
			if tc.want < 0 {
				if got.bad {
					t.Errorf("%s (f64 %v): reported %s = %v for finite values", tc.name, f64, got.name, got.v)
				}
				continue
			}
			wantName := string(rune('a' + tc.at[tc.want][0]))
			same := got.v == tc.val || math.IsNaN(got.v) && math.IsNaN(tc.val)
			if !got.bad || got.name != wantName || !same {
				t.Errorf("%s (f64 %v): got (%q, %v, %v), want (%q, %v, true)", tc.name, f64, got.name, got.v, got.bad, wantName, tc.val)
			}
		}
	}
}

func runFirstNonFinite[T nn.Float](sizes []int, at [][2]int, val float64, grad, special bool) (string, float64, bool) {
	var ps []*nn.Param[T]
	for i, n := range sizes {
		p := nn.NewParam[T](string(rune('a'+i)), []int{n}, 1, 1, false)
		for k := range p.Value {
			p.Value[k], p.Grad[k] = T(k%7)-3, T(k%5)-2
		}
		if special {
			v := p.Value
			if grad {
				v = p.Grad
			}
			v[0], v[1] = T(math.MaxFloat32), T(-math.MaxFloat32)
			v[2] = T(math.Copysign(0, -1))
			v[n-1] = T(math.SmallestNonzeroFloat32)
		}
		ps = append(ps, p)
	}
	for _, a := range at {
		v := ps[a[0]].Value
		if grad {
			v = ps[a[0]].Grad
		}
		v[a[1]] = T(val)
	}
	return firstNonFinite(ps, grad)
}

// TestNonFiniteSaysWhatIsOnDisk: the error of a diverged run names the
// checkpoint on disk, or says there is none, instead of always claiming
// "the last checkpoint is kept".
func TestNonFiniteSaysWhatIsOnDisk(t *testing.T) {
	for _, every := range []int{0, 1} {
		cfg := tinyConfig()
		cfg.LR, cfg.Epochs, cfg.CheckpointEvery = 1e30, 50, every
		dir := filepath.Join(t.TempDir(), "run")
		_, err := Run(context.Background(), cfg, dir, nil, RunOptions{})
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("checkpoint every %d: err = %v, want ErrNonFinite", every, err)
		}
		msg := err.Error()
		ck, cerr := loadCheckpoint(dir)
		switch {
		case cerr != nil:
			t.Fatal(cerr)
		case ck == nil:
			if !strings.Contains(msg, "no checkpoint was written") || strings.Contains(msg, "is kept") {
				t.Errorf("checkpoint every %d, none on disk: error %q", every, msg)
			}
		default:
			want := fmt.Sprintf("%s holds step %d", CheckpointFile, ck.Progress.Step)
			if !strings.Contains(msg, want) {
				t.Errorf("checkpoint every %d, one at step %d: error %q lacks %q", every, ck.Progress.Step, msg, want)
			}
		}
		if every == 0 && ck != nil {
			t.Errorf("checkpoint every 0: a checkpoint exists before the first epoch end (step %d)", ck.Progress.Step)
		}
	}
}
