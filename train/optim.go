package train

import "math"

// lrAt is the learning rate of step (0-based): linear warmup from lr/warmup
// to lr, then cosine decay to min_lr at the last step.
func lrAt(o OptimConfig, step int) float64 {
	if step < o.WarmupSteps {
		return o.LR * float64(step+1) / float64(o.WarmupSteps)
	}
	span := o.Steps - o.WarmupSteps
	if span <= 1 {
		return o.LR
	}
	frac := math.Min(1, float64(step-o.WarmupSteps)/float64(span-1))
	return o.MinLR + 0.5*(o.LR-o.MinLR)*(1+math.Cos(math.Pi*frac))
}

// gradNorm is the global L2 norm of g, summed in float64 in index order.
func gradNorm(g []float32) float64 {
	var s float64
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// adamW updates params in place from grads (scaled by gradScale, the
// clipping factor) with bias-corrected Adam moments m and v; t is the
// 1-based step. Weight decay is decoupled (applied to the weights, not the
// gradient) and only on tensors marked decay.
func adamW(p *pool, o OptimConfig, tensors []tensor, params, grads, m, v []float32, t int, lr, gradScale float64) {
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := float32(1 / (1 - math.Pow(o.Beta1, float64(t))))
	c2 := float32(1 / (1 - math.Pow(o.Beta2, float64(t))))
	lr32, gs := float32(lr), float32(gradScale)
	for _, tn := range tensors {
		wd := float32(0)
		if tn.decay {
			wd = float32(o.WeightDecay)
		}
		x, g, mm, vv := tn.of(params), tn.of(grads), tn.of(m), tn.of(v)
		p.run(len(x), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gi := g[i] * gs
				mm[i] = b1*mm[i] + (1-b1)*gi
				vv[i] = b2*vv[i] + (1-b2)*gi*gi
				mh, vh := mm[i]*c1, vv[i]*c2
				x[i] -= lr32 * (mh/(float32(math.Sqrt(float64(vh)))+1e-8) + wd*x[i])
			}
		})
	}
}
