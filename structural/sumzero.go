package structural

import (
	"context"
	"errors"

	"github.com/fenchel-ml/fenchel/nn"
)

// SumZeroSpectrum is the dense spectrum of H_S on range(Π) (THEORY §2) of
// model on the probe inputs x, the one spectrum THEORY §4 P5 needs, without
// the residual, gradient, bounds or the spectra of H and H_p that Analyze
// adds. It returns ctx's error soon after ctx is cancelled.
func SumZeroSpectrum(ctx context.Context, model nn.Layer[float64], x *nn.Mat[float64]) (Spectrum, error) {
	K := numClasses(model)
	if x == nil || x.Rows == 0 || K < 2 {
		return Spectrum{}, errors.New("structural: sum-zero spectrum: empty probe or fewer than 2 classes")
	}
	h, err := structuralMatrix(ctx, model, x)
	if err != nil {
		return Spectrum{}, err
	}
	return denseSpectrum(ctx, RestrictSumZero(h, K), false, DefaultRankTol)
}
