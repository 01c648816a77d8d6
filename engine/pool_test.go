package engine

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countJob counts the indices it ran and can make the chunks of workers
// other than the caller slow, so that the caller outlasts its spin and
// sleeps.
type countJob struct {
	hits []atomic.Int32
	slow time.Duration
}

func (j *countJob) run(worker, lo, hi int) {
	if worker != 0 && j.slow > 0 {
		time.Sleep(j.slow)
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
					j.slow = 3 * spinFor
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
	slow := &countJob{hits: make([]atomic.Int32, 8), slow: 20 * time.Millisecond}
	for i := range maxMisses {
		if !p.spin.Load() {
			t.Fatalf("spinning off after %d slow dispatches, want %d", i, maxMisses)
		}
		p.do(&g, 8, 1, slow)
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
