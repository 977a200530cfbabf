package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/internal/testcap"
)

// realDir is the folder of public captures shared with the project. Tests
// that use it skip, saying so, when it is not there.
func realDir(t *testing.T) string {
	t.Helper()
	return testcap.Shared(t, "public-capture conformance tests")
}

func realCaptures(t *testing.T) []string {
	dir := realDir(t)
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no captures in %s", dir)
	}
	return out
}

// runCLI runs the command in-process and returns its exit code, stdout and
// stderr. It fails the test if the command takes longer than limit.
func runCLI(t *testing.T, limit time.Duration, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	type res struct{ code int }
	ch := make(chan res, 1)
	go func() {
		ch <- res{runWith(args, &out, &errb)}
	}()
	select {
	case r := <-ch:
		return r.code, out.String(), errb.String()
	case <-time.After(limit):
		t.Fatalf("streamx %s: still running after %s (hang)", strings.Join(args, " "), limit)
	}
	return 0, "", ""
}

func readFlows(t *testing.T, path string) []flowlog.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []flowlog.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r flowlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: bad JSON line %q: %v", path, sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestRealCapturesNoCrash: every public capture is processed without a
// crash or a hang, with exit 0 (clean) or 1 (damaged input, reported).
func TestRealCapturesNoCrash(t *testing.T) {
	for _, pc := range realCaptures(t) {
		t.Run(filepath.Base(pc), func(t *testing.T) {
			out := t.TempDir()
			code, _, stderr := runCLI(t, 2*time.Minute, "extract", "-q", pc, "-o", filepath.Join(out, "x"))
			if code != exitOK && code != exitDamaged {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if code == exitDamaged && !strings.Contains(stderr, "fault") {
				t.Errorf("exit 1 without saying why: %s", stderr)
			}
			// the outputs are there and parse
			readFlows(t, filepath.Join(out, "x", "flows.jsonl"))
			if _, err := os.Stat(filepath.Join(out, "x", "summary.json")); err != nil {
				t.Error(err)
			}
			// nothing is left half-written
			filepath.Walk(filepath.Join(out, "x"), func(p string, info os.FileInfo, err error) error {
				if strings.HasSuffix(p, ".part") {
					t.Errorf("unfinished file left behind: %s", p)
				}
				return nil
			})
		})
	}
}

type tsharkStream struct {
	index int
	nodes [2]string // "addr:port" as tshark prints them
	data  [2][]byte
}

// tsharkFollow runs tshark's follow,tcp,raw on the given streams.
func tsharkFollow(t *testing.T, pcap string, streams []int) map[int]*tsharkStream {
	args := []string{"-r", pcap, "-q"}
	for _, s := range streams {
		args = append(args, "-z", fmt.Sprintf("follow,tcp,raw,%d", s))
	}
	cmd := exec.Command("tshark", args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	res := map[int]*tsharkStream{}
	var cur *tsharkStream
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Filter: tcp.stream eq "):
			var n int
			fmt.Sscanf(line, "Filter: tcp.stream eq %d", &n)
			cur = &tsharkStream{index: n}
			res[n] = cur
		case cur == nil:
		case strings.HasPrefix(line, "Node 0: "):
			cur.nodes[0] = strings.TrimPrefix(line, "Node 0: ")
		case strings.HasPrefix(line, "Node 1: "):
			cur.nodes[1] = strings.TrimPrefix(line, "Node 1: ")
		case strings.HasPrefix(line, "====="), line == "", strings.HasPrefix(line, "Follow:"):
		default:
			node := 0
			if strings.HasPrefix(line, "\t") {
				node = 1
			}
			b, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("tshark follow line %q: %v", line, err)
			}
			cur.data[node] = append(cur.data[node], b...)
		}
	}
	return res
}

// tsharkUnsure lists the streams where tshark itself saw segments missing,
// reused ports or spurious retransmissions: its follow output is not a
// complete oracle there.
func tsharkUnsure(t *testing.T, pcap string) map[int]bool {
	cmd := exec.Command("tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream", "-Y",
		"tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment or tcp.analysis.reused_ports or tcp.analysis.spurious_retransmission")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark expert fields: %v", err)
	}
	res := map[int]bool{}
	for _, line := range strings.Fields(string(out)) {
		var n int
		if _, err := fmt.Sscanf(line, "%d", &n); err == nil {
			res[n] = true
		}
	}
	return res
}

// tsharkConvs lists tcp.stream index -> endpoints from tshark's fields.
func tsharkConvs(t *testing.T, pcap string) map[int][2]string {
	cmd := exec.Command("tshark", "-r", pcap, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,",
		"-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
		"tcp and not icmp and not icmpv6") // TCP headers quoted in ICMP errors are not conversations
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark fields: %v", err)
	}
	res := map[int][2]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 7 || f[0] == "" {
			continue
		}
		var n int
		fmt.Sscanf(f[0], "%d", &n)
		if _, ok := res[n]; ok {
			continue
		}
		src, dst := f[1], f[4]
		if src == "" {
			src, dst = f[2], f[5]
		}
		// tunnelled or ICMP-quoted packets list several addresses
		src, dst = strings.Split(src, ",")[0], strings.Split(dst, ",")[0]
		if src == "" || dst == "" {
			continue
		}
		res[n] = [2]string{ep(src, f[3]), ep(dst, f[6])}
	}
	return res
}

