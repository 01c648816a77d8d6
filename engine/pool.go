package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// job is work split by index range over the worker pool. Jobs are
// preallocated structs so that dispatching one does not allocate.
type job interface {
	run(worker, lo, hi int)
}

type task struct {
	j      job
	worker int
	g      *group
}

// spinFor is how long a worker keeps looking for its next task, and a
// caller for its workers to finish (or longer, for chunks longer than
// that: see do), before sleeping. Decoding dispatches
// a few dozen products per token, microseconds apart: waking a sleeping
// goroutine costs several microseconds each time (a futex round trip),
// more than a small product takes, while spinning through the gaps keeps
// the hand-off to well under one. The bound keeps an idle pool from
// burning a core for longer than that.
const spinFor = 50 * time.Microsecond

// probeEvery is how many dispatches pass, while spinning is off, before
// one spins again to see whether it pays once more.
const probeEvery = 128

// maxMisses is how many spins in a row may run out before spinning is
// turned off: one can on a quiet machine, when a worker that had gone to
// sleep is slow to wake.
const maxMisses = 3

// pool is a fixed set of goroutines that run slices of jobs; the caller runs
// the first slice itself, so a pool of n uses n cores.
//
// Spinning pays only while the workers really run alongside the caller.
// On a machine busier than its cores (other processes, or more callers
// than cores) a spinning goroutine holds the core that the one it waits
// for needs, and every hand-off costs a whole spin: decoding ran 4x slower
// spinning than sleeping at once there. So maxMisses spins in a row that
// run out turn spinning off for everyone, and a spin that succeeds, tried
// every probeEvery dispatches, turns it back on.
type pool struct {
	n      int
	work   []chan task
	spin   atomic.Bool   // whether waits and idle workers spin first
	misses atomic.Int32  // spins in a row that ran out
	waits  atomic.Uint32 // dispatches waited for, to time the probes
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
	p.spin.Store(true)
	for i := 1; i < p.n; i++ {
		ch := make(chan task, 4)
		p.work = append(p.work, ch)
		go func() {
			for {
				t, ok := p.next(ch)
				if !ok {
					return
				}
				t.g.runChunks(t.j, t.worker)
				t.g.done()
			}
		}()
	}
	return p
}

// next takes the next task from ch, spinning for up to spinFor first when
// spinning pays. It reports false when ch is closed.
func (p *pool) next(ch chan task) (task, bool) {
	if p.spin.Load() {
		deadline := time.Time{}
		for i := 0; ; i++ {
			select {
			case t, ok := <-ch:
				return t, ok
			default:
			}
			if i&63 != 63 { // reading the clock costs more than a poll
				continue
			}
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinFor)
			} else if now.After(deadline) {
				break
			}
		}
	}
	t, ok := <-ch
	return t, ok
}

// do runs j over [0,n) split in contiguous chunks, multiples of align,
// using g (owned by the caller's run state) to wait. The caller and the
// workers take chunks in turn from a shared counter, chunksPerWorker of
// them each on average where n allows: on a shared machine a worker can
// start late or lose its core for a while, and with one fixed chunk each
// the others waited for it idle at every product.
func (p *pool) do(g *group, n, align int, j job) {
	parts := p.n
	if n < 2*align || parts == 1 {
		j.run(0, 0, n)
		return
	}
	chunks := parts * max(1, min(chunksPerWorker, n/(parts*align)))
	chunk := (n + chunks - 1) / chunks
	chunk = (chunk + align - 1) / align * align
	g.n, g.chunk = n, chunk
	g.next.Store(0)
	for w := 1; w < parts && w*chunk < n; w++ {
		g.pending.Add(1)
		p.work[w-1] <- task{j: j, worker: w, g: g}
	}
	start := time.Now()
	limit := spinFor
	if ran := g.runChunks(j, 0); ran > 0 {
		// A worker still busy holds one chunk at most, which takes about
		// as long as each of the caller's: waiting that out is no sign that
		// the workers fall behind. (The output matrix's chunks take over
		// 100 us when decoding the 96.7M model; against a fixed spinFor
		// those waits ran out, turned spinning off, and decoding then ran
		// at 0.73x until a probe turned it back on.)
		limit = max(spinFor, 2*time.Since(start)/time.Duration(ran))
	}
	p.wait(g, limit)
}

// chunksPerWorker is how many chunks a dispatch is cut into per worker
// (see do). Four against one, interleaved: decoding the 96.7M model
// 1.3-1.6x, its search 1.05-1.2x, prefill 1.05-1.1x.
const chunksPerWorker = 4

// group counts the tasks of one dispatch still running, and wakes a caller
// that sleeps until they are done.
type group struct {
	next     atomic.Int32 // the next chunk to take
	n, chunk int          // the dispatch's range [0,n) and chunk size
	pending  atomic.Int32
	waiting  atomic.Bool
	wake     chan struct{} // buffered 1; made on first use
	once     sync.Once
}

func (g *group) ch() chan struct{} {
	g.once.Do(func() { g.wake = make(chan struct{}, 1) })
	return g.wake
}

// runChunks runs j as worker on chunks of the dispatch until none is
// left, and returns how many it ran.
func (g *group) runChunks(j job, worker int) int {
	for ran := 0; ; ran++ {
		lo := int(g.next.Add(1)-1) * g.chunk
		if lo >= g.n {
			return ran
		}
		j.run(worker, lo, min(lo+g.chunk, g.n))
	}
}

// done marks one task finished, waking a sleeping caller after the last.
func (g *group) done() {
	if g.pending.Add(-1) == 0 && g.waiting.Load() {
		select {
		case g.ch() <- struct{}{}:
			// The woken caller is queued to run next on this worker's P,
			// where it would wait while the worker spins for its next
			// task: yield the P to it.
			runtime.Gosched()
		default: // a signal is already pending; the caller re-checks
		}
	}
}

// wait returns once every task of g's dispatch is done: at once if they
// are, else after spinning for up to limit (when spinning pays, or to
// probe whether it does again) or sleeping.
func (p *pool) wait(g *group, limit time.Duration) {
	if g.pending.Load() == 0 {
		return
	}
	spin := p.spin.Load() || p.waits.Add(1)%probeEvery == 0
	if spin {
		if spinUntilDone(g, limit) {
			p.misses.Store(0)
			p.spin.Store(true)
			return
		}
		if p.misses.Add(1) >= maxMisses {
			p.spin.Store(false) // the workers are not keeping up: stop spinning
		}
	}
	// Sleep. Set waiting before the last check, so that either this check
	// sees the count at zero or the last done sees waiting and signals; a
	// stale signal from an earlier dispatch only causes one more check.
	g.waiting.Store(true)
	for g.pending.Load() != 0 {
		<-g.ch()
	}
	g.waiting.Store(false)
}

// spinUntilDone polls g for up to limit and reports whether its tasks
// finished meanwhile.
func spinUntilDone(g *group, limit time.Duration) bool {
	deadline := time.Time{}
	for i := 0; g.pending.Load() != 0; i++ {
		if i&63 != 63 {
			continue
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(limit)
		} else if now.After(deadline) {
			return false
		}
	}
	return true
}
