package openai

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxRetryAfter caps how long a server may ask us to wait before a retry.
const maxRetryAfter = time.Minute

// ErrMalformed marks a 2xx answer that is not a usable completion response
// (not JSON, or no choices).
var ErrMalformed = errors.New("malformed response")

// StatusError is a non-2xx HTTP answer from a backend.
type StatusError struct {
	URL        string
	Model      string
	StatusCode int
	Message    string        // the server's error message, or the start of its body
	RetryAfter time.Duration // from Retry-After(-Ms); 0 when absent
}

// Error reads like `openai: http://host/v1: model "x": 404 Not Found: msg`.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: %d %s", where(e.URL, e.Model), e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether retrying the same request may succeed.
func (e *StatusError) Temporary() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transportError is a failure below HTTP: refused or reset connection, EOF
// mid-body, or an attempt timeout.
type transportError struct {
	err     error
	timeout bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// permanent reports transport failures retrying cannot fix.
func (e *transportError) permanent() bool {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	return (errors.As(e.err, &dns) && dns.IsNotFound) ||
		errors.As(e.err, &unknownCA) || errors.As(e.err, &hostname) ||
		errors.As(e.err, &certInvalid) || errors.As(e.err, &record)
}

// retryable reports whether err (from replica.call) is worth another attempt.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	var te *transportError
	return errors.As(err, &te) && !te.permanent()
}

// serverFault reports failures that count against a replica's health:
// transport errors and 5xx. A 429 means busy, not broken.
func serverFault(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 500
	}
	var te *transportError
	return errors.As(err, &te)
}

// refused reports that nothing listens at the replica.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// rootCause strips the URL and socket wrappers so Ping can say
// "unreachable: connection refused".
func rootCause(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return syscall.ECONNREFUSED
	}
	var te *transportError
	if errors.As(err, &te) {
		err = te.err
	}
	for {
		var ue *url.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue):
			err = ue.Err
		case errors.As(err, &oe):
			return oe.Err
		default:
			return err
		}
	}
}

// backoff is the wait before retry number attempt+1: the server's
// Retry-After when given, else exponential with jitter in [d/2, d].
func (b *Backend) backoff(attempt int, err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter
	}
	d := b.cfg.BackoffBase
	for range attempt {
		d *= 2
		if d >= b.cfg.BackoffMax {
			d = b.cfg.BackoffMax
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or HTTP date),
// capped at maxRetryAfter; 0 when absent or unparsable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	var d time.Duration
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			d = time.Duration(ms * float64(time.Millisecond))
		}
	} else if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			if s > 0 {
				d = time.Duration(s * float64(time.Second))
			}
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	return max(0, min(d, maxRetryAfter))
}
