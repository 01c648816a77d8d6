package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countJob counts the indices it ran and can make the chunks of workers
// other than the caller slow, so that the caller outlasts its spin and
// sleeps. A slow job's caller starts its first chunk only once a worker
// holds one: workers take chunks from a shared counter, and a caller
// quicker than its workers to start would otherwise run them all.
type countJob struct {
	hits    []atomic.Int32
	slow    time.Duration
	callers time.Duration // how long the caller's chunks take, once a worker holds one
	started chan struct{} // closed when a worker first runs a chunk
	once    sync.Once
	// byWorker counts the indices workers other than the caller ran.
	byWorker atomic.Int32
}

// slowJob is a countJob over n indices whose workers' chunks take d.
func slowJob(n int, d time.Duration) *countJob {
	return &countJob{hits: make([]atomic.Int32, n), slow: d, started: make(chan struct{})}
}

func (j *countJob) run(worker, lo, hi int) {
	if j.slow > 0 {
		if worker != 0 {
			j.once.Do(func() { close(j.started) })
			time.Sleep(j.slow)
		} else {
			<-j.started
			time.Sleep(j.callers)
		}
	}
	if worker != 0 {
		j.byWorker.Add(int32(hi - lo))
	}
	for i := lo; i < hi; i++ {
		j.hits[i].Add(1)
	}
}

// testPool is a pool of n workers whose goroutines end with the test.
func testPool(t *testing.T, n int) *pool {
	p := newPool(n)
	t.Cleanup(func() {
		for _, ch := range p.work {
			close(ch)
		}
	})
	return p
}

// TestPoolEveryIndexOnce dispatches from several goroutines at once on one
// pool, some with workers slower than the spin, so that both the spinning
// and the sleeping hand-offs run: every index must run exactly once per
// dispatch and every dispatch must return only after all of its chunks.
func TestPoolEveryIndexOnce(t *testing.T) {
	p := newPool(3)
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			var g group
			for d := range 30 {
				j := &countJob{hits: make([]atomic.Int32, 37+c)}
				if d%3 == 0 {
					j = slowJob(37+c, 3*spinFor)
				}
				p.do(&g, len(j.hits), 4, j)
				for i := range j.hits {
					if n := j.hits[i].Load(); n != 1 {
						t.Errorf("caller %d dispatch %d: index %d ran %d times", c, d, i, n)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestPoolSpinAdapts: workers that keep their caller waiting past spinFor
// maxMisses times in a row turn spinning off; the probes turn it back on
// once workers keep up.
func TestPoolSpinAdapts(t *testing.T) {
	p := newPool(2)
	var g group
	// Far slower than spinFor, so that the caller outlasts its spin even
	// when a busy machine deschedules it between its own chunk and the
	// wait (with 3 x spinFor the worker could finish first: a flaky test).
	for i := range maxMisses {
		if !p.spin.Load() {
			t.Fatalf("spinning off after %d slow dispatches, want %d", i, maxMisses)
		}
		p.do(&g, 8, 1, slowJob(8, 20*time.Millisecond))
	}
	if p.spin.Load() {
		t.Fatalf("spinning still on after %d dispatches whose workers kept the caller waiting past spinFor", maxMisses)
	}
	// A probe can miss when the machine is busy; keep dispatching a while.
	fast := &countJob{hits: make([]atomic.Int32, 8)}
	for start := time.Now(); !p.spin.Load() && time.Since(start) < 5*time.Second; {
		p.do(&g, 8, 1, fast)
	}
	if !p.spin.Load() {
		t.Fatal("spinning not back on after 5 s of dispatches a worker kept up with")
	}
}

// TestPoolWaitsOutLongChunks: when every chunk takes longer than
// spinFor, a caller that runs out of chunks waits for the worker's last
// one longer than spinFor, and that is no sign of a busy machine: spinning
// must stay on. (With a fixed spinFor it went off after maxMisses such
// dispatches, as it did decoding the 96.7M model, whose output matrix has
// chunks of over 100 us, and every hand-off then slept.)
func TestPoolWaitsOutLongChunks(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two Ps: with one, a worker cannot run while its caller spins")
	}
	p := testPool(t, 2)
	var g group
	for i := range maxMisses + 2 {
		// The caller's chunk takes 5 ms and the worker's 7: the caller
		// waits about 2 ms (40 x spinFor) for the worker each time.
		j := slowJob(2, 7*time.Millisecond)
		j.callers = 5 * time.Millisecond
		p.do(&g, 2, 1, j)
		if j.byWorker.Load() != 1 {
			t.Fatalf("dispatch %d: the worker ran %d chunks, want 1", i, j.byWorker.Load())
		}
		if !p.spin.Load() {
			t.Fatalf("spinning off after %d dispatches whose workers each finished a chunk as long as the caller's", i+1)
		}
	}
}

// TestPoolCallerTakesSlowWorkersShare: chunks go to whoever is free, so
// while a worker sits on one slow chunk the caller runs all the others
// (with a chunk fixed per worker it ran half).
func TestPoolCallerTakesSlowWorkersShare(t *testing.T) {
	p := testPool(t, 2)
	var g group
	n := 2 * chunksPerWorker * 4
	j := slowJob(n, 200*time.Millisecond)
	p.do(&g, n, 4, j)
	ran := 0
	for i := range j.hits {
		if c := j.hits[i].Load(); c != 1 {
			t.Fatalf("index %d ran %d times", i, c)
		}
		ran++
	}
	if j.byWorker.Load() != 4 {
		t.Errorf("the slow worker ran %d indices, want its one chunk of 4 (the caller the other %d)", j.byWorker.Load(), ran-4)
	}
}
