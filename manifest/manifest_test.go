package manifest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTSJSON(t *testing.T) {
	tests := []struct {
		ts   time.Time
		json string
	}{
		{time.Unix(1700000000, 123456000), "1700000000.123456"},
		{time.Unix(1700000000, 123456789), "1700000000.123456"}, // truncated to µs
		{time.Unix(1700000000, 0), "1700000000.000000"},
		{time.Unix(1, 5000), "1.000005"},
		{time.Unix(-2, 500000000), "-1.500000"},
		{time.Time{}, "0"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(TS{tt.ts})
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.ts, b, err, tt.json)
		}
		var back TS
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Equal(tt.ts.Truncate(time.Microsecond)) && !(tt.ts.IsZero() && back.IsZero()) {
			t.Errorf("round trip %s = %v, want %v", b, back.Time, tt.ts)
		}
	}
	for _, in := range []string{"1700000000.1", "1700000000.1234567", "1.7e9"} {
		var ts TS
		if err := json.Unmarshal([]byte(in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
		}
	}
	if got := mustTS(t, "1700000000.1"); got.UnixMicro() != 1700000000100000 {
		t.Errorf("1700000000.1 = %d µs", got.UnixMicro())
	}
	for _, bad := range []string{`"x"`, "1.2.3", ".5", "1.-5", "99999999999999999999"} {
		var ts TS
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func mustTS(t *testing.T, s string) TS {
	var ts TS
	if err := json.Unmarshal([]byte(s), &ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestDurationJSON(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		json string
	}{
		{1500 * time.Millisecond, "1.500000"},
		{time.Microsecond, "0.000001"},
		{90 * time.Minute, "5400.000000"},
	} {
		b, _ := json.Marshal(Duration(tt.d))
		if string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, want %s", tt.d, b, tt.json)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != tt.d {
			t.Errorf("round trip %s = %v, %v", b, time.Duration(back), err)
		}
	}
}

func TestEntryFields(t *testing.T) {
	total := int64(10)
	e := Entry{
		TS:   TS{time.Unix(1700000000, 1000)},
		FUID: "F000001", UID: "C1",
		ConnID: ConnID{
			OrigH: netip.MustParseAddr("2001:db8::1"), OrigP: 1234,
			RespH: netip.MustParseAddr("192.0.2.1"), RespP: 80,
		},
		Source: "HTTP", IsOrig: true, Filename: "a<b>&.txt",
		Extracted: "files/http/a_b_&.txt", SeenBytes: 8, TotalBytes: &total,
		MissingBytes: 2, Holes: []Hole{{4, 2}}, State: StateTruncated, Reason: "gap",
		Extra: map[string]any{"range": "bytes 0-9/10"},
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"ts", "fuid", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "source", "is_orig", "filename", "extracted", "seen_bytes", "total_bytes", "missing_bytes", "holes", "state", "reason", "extra"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s in %s", k, b)
		}
	}
	for _, k := range []string{"md5", "sha256", "mime_type", "server_path", "command", "duration", "filename_hex", "declared_mime_type"} {
		if _, ok := m[k]; ok {
			t.Errorf("empty %s not omitted in %s", k, b)
		}
	}
	if m["id.orig_h"] != "2001:db8::1" || m["ts"] != 1700000000.000001 {
		t.Errorf("%s", b)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ConnID != e.ConnID || !back.TS.Equal(e.TS.Time) || *back.TotalBytes != 10 || back.Holes[0] != e.Holes[0] {
		t.Errorf("round trip: %+v", back)
	}
	// A zero total_bytes is kept (an empty file), unknown is omitted.
	zero := int64(0)
	b, _ = json.Marshal(Entry{TotalBytes: &zero})
	if !strings.Contains(string(b), `"total_bytes":0`) {
		t.Errorf("total_bytes 0 dropped: %s", b)
	}
}

func TestWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "files.jsonl")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, per = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				if err := w.Write(Entry{FUID: fmt.Sprintf("F%d-%d", g, i), Filename: strings.Repeat("x", i*10) + "\n<&>"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// Lines are with the OS before Close.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if seen[e.FUID] || !strings.HasSuffix(e.Filename, "\n<&>") {
			t.Errorf("line %q", sc.Text())
		}
		seen[e.FUID] = true
	}
	if len(seen) != goroutines*per {
		t.Errorf("%d lines", len(seen))
	}
	if strings.Contains(string(b), `\u003c`) {
		t.Error("HTML escaping in the manifest")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(Entry{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	// Never replaces a file, never follows a symlink.
	if _, err := NewWriter(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewWriter on an existing file: %v", err)
	}
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	link := filepath.Join(dir, "link.jsonl")
	os.Symlink(target, link)
	if _, err := NewWriter(link); err == nil {
		t.Error("NewWriter through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("symlink target changed: %q", b)
	}
	// Unmarshalable values write nothing.
	w2, _ := NewWriter(filepath.Join(dir, "2.jsonl"))
	defer w2.Close()
	if err := w2.Write(map[string]any{"f": func() {}}); err == nil {
		t.Error("func marshalled")
	}
	if fi, _ := os.Stat(filepath.Join(dir, "2.jsonl")); fi.Size() != 0 {
		t.Errorf("partial line written")
	}
}
