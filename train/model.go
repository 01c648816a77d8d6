package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// tensor is one named parameter inside the flat parameter vector. rows×cols
// is row-major with cols contiguous, which is ggml's layout for dims
// [cols, rows], so export copies memory as is.
type tensor struct {
	name       string
	rows, cols int
	off        int
	decay      bool // weight decay applies (matrices, not norms)
}

func (t tensor) size() int { return t.rows * t.cols }

// layerParams are the offsets of one block's tensors.
type layerParams struct {
	attnNorm, wq, wk, wv, wo, ffnNorm, gate, up, down tensor
}

// model is the architecture and its parameter layout.
type model struct {
	cfg                    ModelConfig
	vocab, d, hd, kvd, ffn int
	embed, outNorm, output tensor
	layers                 []layerParams
	tensors                []tensor // in export order
	nParams                int
	cos, sin               []float32
	isolate                bool // attention stops at each example's <s> (DataConfig.Isolate)
}

func newModel(cfg ModelConfig, vocab int) *model {
	m := &model{cfg: cfg, vocab: vocab, d: cfg.DModel, hd: cfg.DModel / cfg.Heads, ffn: cfg.FFN}
	m.kvd = m.hd * cfg.KVHeads
	add := func(name string, rows, cols int, decay bool) tensor {
		t := tensor{name: name, rows: rows, cols: cols, off: m.nParams, decay: decay}
		m.nParams += t.size()
		m.tensors = append(m.tensors, t)
		return t
	}
	d := m.d
	m.embed = add("token_embd.weight", vocab, d, true)
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		m.layers = append(m.layers, layerParams{
			attnNorm: add(p+"attn_norm.weight", 1, d, false),
			wq:       add(p+"attn_q.weight", d, d, true),
			wk:       add(p+"attn_k.weight", m.kvd, d, true),
			wv:       add(p+"attn_v.weight", m.kvd, d, true),
			wo:       add(p+"attn_output.weight", d, d, true),
			ffnNorm:  add(p+"ffn_norm.weight", 1, d, false),
			gate:     add(p+"ffn_gate.weight", m.ffn, d, true),
			up:       add(p+"ffn_up.weight", m.ffn, d, true),
			down:     add(p+"ffn_down.weight", d, m.ffn, true),
		})
	}
	m.outNorm = add("output_norm.weight", 1, d, false)
	m.output = add("output.weight", vocab, d, true)
	m.cos, m.sin = ropeTable(cfg.SeqLen, m.hd, 10000)
	return m
}

// init fills params: norms 1, matrices N(0, 0.02), the two projections that
// write into the residual stream scaled down by sqrt(2·layers) (GPT-2).
func (m *model) init(params []float32, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x747261696e))
	resid := 0.02 / math.Sqrt(2*float64(m.cfg.Layers))
	for _, t := range m.tensors {
		x := params[t.off : t.off+t.size()]
		if !t.decay {
			for i := range x {
				x[i] = 1
			}
			continue
		}
		std := 0.02
		if strings.HasSuffix(t.name, "attn_output.weight") || strings.HasSuffix(t.name, "ffn_down.weight") {
			std = resid
		}
		for i := range x {
			x[i] = float32(std * rng.NormFloat64())
		}
	}
}

func (t tensor) of(x []float32) []float32 { return x[t.off : t.off+t.size()] }

// acts holds the activations of one batch, kept for the backward pass.
type acts struct {
	b, t, n int
	layers  []layerActs
	x       []float32 // residual stream after the last block (N×d)
	xn      []float32 // final norm output
	rstd    []float32
	starts  []int32   // per position, where its attention window begins
	logits  []float32 // N×V; the backward pass overwrites it with dlogits
	losses  []float32

	// gradients of activations, reused across layers
	dres, dxn, dq, dk, dv, dao, dg, du, dh []float32
}

type layerActs struct {
	xin, xn1, rstd1, q, k, v, att, ao, xmid, xn2, rstd2, g, u, h []float32
}

