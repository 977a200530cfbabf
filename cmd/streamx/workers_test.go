package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/internal/testcap"
)

// readTree returns every file under dir by its slash path, summary.json
// without its elapsed time.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "summary.json" {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			delete(m, "elapsed_seconds")
			b, _ = json.Marshal(m)
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestWorkersIdentical: extract writes the same bytes, file for file, with
// one worker and with several, on every capture in testdata and the shared
// public captures (names, UIDs, FUIDs, transcripts, logs in their sorted
// order, the manifest).
func TestWorkersIdentical(t *testing.T) {
	var caps []string
	for _, glob := range []string{"../../testdata/*/*/capture.pcap*"} {
		m, _ := filepath.Glob(glob)
		caps = append(caps, m...)
	}
	if d := testcap.SharedDir(); d != "" {
		m, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, p := range m {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() < 16<<20 &&
				!strings.HasSuffix(p, ".tsv") && !strings.HasSuffix(p, ".md") {
				caps = append(caps, p)
			}
		}
	} else {
		t.Log("SKIP (part): ../shared/pcaps/real not found: only testdata captures compared")
	}
	if len(caps) < 20 {
		t.Fatalf("only %d captures", len(caps))
	}
	compared := 0
	for _, pc := range caps {
		var trees []map[string][]byte
		for _, w := range []string{"1", "3"} {
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := runCLI(t, 2*time.Minute, "extract", "-q", "--no-report", "--workers", w, pc, "-o", out)
			if code != exitOK && code != exitDamaged {
				t.Fatalf("%s --workers %s: exit %d: %s", pc, w, code, stderr)
			}
			trees = append(trees, readTree(t, out))
		}
		a, b := trees[0], trees[1]
		var names []string
		for k := range a {
			names = append(names, k)
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			if !bytes.Equal(a[k], b[k]) {
				_, ina := a[k]
				_, inb := b[k]
				t.Errorf("%s: %s differs (1 worker: %v, 3 workers: %v)", filepath.Base(pc), k, ina, inb)
			}
		}
		compared++
	}
	t.Logf("%d captures: the same output with 1 and 3 workers", compared)
}
