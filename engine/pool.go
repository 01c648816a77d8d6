package engine

import (
	"runtime"
	"sync"
)

// job is work split by index range over the worker pool. Jobs are
// preallocated structs so that dispatching one does not allocate.
type job interface {
	run(worker, lo, hi int)
}

type task struct {
	j      job
	worker int
	lo, hi int
	wg     *sync.WaitGroup
}

// pool is a fixed set of goroutines that run slices of jobs; the caller runs
// the first slice itself, so a pool of n uses n cores.
type pool struct {
	n    int
	work []chan task
}

var (
	defaultPool     *pool
	defaultPoolOnce sync.Once
)

// workers returns the process-wide pool, one worker per GOMAXPROCS.
func workers() *pool {
	defaultPoolOnce.Do(func() { defaultPool = newPool(runtime.GOMAXPROCS(0)) })
	return defaultPool
}

func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	for i := 1; i < p.n; i++ {
		ch := make(chan task, 4)
		p.work = append(p.work, ch)
		go func() {
			for t := range ch {
				t.j.run(t.worker, t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
	return p
}

// do runs j over [0,n) split in contiguous chunks, one per worker, using wg
// (owned by the caller's run state) to wait. Chunks are multiples of align.
func (p *pool) do(wg *sync.WaitGroup, n, align int, j job) {
	parts := p.n
	if n < 2*align || parts == 1 {
		j.run(0, 0, n)
		return
	}
	chunk := (n + parts - 1) / parts
	chunk = (chunk + align - 1) / align * align
	lo := chunk
	for w := 1; w < parts && lo < n; w++ {
		hi := min(lo+chunk, n)
		wg.Add(1)
		p.work[w-1] <- task{j: j, worker: w, lo: lo, hi: hi, wg: wg}
		lo = hi
	}
	j.run(0, 0, min(chunk, n))
	wg.Wait()
}
