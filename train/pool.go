package train

import "sync"

// pool is a fixed set of worker goroutines that split loops into
// contiguous ranges. Every output element is computed by exactly one worker
// in a fixed order, so results do not depend on scheduling.
type pool struct {
	n    int
	jobs []chan job
	wg   sync.WaitGroup
}

type job struct {
	fn     func(lo, hi int)
	lo, hi int
}

// newPool starts n-1 workers; the caller's goroutine is the n-th.
func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	for i := 1; i < p.n; i++ {
		ch := make(chan job)
		p.jobs = append(p.jobs, ch)
		go func() {
			for j := range ch {
				j.fn(j.lo, j.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls fn on p.n contiguous parts of [0, total) in parallel and waits.
func (p *pool) run(total int, fn func(lo, hi int)) {
	if p.n == 1 || total < 2 {
		fn(0, total)
		return
	}
	parts := min(p.n, total)
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		p.jobs[i-1] <- job{fn, total * i / parts, total * (i + 1) / parts}
	}
	fn(0, total/parts)
	p.wg.Wait()
}

// close stops the workers.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs = nil
	p.n = 1
}
