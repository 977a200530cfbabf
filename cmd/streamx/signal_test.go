package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamx/streamx/internal/testcap"
)

// buildBinary builds streamx for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: -short: no process tests")
	}
	bin := filepath.Join(t.TempDir(), "streamx")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// SIGINT while the input is still arriving (a pipe that has not ended):
// the run stops, every connection seen is finished as "interrupted" and
// written, exit 130, nothing left half-written.
func TestInterruptFlushesEverything(t *testing.T) {
	bin := buildBinary(t)
	raw, err := os.ReadFile(testcap.Synthetic("many-conns"))
	if err != nil {
		t.Fatal(err)
	}
	// the records of the first half, and half of the next one's header:
	// the reader blocks there, waiting for more.
	off, last := 24, 24
	for off < len(raw)/2 {
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
		last = off
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(bin, "extract", "-", "-o", out)
	cmd.Stdin = pr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if _, err := pw.Write(raw[:last+8]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // let it read what it was given, even on a loaded machine
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("streamx did not stop after SIGINT")
	}
	pw.Close()
	if code := cmd.ProcessState.ExitCode(); code != exitSignal {
		t.Fatalf("exit %d, want %d: %s", code, exitSignal, stderr.String())
	}
	recs := readFlows(t, filepath.Join(out, "flows.jsonl"))
	if len(recs) == 0 || len(recs) >= 50 {
		t.Errorf("%d flows written, want those seen in the first half", len(recs))
	}
	interrupted := 0
	for _, r := range recs {
		if r.EndReason == "interrupted" {
			interrupted++
		}
	}
	if interrupted == 0 {
		t.Error("no connection was finished as interrupted")
	}
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".part") {
			t.Errorf("left half-written: %s", p)
		}
		return nil
	})
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %s", stderr.String())
	}
}
