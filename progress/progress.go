// Package progress shows how far a long job has come: a bar (mpb) on a
// terminal, plain log lines otherwise, so CI logs stay readable.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Bar counts finished questions and the share answered correctly.
type Bar struct {
	label string
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	total   int
	done    int
	correct int
	fresh   int
	start   time.Time
	last    time.Time
}

// New returns a bar writing to w: animated when w is a terminal, else a log
// line at most every 10 seconds through log.
func New(w *os.File, label string, log *slog.Logger) *Bar {
	b := &Bar{label: label, log: log, every: 10 * time.Second}
	if IsTerminal(w) {
		b.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	} else if log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return b
}

// Start sets the total and how many were already done by an earlier session.
func (b *Bar) Start(total, done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total, b.done, b.start, b.last = total, done, time.Now(), time.Now()
	if b.p != nil {
		b.bar = b.p.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name(b.label+" "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return b.accuracyLocked() }), decor.Name(" "), decor.AverageETA(decor.ET_STYLE_GO)),
		)
		b.bar.SetCurrent(int64(done))
		return
	}
	b.log.Info("progress", "job", b.label, "done", done, "total", total)
}

func (b *Bar) accuracyLocked() string {
	if b.fresh == 0 {
		return "acc -"
	}
	return fmt.Sprintf("acc %.1f%%", 100*float64(b.correct)/float64(b.fresh))
}

// Step records one finished question.
func (b *Bar) Step(correct bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	b.fresh++
	if correct {
		b.correct++
	}
	if b.bar != nil {
		b.bar.Increment()
		return
	}
	if time.Since(b.last) >= b.every || b.done == b.total {
		b.last = time.Now()
		b.log.Info("progress", "job", b.label, "done", b.done, "total", b.total, "accuracy", b.accuracyLocked(), "elapsed", time.Since(b.start).Round(time.Second))
	}
}

// Finish stops the bar.
func (b *Bar) Finish() {
	b.mu.Lock()
	bar, p := b.bar, b.p
	b.mu.Unlock()
	if bar != nil {
		bar.Abort(false)
		p.Wait()
	}
}
