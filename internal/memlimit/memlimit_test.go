package memlimit

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	stop := Start(64 << 20)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("limit %d, want %d", got, 64<<20)
	}
	// a live heap above the base raises the limit over it
	keep := make([][]byte, 0, 96)
	for i := 0; i < 96; i++ {
		keep = append(keep, make([]byte, 1<<20))
	}
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) <= 96<<20 && time.Now().Before(deadline) {
		debug.FreeOSMemory() // a GC: the live heap is measured
		time.Sleep(20 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got <= 96<<20 {
		t.Errorf("limit %d with 96 MiB live: not raised", got)
	}
	_ = keep[95][0]
	stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after stop: limit %d, want %d", got, before)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	Start(64 << 20)()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("GOMEMLIMIT set: limit changed to %d", got)
	}
}
