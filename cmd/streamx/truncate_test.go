package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamx/streamx/manifest"
)

func readManifestEntries(t *testing.T, path string) []manifest.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []manifest.Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e manifest.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: invalid line %q: %v", path, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// A real capture cut at many offsets, as a full disk leaves it: no panic,
// exit 1 (0 when the cut falls between records), a valid manifest and flow
// log, no file claimed complete with bytes that differ from the whole
// capture's, and every HTTP file whose connection had ended before the cut
// still complete.
func TestTruncatedRealCaptures(t *testing.T) {
	for _, name := range []string{"http-nginx", "ftp-pyftpdlib-ipv4"} {
		t.Run(name, func(t *testing.T) {
			pcap := filepath.Join("..", "..", "testdata", "real", name, "capture.pcap")
			raw, err := os.ReadFile(pcap)
			if err != nil {
				t.Fatal(err)
			}
			full, _ := extractCase(t, pcap)
			fullMan := readManifestEntries(t, filepath.Join(full, "manifest.jsonl"))
			fullFlows := readFlows(t, filepath.Join(full, "flows.jsonl"))
			lastTS := map[string]time.Time{}
			for _, r := range fullFlows {
				lastTS[r.UID] = r.LastTS.Time
			}
			good := map[string]bool{} // sha256 of every complete file of the whole capture
			for _, e := range fullMan {
				if e.State == manifest.StateComplete {
					good[e.SHA256] = true
				}
			}
			// record boundaries and times, to know what a cut leaves whole
			type rec struct {
				end int
				ts  time.Time
			}
			var recs []rec
			for off := 24; off+16 <= len(raw); {
				sec, usec := binary.LittleEndian.Uint32(raw[off:]), binary.LittleEndian.Uint32(raw[off+4:])
				off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
				recs = append(recs, rec{off, time.Unix(int64(sec), int64(usec)*1000)})
			}
			dir := t.TempDir()
			const cuts = 40
			for i := 1; i < cuts; i++ {
				cut := 24 + (len(raw)-24)*i/cuts + i%7 // spread, and off record boundaries
				p := filepath.Join(dir, "cut.pcap")
				os.WriteFile(p, raw[:cut], 0o644)
				out := filepath.Join(dir, "out")
				os.RemoveAll(out)
				code := runWith([]string{"extract", "-q", "--no-report", p, "-o", out}, discard{}, discard{})
				var whole time.Time // time of the last whole record before the cut
				boundary := false
				for _, r := range recs {
					if r.end <= cut {
						whole = r.ts
					}
					if r.end == cut {
						boundary = true
					}
				}
				if want := exitDamaged; boundary && code != exitOK || !boundary && code != want {
					t.Fatalf("cut at %d: exit %d", cut, code)
				}
				readFlows(t, filepath.Join(out, "flows.jsonl"))
				man := readManifestEntries(t, filepath.Join(out, "manifest.jsonl"))
				byName := map[string]manifest.Entry{}
				for _, e := range man {
					byName[e.Extracted] = e
					if e.State == manifest.StateComplete && !good[e.SHA256] && e.Source != "FTP_SESSION" {
						t.Errorf("cut at %d: %s claimed complete, but its bytes are not those of any complete file of the whole capture", cut, e.Extracted)
					}
				}
				if name != "http-nginx" {
					continue
				}
				for _, e := range fullMan {
					if e.State != manifest.StateComplete || !lastTS[e.UID].Before(whole) {
						continue
					}
					if a, _ := e.Extra["assembled"].(bool); a {
						continue // stitched from 206 pieces on several connections
					}
					got, ok := byName[e.Extracted]
					if !ok || got.State != manifest.StateComplete || got.SHA256 != e.SHA256 {
						t.Errorf("cut at %d: %s was complete before the cut (its connection ended at %s) but is %+v", cut, e.Extracted, lastTS[e.UID].Format(time.RFC3339Nano), got.State)
					}
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
