package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/nn"
)

// checkpointFormat versions the layout of checkpoint.bin.
const checkpointFormat = 2

// checkpointMagic opens checkpoint.bin; the format number follows it in the
// file's eighth byte.
const checkpointMagic = "FNCHCK\n"

// checkpoint.bin is checkpointMagic, one format byte, the SHA-256 of the
// payload (32 bytes) and the payload, the gob encoding of checkpoint: any
// flipped or missing byte fails the checksum before a weight is used.
const checkpointHeader = len(checkpointMagic) + 1 + sha256.Size

// checkpoint is the payload of checkpoint.bin, encoded with encoding/gob.
// It holds everything needed to continue a run exactly as if it had never
// stopped: weights, optimiser state, the RNG state, the position in the
// current epoch's permutation and the length of metrics.jsonl it matches.
type checkpoint struct {
	Format     int
	Version    string // fenchel version that wrote it
	ConfigJSON []byte // the run's resolved Config
	Model      string // models.Spec.String(), for messages
	DType      string
	Params     []tensor // model parameters in Params() order, as float64 (exact for float32)
	Optim      []byte   // optimiser State()
	RNG        []byte   // PCG MarshalBinary, after the draws made so far
	Progress   progress
	// MetricsOffset is the length of metrics.jsonl when the checkpoint was
	// taken; resume truncates the file to it.
	MetricsOffset int64
}

type tensor struct {
	Name  string
	Shape []int
	Value []float64
}

// progress is the loop state between two optimiser steps.
type progress struct {
	Step  int   // optimiser steps taken
	Epoch int   // current 0-based epoch
	Pos   int   // samples of Perm already used in this epoch
	Perm  []int // this epoch's sample order (nil: not drawn yet)
	// The open train-record window.
	WinLoss    float64
	WinCorrect int
	WinSamples int
	// The last finite batch loss, for the non-finite error message.
	LastLoss     float64
	LastLossStep int
	// The latest records, for Result.
	TrainLoss, TrainAcc float64
	TestLoss, TestAcc   float64
	LR                  float64
}

func saveCheckpoint[T nn.Float](dir string, ck *checkpoint, params []*nn.Param[T]) error {
	ck.Params = ck.Params[:0]
	for _, p := range params {
		v := make([]float64, len(p.Value))
		for i, x := range p.Value {
			v[i] = float64(x)
		}
		ck.Params = append(ck.Params, tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Value: v})
	}
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(ck); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	sum := sha256.Sum256(payload.Bytes())
	return atomicfile.Write(filepath.Join(dir, CheckpointFile), func(w io.Writer) error {
		hdr := append([]byte(checkpointMagic), checkpointFormat)
		if _, err := w.Write(append(hdr, sum[:]...)); err != nil {
			return err
		}
		_, err := w.Write(payload.Bytes())
		return err
	})
}

// loadCheckpoint reads dir's checkpoint; (nil, nil) when there is none.
func loadCheckpoint(dir string) (*checkpoint, error) {
	ck, err := readCheckpointFile(filepath.Join(dir, CheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	return ck, nil
}

func readCheckpointFile(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < checkpointHeader || string(b[:len(checkpointMagic)]) != checkpointMagic {
		var old checkpoint
		if gob.NewDecoder(bytes.NewReader(b)).Decode(&old) == nil && old.Format == 1 {
			return nil, fmt.Errorf("%s: format 1 (written by fenchel %s) has no checksum and cannot be verified; this build reads format %d: retrain the run", path, old.Version, checkpointFormat)
		}
		return nil, fmt.Errorf("%s: not a fenchel checkpoint (%d bytes, no %q header)", path, len(b), checkpointMagic[:len(checkpointMagic)-1])
	}
	if f := int(b[len(checkpointMagic)]); f != checkpointFormat {
		return nil, fmt.Errorf("%s: format %d, this build reads %d", path, f, checkpointFormat)
	}
	want, payload := b[len(checkpointMagic)+1:checkpointHeader], b[checkpointHeader:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("%s: checksum mismatch: SHA-256 of the %d payload bytes is %x, the header records %x: the file is damaged (disk or copy error); restore it or retrain", path, len(payload), got[:6], want[:6])
	}
	var ck checkpoint
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&ck); err != nil {
		return nil, fmt.Errorf("%s: checksum correct but the payload does not decode (written by another build?): %w", path, err)
	}
	if ck.Format != checkpointFormat {
		return nil, fmt.Errorf("%s: payload format %d, header format %d", path, ck.Format, checkpointFormat)
	}
	return &ck, nil
}

// Checkpoint is a run's saved state as other packages see it: the resolved
// config and the weights (fenchel probe reads these; resuming uses Run).
type Checkpoint struct {
	Path    string
	Config  Config
	Version string // fenchel version that wrote it
	Step    int    // optimiser steps taken
	ck      *checkpoint
}

// ReadCheckpoint reads a checkpoint file (RUN_DIR/checkpoint.bin).
func ReadCheckpoint(path string) (*Checkpoint, error) {
	ck, err := readCheckpointFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint %s: no such file", path)
		}
		return nil, fmt.Errorf("checkpoint %w", err)
	}
	c := &Checkpoint{Path: path, Version: ck.Version, Step: ck.Progress.Step, ck: ck}
	if err := json.Unmarshal(ck.ConfigJSON, &c.Config); err != nil {
		return nil, fmt.Errorf("checkpoint %s: config: %w", path, err)
	}
	return c, nil
}

// AssignWeights copies the checkpoint's weights into model, which must have
// the checkpoint's architecture (tensor names and shapes are checked).
func AssignWeights[T nn.Float](c *Checkpoint, model nn.Layer[T]) error {
	if err := restoreParams(c.Path, c.ck, model.Params()); err != nil {
		return fmt.Errorf("checkpoint %w", err)
	}
	return nil
}

// check verifies that ck can continue a run of cfg.
func (ck *checkpoint) check(path string, cfg Config) error {
	var old Config
	if err := json.Unmarshal(ck.ConfigJSON, &old); err != nil {
		return fmt.Errorf("train: resume: %s: config: %w", path, err)
	}
	if err := cfg.resumable(old); err != nil {
		return fmt.Errorf("train: resume: %s: %w", path, err)
	}
	return nil
}

func restoreParams[T nn.Float](path string, ck *checkpoint, params []*nn.Param[T]) error {
	if len(ck.Params) != len(params) {
		return fmt.Errorf("%s: checkpoint from a different model: %d parameter tensors, model has %d", path, len(ck.Params), len(params))
	}
	for i, p := range params {
		t := ck.Params[i]
		if t.Name != p.Name || !slices.Equal(t.Shape, p.Shape) || len(t.Value) != len(p.Value) {
			return fmt.Errorf("%s: checkpoint from a different model: tensor %d is %s %v, model has %s %v", path, i, t.Name, t.Shape, p.Name, p.Shape)
		}
		for j, v := range t.Value {
			p.Value[j] = T(v)
		}
	}
	return nil
}
