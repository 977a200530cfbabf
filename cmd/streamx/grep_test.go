package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const grepLoopback = "../../testdata/grep/loopback/capture.pcap"

func grepJSONLines(t *testing.T, args ...string) []grepJSON {
	t.Helper()
	code, out, stderr := runCLI(t, time.Minute, append([]string{"grep", "-q", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("grep %v: exit %d: %s", args, code, stderr)
	}
	var res []grepJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var j grepJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		res = append(res, j)
	}
	return res
}

// TestGrepLoopback: on a capture recorded from real clients and servers,
// each marker is found with its connection, direction and offset, and
// ngrep (packet by packet) misses the two that no single packet holds.
func TestGrepLoopback(t *testing.T) {
	pcap, err := os.ReadFile(grepLoopback)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pcap, []byte("SPLITMARKER-0451")) || !bytes.Contains(pcap, []byte("SPLITMA")) {
		t.Fatal("the capture should hold SPLITMARKER-0451 only cut in two")
	}
	if bytes.Contains(pcap, []byte("GZIPPED-SECRET-7731")) {
		t.Fatal("the gzip'd marker is in clear in the capture")
	}
	for _, tc := range []struct {
		pattern  string
		args     []string
		uid      string
		dir      string
		side     string
		offset   int64
		file     string
		ngrepHit bool
	}{
		{"SPLITMARKER-0451", nil, "C000001", "orig", "client", 14, "", false},
		{"GZIPPED-SECRET-7731", []string{"--decoded"}, "C000015", "resp", "server", 907, "files/http/C000015-report.txt", false},
		{"PASS s3cret", nil, "C000029", "orig", "client", 12, "", true},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			got := grepJSONLines(t, append(tc.args, tc.pattern, grepLoopback)...)
			if len(got) != 1 {
				t.Fatalf("%d matches, want 1: %+v", len(got), got)
			}
			g := got[0]
			if g.UID != tc.uid || g.Dir != tc.dir || g.Side != tc.side || g.Offset == nil || *g.Offset != tc.offset || g.File != tc.file || g.Match != tc.pattern {
				t.Fatalf("got %+v (offset %v), want %s %s %s offset %d file %q", g, *g.Offset, tc.uid, tc.dir, tc.side, tc.offset, tc.file)
			}
			if g.Orig == "" || g.Resp != "127.0.0.1:"+map[bool]string{true: "18421", false: "18481"}[tc.uid == "C000029"] {
				t.Fatalf("endpoints %s -> %s", g.Orig, g.Resp)
			}
			ngrep, err := exec.LookPath("ngrep")
			if err != nil {
				t.Logf("ngrep not installed: side-by-side skipped")
				return
			}
			out, err := exec.Command(ngrep, "-q", "-I", grepLoopback, tc.pattern).CombinedOutput()
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: no match
				t.Fatalf("ngrep: %v\n%s", err, out)
			}
			hit := strings.Contains(string(out), "\nT ")
			t.Logf("%-20s streamx: %s %s offset %d %s | ngrep: found=%v", tc.pattern, g.UID, g.Side, *g.Offset, g.File, hit)
			if hit != tc.ngrepHit {
				t.Fatalf("ngrep found=%v, want %v:\n%s", hit, tc.ngrepHit, out)
			}
		})
	}
}

func TestGrepOptions(t *testing.T) {
	// Without --decoded the gzip'd marker is not found.
	if got := grepJSONLines(t, "GZIPPED-SECRET-7731", grepLoopback); len(got) != 0 {
		t.Fatalf("found in the compressed stream: %+v", got)
	}
	// -i, several -e, --side, --proto.
	got := grepJSONLines(t, "-i", "-e", "splitmarker", "-e", "pass S3CRET", "--side", "client", grepLoopback)
	if len(got) != 2 || got[0].UID != "C000001" || got[1].UID != "C000029" {
		t.Fatalf("-i -e: %+v", got)
	}
	if got := grepJSONLines(t, "--side", "server", "SPLITMARKER", grepLoopback); len(got) != 0 {
		t.Fatalf("--side server: %+v", got)
	}
	if got := grepJSONLines(t, "--proto", "ftp", "-e", "SPLITMARKER", "-e", "PASS", grepLoopback); len(got) != 1 || got[0].UID != "C000029" || got[0].Service != "ftp" {
		t.Fatalf("--proto ftp: %+v", got)
	}
	// -x: "PASS" in hex.
	if got := grepJSONLines(t, "-x", "50415353", grepLoopback); len(got) != 1 || got[0].MatchHex != "50415353" {
		t.Fatalf("-x: %+v", got)
	}
	// -c and -l.
	code, out, _ := runCLI(t, time.Minute, "grep", "-q", "-c", "-F", "HTTP/1.", grepLoopback)
	if code != exitOK || !strings.Contains(out, "C000001 stream 0 127.0.0.1:") || !strings.Contains(out, "http: 2") {
		t.Fatalf("-c: %d %s", code, out)
	}
	code, out, _ = runCLI(t, time.Minute, "grep", "-q", "-l", "--decoded", "-e", "hello over ftp", grepLoopback)
	if code != exitOK || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "C000043 stream 3 ") {
		t.Fatalf("-l: %d %q", code, out)
	}
	// Text output, no colour when not a terminal; hex dump for -x.
	code, out, _ = runCLI(t, time.Minute, "grep", "-q", "SPLITMARKER", grepLoopback)
	if want := "C000001 stream 0 "; code != exitOK || !strings.HasPrefix(out, want) || !strings.Contains(out, "client offset 14: GET /search?q=SPLITMARKER-0451 HTTP/1.1\n") || strings.Contains(out, "\x1b") {
		t.Fatalf("text: %q", out)
	}
	code, out, _ = runCLI(t, time.Minute, "grep", "-q", "--color", "always", "-x", "50415353", grepLoopback)
	if code != exitOK || !strings.Contains(out, "\x1b[1;31m50\x1b[0m") || !strings.Contains(out, "|USER alice..") {
		t.Fatalf("hex dump: %q", out)
	}
	// Bad patterns are usage errors.
	for _, args := range [][]string{{"grep", "(", grepLoopback}, {"grep", "-x", "4d5", grepLoopback}, {"grep", "--proto", "gopher", "x", grepLoopback}} {
		if code, _, _ := runCLI(t, time.Minute, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
