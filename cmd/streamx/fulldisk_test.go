package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A disk that fills up during a run: exit 3 with a message naming what
// could not be written; no file that was being written looks finished;
// every manifest line is valid and describes a file that is on disk whole.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to mount a small tmpfs")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("SKIP: no mount command")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("SKIP: cannot mount a tmpfs here: %v %s", err, out)
	}
	// lazy: after an output error the run exits without closing what it held open
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	out := filepath.Join(dir, "out")
	pcap := filepath.Join("..", "..", "testdata", "real", "http-nginx", "capture.pcap")
	code, _, stderr := runCLI(t, time.Minute, "extract", "--no-report", pcap, "-o", out)
	if code != exitOutput {
		t.Fatalf("exit %d, want %d (output failed): %s", code, exitOutput, stderr)
	}
	if !strings.Contains(stderr, "no space left on device") {
		t.Errorf("the message does not say the disk is full: %s", stderr)
	}
	for _, e := range readManifestEntries(t, filepath.Join(out, "manifest.jsonl")) {
		st, err := os.Stat(filepath.Join(out, e.Extracted))
		if err != nil {
			t.Errorf("manifest lists %s, not on disk: %v", e.Extracted, err)
			continue
		}
		if e.State == "complete" && st.Size() != e.SeenBytes {
			t.Errorf("%s listed complete with %d bytes, %d on disk", e.Extracted, e.SeenBytes, st.Size())
		}
	}
	// a carved file with its final name is one the manifest vouches for;
	// whatever was cut short is still a .part
	listed := map[string]bool{}
	for _, e := range readManifestEntries(t, filepath.Join(out, "manifest.jsonl")) {
		listed[e.Extracted] = true
	}
	filepath.Walk(filepath.Join(out, "files"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasSuffix(p, ".part") {
			return nil
		}
		rel, _ := filepath.Rel(out, p)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s has its final name but no manifest line", rel)
		}
		return nil
	})
}