func (m *model) newActs(b int) *acts {
	t := m.cfg.SeqLen
	n := b * t
	d, kvd, f, H := m.d, m.kvd, m.ffn, m.cfg.Heads
	a := &acts{b: b, t: t, n: n}
	mk := func(k int) []float32 { return make([]float32, k) }
	for range m.layers {
		a.layers = append(a.layers, layerActs{
			xin: mk(n * d), xn1: mk(n * d), rstd1: mk(n), q: mk(n * d), k: mk(n * kvd), v: mk(n * kvd),
			att: mk(b * H * t * t), ao: mk(n * d), xmid: mk(n * d), xn2: mk(n * d), rstd2: mk(n),
			g: mk(n * f), u: mk(n * f), h: mk(n * f),
		})
	}
	a.x, a.xn, a.rstd = mk(n*d), mk(n*d), mk(n)
	a.starts = make([]int32, n)
	a.logits, a.losses = mk(n*m.vocab), mk(n)
	a.dres, a.dxn, a.dq, a.dk, a.dv, a.dao = mk(n*d), mk(n*d), mk(n*d), mk(n*kvd), mk(n*kvd), mk(n*d)
	a.dg, a.du, a.dh = mk(n*f), mk(n*f), mk(n*f)
	return a
}

// forward runs the model on inputs (N tokens, b sequences of seq_len) and
// leaves the logits in a.logits.
func (m *model) forward(p *pool, params []float32, a *acts, inputs []int32) {
	n, d, kvd, f := a.n, m.d, m.kvd, m.ffn
	sh := attnShape{b: a.b, t: a.t, heads: m.cfg.Heads, kvHeads: m.cfg.KVHeads, hd: m.hd}
	m.windows(a, inputs)
	x := a.x
	if len(m.layers) > 0 {
		x = a.layers[0].xin
	}
	embeddingForward(x, inputs, m.embed.of(params), d)
	for l, lp := range m.layers {
		la := &a.layers[l]
		rmsnormForward(p, la.xn1, la.rstd1, la.xin, lp.attnNorm.of(params), n, d)
		matmulForward(p, la.q, la.xn1, lp.wq.of(params), n, d, d)
		matmulForward(p, la.k, la.xn1, lp.wk.of(params), n, d, kvd)
		matmulForward(p, la.v, la.xn1, lp.wv.of(params), n, d, kvd)
		ropeForward(la.q, n, a.t, sh.heads, m.hd, m.cos, m.sin)
		ropeForward(la.k, n, a.t, sh.kvHeads, m.hd, m.cos, m.sin)
		attentionForward(p, la.ao, la.att, la.q, la.k, la.v, a.starts, sh)
		matmulForward(p, la.xmid, la.ao, lp.wo.of(params), n, d, d)
		for i, v := range la.xin {
			la.xmid[i] += v
		}
		rmsnormForward(p, la.xn2, la.rstd2, la.xmid, lp.ffnNorm.of(params), n, d)
		matmulForward(p, la.g, la.xn2, lp.gate.of(params), n, d, f)
		matmulForward(p, la.u, la.xn2, lp.up.of(params), n, d, f)
		swigluForward(p, la.h, la.g, la.u)
		next := a.x
		if l+1 < len(m.layers) {
			next = a.layers[l+1].xin
		}
		matmulForward(p, next, la.h, lp.down.of(params), n, f, d)
		for i, v := range la.xmid {
			next[i] += v
		}
	}
	rmsnormForward(p, a.xn, a.rstd, a.x, m.outNorm.of(params), n, d)
	matmulForward(p, a.logits, a.xn, m.output.of(params), n, d, m.vocab)
}

// windows sets a.starts: 0 everywhere (plain causal attention over the
// sequence), or with isolate the position of the last <s> at or before
// each position of its sequence.
func (m *model) windows(a *acts, inputs []int32) {
	for b := range a.b {
		st := int32(0)
		for i := range a.t {
			if m.isolate && inputs[b*a.t+i] == bosID {
				st = int32(i)
			}
			a.starts[b*a.t+i] = st
		}
	}
}

// lossAndBackward computes the masked mean cross-entropy of the logits
// against targets, then adds the gradient of that loss to grads. It
// returns the loss and the number of tokens that counted.
func (m *model) lossAndBackward(p *pool, params, grads []float32, a *acts, inputs, targets []int32, weights []float32) (float64, float64) {
	loss, wsum := m.crossEntropyLoss(p, a, targets, weights)
	m.backward(p, params, grads, a, inputs, a.logits, nil)
	return loss, wsum
}

