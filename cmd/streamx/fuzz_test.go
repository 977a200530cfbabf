package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/internal/testcap"
)

// FuzzExtract runs the whole pipeline (every extractor, transcripts, the
// sink) on mutated captures: no panic, exit 0 or 1 only, nothing left
// half-written, nothing written outside the output folder.
func FuzzExtract(f *testing.F) {
	seeds := []string{
		testcap.Synthetic("http-keepalive"), testcap.Synthetic("gap"), testcap.Synthetic("out-of-order"),
		testcap.Synthetic("ipv4-fragments"), testcap.Synthetic("midstream"),
	}
	addSeeds(f, append(seeds, "../../testdata/real/sample/capture.pcap")...)
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		pcap := filepath.Join(parent, "in.pcap")
		if err := os.WriteFile(pcap, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(parent, "out")
		done := make(chan int, 1)
		go func() {
			done <- runWith([]string{"extract", "-q", "--no-report", pcap, "-o", out}, io.Discard, io.Discard)
		}()
		var code int
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("extract still running after 20s on a %d-byte capture (hang):\n%s", len(b), buf[:runtime.Stack(buf, true)])
		}
		if code != exitOK && code != exitDamaged {
			var eb bytes.Buffer
			runWith([]string{"extract", "-q", "--force", pcap, "-o", filepath.Join(parent, "again")}, io.Discard, &eb)
			t.Fatalf("exit %d: %s", code, eb.String())
		}
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.Name() != "in.pcap" && e.Name() != "out" {
				t.Errorf("written outside the output folder: %s", e.Name())
			}
		}
		filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
			if strings.HasSuffix(p, ".part") {
				t.Errorf("left half-written: %s", p)
			}
			return nil
		})
	})
}

// addSeeds adds each capture's first 64 KiB as a seed.
func addSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 64<<10)])
	}
}

// FuzzWorkers: on any input, extract writes the same output with one
// worker and with three (the differential check of TestWorkersIdentical,
// on whatever the fuzzer makes of the seeds).
func FuzzWorkers(f *testing.F) {
	addSeeds(f, testcap.Synthetic("many-conns"), testcap.Synthetic("port-reuse"),
		testcap.Synthetic("idle-timeout"), testcap.Synthetic("out-of-order"), "../../testdata/real/sample/capture.pcap")
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		pcap := filepath.Join(parent, "in.pcap")
		if err := os.WriteFile(pcap, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var trees []map[string][]byte
		for _, w := range []string{"1", "3"} {
			out := filepath.Join(parent, "out"+w)
			code := runWith([]string{"extract", "-q", "--no-report", "--workers", w, pcap, "-o", out}, io.Discard, io.Discard)
			if code != exitOK && code != exitDamaged {
				t.Fatalf("--workers %s: exit %d", w, code)
			}
			trees = append(trees, readTree(t, out))
		}
		for k, v := range trees[0] {
			if !bytes.Equal(v, trees[1][k]) {
				t.Errorf("%s differs between 1 and 3 workers:%s", k, firstLineDiff(v, trees[1][k]))
			}
		}
		for k := range trees[1] {
			if _, ok := trees[0][k]; !ok {
				t.Errorf("%s only with 3 workers", k)
			}
		}
	})
}

// firstLineDiff shows the first line where a and b differ.
func firstLineDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("\n line %d\n  1: %q\n  3: %q", i+1, x, y)
		}
	}
	return ""
}
