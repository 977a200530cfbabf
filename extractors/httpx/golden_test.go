package httpx

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamx/streamx/extractors"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/http/golden")

// TestGolden: http.jsonl and the list of carved files for each loopback
// capture (and the synthetic keep-alive one), against
// testdata/http/golden/<capture>/; `go test -run TestGolden -update`
// rewrites them after a deliberate change. Everything in them comes from
// the capture (timestamps, IDs in first-seen order), so they are stable.
func TestGolden(t *testing.T) {
	caps := loopbackCaptures(t)
	if s := "../../testdata/synthetic/http-keepalive/capture.pcap"; fileExists(s) {
		caps = append(caps, s)
	}
	if len(caps) == 0 {
		t.Skip("SKIP: no loopback captures")
	}
	for _, pc := range caps {
		name := filepath.Base(filepath.Dir(pc))
		t.Run(name, func(t *testing.T) {
			x := extract(t, extractors.Options{MaxDecodedSize: 1 << 30}, pc)
			log, err := os.ReadFile(filepath.Join(x.dir, "http.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var files bytes.Buffer
			for _, e := range x.entries {
				fmt.Fprintf(&files, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.FUID, e.UID, e.Extracted, e.State, e.SeenBytes, e.Reason, e.SHA256)
			}
			dir := filepath.Join("..", "..", "testdata", "http", "golden", name)
			for _, g := range []struct {
				file string
				got  []byte
			}{{"http.jsonl", log}, {"files.tsv", files.Bytes()}} {
				path := filepath.Join(dir, g.file)
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, g.got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -run TestGolden -update)", err)
				}
				if !bytes.Equal(g.got, want) {
					gl, wl := strings.Split(string(g.got), "\n"), strings.Split(string(want), "\n")
					for i := 0; i < max(len(gl), len(wl)); i++ {
						var a, b string
						if i < len(gl) {
							a = gl[i]
						}
						if i < len(wl) {
							b = wl[i]
						}
						if a != b {
							t.Errorf("%s line %d:\ngot:  %s\nwant: %s", path, i+1, a, b)
							break
						}
					}
				}
			}
		})
	}
}
