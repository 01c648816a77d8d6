package progress

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// TrainStep is what one optimiser step reports.
type TrainStep struct {
	Step     int // steps done, this one included
	Tokens   int // tokens this step trained on
	Loss     float64
	LR       float64
	GradNorm float64
}

// Train shows training progress: a bar with the loss (a moving average),
// learning rate, tokens/s and ETA on a terminal, a log line every 10
// seconds otherwise.
type Train struct {
	log   *slog.Logger
	total int

	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	start   time.Time
	last    time.Time
	tokens  int
	st      TrainStep
	emaLoss float64
}

// NewTrain returns a report of a training of total steps, done of them
// already done (a resumed run), writing to w.
func NewTrain(w *os.File, log *slog.Logger, total, done int) *Train {
	r := &Train{log: log, total: total, start: time.Now(), last: time.Now()}
	r.st.Step = done
	if IsTerminal(w) {
		r.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(250*time.Millisecond))
		r.bar = r.p.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name("train "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return r.line() }),
				decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30)),
		)
		r.bar.SetCurrent(int64(done))
	}
	return r
}

func (r *Train) line() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", r.emaLoss, r.st.LR, r.rateLocked())
}

func (r *Train) rateLocked() float64 {
	if s := time.Since(r.start).Seconds(); s > 0 {
		return float64(r.tokens) / s
	}
	return 0
}

// Step records one optimiser step.
func (r *Train) Step(st TrainStep) {
	r.mu.Lock()
	first := r.tokens == 0
	r.st = st
	r.tokens += st.Tokens
	if first {
		r.emaLoss = st.Loss
	} else {
		r.emaLoss = 0.95*r.emaLoss + 0.05*st.Loss
	}
	bar := r.bar
	logNow := bar == nil && (time.Since(r.last) >= 10*time.Second || st.Step == r.total || first)
	prev := r.last
	if logNow || bar != nil {
		r.last = time.Now()
	}
	rate := r.rateLocked()
	r.mu.Unlock()
	if bar != nil {
		// The bar's moving-average ETA wants the step's duration.
		bar.EwmaIncrement(time.Since(prev))
		return
	}
	if logNow {
		eta := time.Duration(0)
		if rate > 0 {
			eta = time.Duration(float64((r.total-st.Step)*st.Tokens) / rate * float64(time.Second)).Round(time.Second)
		}
		r.log.Info("train", "step", st.Step, "total", r.total, "loss", fmt.Sprintf("%.4f", st.Loss),
			"loss_avg", fmt.Sprintf("%.4f", r.emaLoss), "lr", fmt.Sprintf("%.2e", st.LR),
			"grad_norm", fmt.Sprintf("%.3f", st.GradNorm), "tok_per_s", fmt.Sprintf("%.0f", rate), "eta", eta)
	}
}

// Loss is the moving average of the loss.
func (r *Train) Loss() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emaLoss
}

// Finish stops the bar.
func (r *Train) Finish() {
	if r.bar != nil {
		r.bar.Abort(false)
		r.p.Wait()
	}
}
