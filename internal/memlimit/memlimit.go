// Package memlimit keeps the Go heap near what a run needs. Go's default
// (GOGC=100) lets the heap grow to twice what is live before collecting; for
// streamx, whose live heap is mostly per-connection state and bounded
// buffers, that doubles the peak memory for nothing. Start sets a soft
// memory limit (runtime/debug.SetMemoryLimit) and raises it as the live heap
// grows, so that a run with a small live heap stays small, and one with a
// large live heap (a million connections) is not made to collect
// continuously.
package memlimit

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// headroom is the limit's minimum margin over the live heap, as a fraction
// of it: collecting when the heap has grown by a third of what is live costs
// little (streamx's buffers hold no pointers) and keeps the peak low.
const headroom = 1.0 / 3

// Start sets the soft limit to base bytes (or more, see above) unless the
// user set GOMEMLIMIT, or base <= 0. The returned function stops the
// adjusting and puts the limit back.
func Start(base int64) (stop func()) {
	if base <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetMemoryLimit(base)
	done := make(chan struct{})
	go func() {
		samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		limit := base
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(samples)
			if samples[0].Value.Kind() != metrics.KindUint64 {
				continue
			}
			live := int64(samples[0].Value.Uint64())
			want := max(base, live+int64(float64(live)*headroom)+8<<20)
			if want != limit {
				limit = want
				debug.SetMemoryLimit(limit)
			}
		}
	}()
	return func() {
		close(done)
		debug.SetMemoryLimit(old)
	}
}