func ep(addr, port string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

func recEndpoint(r *flowlog.Record, side int) string {
	if side == 0 {
		return ep(r.OrigH.String(), fmt.Sprint(r.OrigP))
	}
	return ep(r.RespH.String(), fmt.Sprint(r.RespP))
}

// TestRealCapturesAgreeWithTshark: for every TCP conversation tshark sees,
// streamx lists one with the same endpoints, and each direction's raw
// transcript equals tshark's follow,tcp,raw bytes wherever streamx saw no
// gap in that direction.
func TestRealCapturesAgreeWithTshark(t *testing.T) {
	// the repository's own loopback recordings always, the public ones
	// when the shared folder is there
	caps, _ := filepath.Glob("../../testdata/real/*/capture.pcap")
	if testcap.SharedDir() != "" {
		caps = append(caps, realCaptures(t)...)
	} else {
		t.Log("SKIP (partly): ../shared/pcaps/real not found; comparing the repository's own captures only")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("SKIP: tshark not installed: oracle comparison not run (apt-get install tshark)")
	}
	var compared, equal, skippedGap, tsharkIncomplete int
	for _, pc := range caps {
		t.Run(filepath.Base(filepath.Dir(pc))+"/"+filepath.Base(pc), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x")
			code, _, stderr := runCLI(t, 2*time.Minute, "extract", "-q", pc, "-o", out)
			if code != exitOK && code != exitDamaged {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			recs := readFlows(t, filepath.Join(out, "flows.jsonl"))
			byPair := map[string][]*flowlog.Record{}
			for i := range recs {
				r := &recs[i]
				a, b := recEndpoint(r, 0), recEndpoint(r, 1)
				if a > b {
					a, b = b, a
				}
				byPair[a+" "+b] = append(byPair[a+" "+b], r)
			}
			convs := tsharkConvs(t, pc)
			if len(convs) == 0 {
				return
			}
			var idx []int
			for n := range convs {
				idx = append(idx, n)
			}
			sort.Ints(idx)
			if len(idx) > 60 {
				idx = idx[:60]
			}
			follow := tsharkFollow(t, pc, idx)
			unsure := tsharkUnsure(t, pc)
			seen := map[string]int{}
			for _, n := range idx {
				eps := convs[n]
				a, b := eps[0], eps[1]
				if a > b {
					a, b = b, a
				}
				key := a + " " + b
				cands := byPair[key]
				if len(cands) == 0 {
					t.Errorf("tshark stream %d (%s <-> %s): no streamx flow with these endpoints", n, a, b)
					continue
				}
				// With port reuse, tshark and streamx both number the
				// connections on one 4-tuple in order of appearance.
				k := seen[key]
				seen[key]++
				if k >= len(cands) {
					// tshark split the 4-tuple into more conversations
					// than streamx: compare nothing, but say so.
					t.Logf("tshark stream %d: tshark has more conversations on %s than streamx (%d)", n, key, len(cands))
					continue
				}
				r := cands[k]
				fs := follow[n]
				if fs == nil || r.Transcript == "" {
					continue
				}
				base := strings.TrimSuffix(filepath.Join(out, r.Transcript), ".txt")
				for node := 0; node < 2; node++ {
					side := 0
					if fs.nodes[node] == recEndpoint(r, 1) {
						side = 1
					} else if fs.nodes[node] != recEndpoint(r, 0) {
						continue // tshark printed names or something else
					}
					missed := r.OrigMissed
					suffix := ".orig"
					if side == 1 {
						missed, suffix = r.RespMissed, ".resp"
					}
					got, _ := os.ReadFile(base + suffix)
					want := fs.data[node]
					if unsure[n] {
						tsharkIncomplete++
						continue
					}
					compared++
					if missed > 0 {
						skippedGap++
						continue
					}
					if !bytes.Equal(got, want) {
						t.Errorf("tshark stream %d %s -> : streamx %s has %d bytes, tshark %d; first difference at %d",
							n, fs.nodes[node], suffix, len(got), len(want), firstDiff(got, want))
						continue
					}
					equal++
				}
			}
		})
	}
	t.Logf("directions compared with tshark: %d, byte-identical: %d, not compared because streamx saw a gap: %d, because tshark saw segments missing: %d",
		compared, equal, skippedGap, tsharkIncomplete)
	if equal == 0 {
		t.Error("no direction was byte-identical with tshark: the comparison is not working")
	}
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
