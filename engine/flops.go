package engine

// TokenFLOPs is the compute the forward pass spends on one token at
// position pos (0-based), counting 2 FLOPs per multiply-add of the weight
// products and of attention (q.k over pos+1 keys, then the weighted sum of
// as many values); with logits, the output product too. Norms, rope and
// softmax are left out: they are O(DModel) per token. It equals what
// Prefill and Step report, summed over their tokens.
func (m *Model) TokenFLOPs(pos int, logits bool) float64 {
	c := m.Config
	var perLayer float64
	l := m.Weights.Layers[0]
	for _, w := range []*Mat{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down} {
		perLayer += 2 * float64(w.Params())
	}
	perLayer += 4 * float64(c.Heads*c.HeadDim*(pos+1))
	f := perLayer * float64(c.Layers)
	if logits {
		f += 2 * float64(m.output().Params())
	}
	return f
}
