// Package testcap loads small captures into memory for tests and
// benchmarks of the packet-level packages.
package testcap

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/streamx/streamx/capture"
)

// Frame is one packet of a capture.
type Frame struct {
	Data []byte
	Link layers.LinkType
	Pkt  capture.Packet
}

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Synthetic returns the path of a generated case's capture.
func Synthetic(name string) string {
	return filepath.Join(Root(), "testdata", "synthetic", name, "capture.pcap")
}

// Load reads every frame of a capture.
func Load(tb testing.TB, path string) []Frame {
	tb.Helper()
	r, err := capture.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var out []Frame
	for {
		data, p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Frame{Data: append([]byte(nil), data...), Link: p.LinkType, Pkt: p})
	}
}

// Exists reports whether a file exists.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SharedDir is the folder of the public captures shared with the project:
// $STREAMX_REAL_PCAPS, else ../shared/pcaps/real beside the repository.
// It returns "" when neither exists.
func SharedDir() string {
	for _, d := range []string{os.Getenv("STREAMX_REAL_PCAPS"), filepath.Join(Root(), "..", "shared", "pcaps", "real")} {
		if d == "" {
			continue
		}
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return ""
}

// Shared is SharedDir, or skips the test saying which tests did not run.
func Shared(tb testing.TB, what string) string {
	tb.Helper()
	d := SharedDir()
	if d == "" {
		tb.Skipf("SKIP: ../shared/pcaps/real not found (set STREAMX_REAL_PCAPS): %s not run", what)
	}
	return d
}