// crossEntropyLoss is the masked mean cross-entropy of a.logits against
// targets and the number of tokens that counted; it overwrites a.logits
// with the loss's gradient with respect to them.
func (m *model) crossEntropyLoss(p *pool, a *acts, targets []int32, weights []float32) (float64, float64) {
	var wsum float64
	for _, w := range weights {
		wsum += float64(w)
	}
	scale := float32(0)
	if wsum > 0 {
		scale = float32(1 / wsum)
	}
	crossEntropy(p, a.losses, a.logits, a.logits, targets, weights, scale, m.vocab)
	var loss float64
	for r, l := range a.losses {
		loss += float64(weights[r]) * float64(l)
	}
	if wsum > 0 {
		loss /= wsum
	}
	return loss, wsum
}

// backward adds to grads the gradient of a loss whose gradient with
// respect to the logits of the last forward pass is dlogits (N×V; it may
// be a.logits) and, if dxn is not nil, with respect to the final norm's
// output a.xn also dxn (N×d), which a loss reading the hidden state (the
// quiet-star mixing head) adds to what flows back from the logits.
func (m *model) backward(p *pool, params, grads []float32, a *acts, inputs []int32, dlogits, dxn []float32) {
	n, d, kvd, f := a.n, m.d, m.kvd, m.ffn
	sh := attnShape{b: a.b, t: a.t, heads: m.cfg.Heads, kvHeads: m.cfg.KVHeads, hd: m.hd}
	matmulBackward(p, a.dxn, m.output.of(grads), dlogits, a.xn, m.output.of(params), n, d, m.vocab, false)
	for i, g := range dxn {
		a.dxn[i] += g
	}
	clear(a.dres)
	rmsnormBackward(p, a.dres, m.outNorm.of(grads), a.dxn, a.x, m.outNorm.of(params), a.rstd, n, d)
	for l := len(m.layers) - 1; l >= 0; l-- {
		lp, la := m.layers[l], &a.layers[l]
		// FFN branch: dres is the gradient at the block output.
		matmulBackward(p, a.dh, lp.down.of(grads), a.dres, la.h, lp.down.of(params), n, f, d, false)
		swigluBackward(p, a.dg, a.du, a.dh, la.g, la.u)
		matmulBackward(p, a.dxn, lp.gate.of(grads), a.dg, la.xn2, lp.gate.of(params), n, d, f, false)
		matmulBackward(p, a.dxn, lp.up.of(grads), a.du, la.xn2, lp.up.of(params), n, d, f, true)
		rmsnormBackward(p, a.dres, lp.ffnNorm.of(grads), a.dxn, la.xmid, lp.ffnNorm.of(params), la.rstd2, n, d)
		// Attention branch: dres is now the gradient at xmid.
		matmulBackward(p, a.dao, lp.wo.of(grads), a.dres, la.ao, lp.wo.of(params), n, d, d, false)
		attentionBackward(p, a.dq, a.dk, a.dv, a.dao, la.att, la.q, la.k, la.v, a.starts, sh)
		ropeBackward(a.dq, n, a.t, sh.heads, m.hd, m.cos, m.sin)
		ropeBackward(a.dk, n, a.t, sh.kvHeads, m.hd, m.cos, m.sin)
		matmulBackward(p, a.dxn, lp.wq.of(grads), a.dq, la.xn1, lp.wq.of(params), n, d, d, false)
		matmulBackward(p, a.dxn, lp.wk.of(grads), a.dk, la.xn1, lp.wk.of(params), n, d, kvd, true)
		matmulBackward(p, a.dxn, lp.wv.of(grads), a.dv, la.xn1, lp.wv.of(params), n, d, kvd, true)
		rmsnormBackward(p, a.dres, lp.attnNorm.of(grads), a.dxn, la.xin, lp.attnNorm.of(params), la.rstd1, n, d)
	}
	embeddingBackward(m.embed.of(grads), a.dres, inputs, d)
}
