package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/streamx/streamx/internal/testcap"
)

// A capture rotated into several files (the middle one pcapng, the last
// gzip'd) reads as one: the same connections, the same bytes.
func TestRotatedCapturesContinue(t *testing.T) {
	src := testcap.Synthetic("http-keepalive")
	frames := testcap.Load(t, src)
	dir := t.TempDir()
	thirds := [][]testcap.Frame{frames[:len(frames)/3], frames[len(frames)/3 : 2*len(frames)/3], frames[2*len(frames)/3:]}
	var names []string
	for i, part := range thirds {
		var buf bytes.Buffer
		if i == 1 {
			w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range part {
				w.WritePacket(f.Pkt.CI, f.Data)
			}
			w.Flush()
		} else {
			w := pcapgo.NewWriter(&buf)
			w.WriteFileHeader(65536, layers.LinkTypeEthernet)
			for _, f := range part {
				w.WritePacket(f.Pkt.CI, f.Data)
			}
		}
		name := filepath.Join(dir, []string{"a.pcap", "b.pcapng", "c.pcap"}[i])
		os.WriteFile(name, buf.Bytes(), 0o644)
		names = append(names, name)
	}
	_, whole := extractCase(t, src)
	out := filepath.Join(t.TempDir(), "o")
	code, _, stderr := runCLI(t, time.Minute, append([]string{"extract", "-q", "-o", out}, names...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	split := readFlows(t, filepath.Join(out, "flows.jsonl"))
	if len(split) != len(whole) || len(whole) != 1 {
		t.Fatalf("%d flows from the parts, %d from the whole", len(split), len(whole))
	}
	a, b := split[0], whole[0]
	a.Transcript, b.Transcript = "", ""
	if a != b {
		t.Errorf("parts: %+v\nwhole: %+v", a, b)
	}
}

// "-" reads standard input.
func TestStdin(t *testing.T) {
	f, err := os.Open(testcap.Synthetic("handshake-normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, out, stderr := runCLI(t, time.Minute, "flows", "-q", "-")
	if code != 0 || !strings.Contains(out, "192.0.2.10:49152") || !strings.Contains(out, "CLOSED") {
		t.Fatalf("exit %d, out %q, err %q", code, out, stderr)
	}
}

// Damaged input: exit 1, a message naming the file, packet and offset,
// and everything before the fault written.
func TestTruncatedCaptureExitsOneAndKeepsOutput(t *testing.T) {
	raw, _ := os.ReadFile(testcap.Synthetic("http-keepalive"))
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, raw[:len(raw)-7], 0o644)
	out := filepath.Join(t.TempDir(), "o")
	code, _, stderr := runCLI(t, time.Minute, "extract", cut, "-o", out)
	if code != exitDamaged {
		t.Fatalf("exit %d, want %d: %s", code, exitDamaged, stderr)
	}
	if !strings.Contains(stderr, "cut.pcap: packet ") || !strings.Contains(stderr, "byte offset") {
		t.Errorf("the message does not locate the fault: %s", stderr)
	}
	recs := readFlows(t, filepath.Join(out, "flows.jsonl"))
	if len(recs) != 1 || recs[0].OrigBytes == 0 {
		t.Errorf("output before the fault not written: %+v", recs)
	}
	// --strict stops at the fault too, with the same exit code
	out2 := filepath.Join(t.TempDir(), "o2")
	if code, _, _ := runCLI(t, time.Minute, "extract", "--strict", cut, "-o", out2); code != exitDamaged {
		t.Errorf("--strict: exit %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"flows", "-f", "port 99999", "x.pcap"},
		{"follow", testcap.Synthetic("gap")},
		{"extract", testcap.Synthetic("gap")},
		{"nosuchcommand"},
	} {
		if code, _, _ := runCLI(t, time.Minute, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	// a non-empty output folder is refused
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "x"), nil, 0o644)
	if code, _, stderr := runCLI(t, time.Minute, "extract", testcap.Synthetic("gap"), "-o", out); code != exitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("non-empty output: exit %d %s", code, stderr)
	}
}
