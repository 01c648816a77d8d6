package engine

import "math"

// referenceLogits runs the model on tokens the plain way, in float64,
// without caches, recomputing the whole sequence: it returns the logits at
// every position. It exists to test the fast forward pass.
func referenceLogits(m *Model, tokens []int) [][]float64 {
	c := m.Config
	w := &m.Weights
	T, D, HD := len(tokens), c.DModel, c.HeadDim
	rot := c.rotDims()
	x := make([][]float64, T)
	for t, tok := range tokens {
		x[t] = make([]float64, D)
		for d := range D {
			x[t][d] = w.Embed.at(tok, d)
		}
	}
	norm := func(v []float64, g []float32) []float64 {
		var ss float64
		for _, a := range v {
			ss += a * a
		}
		s := 1 / math.Sqrt(ss/float64(len(v))+float64(c.RMSEps))
		out := make([]float64, len(v))
		for i, a := range v {
			out[i] = a * s * float64(g[i])
		}
		return out
	}
	mul := func(wm *Mat, v []float64, bias []float32) []float64 {
		out := make([]float64, wm.Rows)
		for r := range wm.Rows {
			var s float64
			for k := range wm.Cols {
				s += wm.at(r, k) * v[k]
			}
			if bias != nil {
				s += float64(bias[r])
			}
			out[r] = s
		}
		return out
	}
	rope := func(v []float64, heads, pos int) {
		for h := range heads {
			hv := v[h*HD : (h+1)*HD]
			for i := range rot / 2 {
				theta := float64(pos) * math.Pow(float64(c.RopeBase), -2*float64(i)/float64(rot))
				a, b := 2*i, 2*i+1
				if c.Arch == ArchQwen2 {
					a, b = i, i+rot/2
				}
				x0, x1 := hv[a], hv[b]
				hv[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
				hv[b] = x0*math.Sin(theta) + x1*math.Cos(theta)
			}
		}
	}
	for _, ly := range w.Layers {
		qs, ks, vs := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := range T {
			h := norm(x[t], ly.AttnNorm)
			qs[t], ks[t], vs[t] = mul(ly.Wq, h, ly.Bq), mul(ly.Wk, h, ly.Bk), mul(ly.Wv, h, ly.Bv)
			rope(qs[t], c.Heads, t)
			rope(ks[t], c.KVHeads, t)
		}
		for t := range T {
			att := make([]float64, c.QDim())
			for h := range c.Heads {
				kvh := h / (c.Heads / c.KVHeads)
				sc := make([]float64, t+1)
				mx := math.Inf(-1)
				for u := 0; u <= t; u++ {
					var s float64
					for d := range HD {
						s += qs[t][h*HD+d] * ks[u][kvh*HD+d]
					}
					sc[u] = s / math.Sqrt(float64(HD))
					mx = math.Max(mx, sc[u])
				}
				var sum float64
				for u := range sc {
					sc[u] = math.Exp(sc[u] - mx)
					sum += sc[u]
				}
				for u := range sc {
					for d := range HD {
						att[h*HD+d] += sc[u] / sum * vs[u][kvh*HD+d]
					}
				}
			}
			o := mul(ly.Wo, att, nil)
			for d := range D {
				x[t][d] += o[d]
			}
		}
		for t := range T {
			h := norm(x[t], ly.FFNNorm)
			g, u := mul(ly.Gate, h, nil), mul(ly.Up, h, nil)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			o := mul(ly.Down, g, nil)
			for d := range D {
				x[t][d] += o[d]
			}
		}
	}
	out := make([][]float64, T)
	for t := range T {
		out[t] = mul(m.output(), norm(x[t], w.OutputNorm), nil)
	}
	return out
}
