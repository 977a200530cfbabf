package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/internal/pcapgen"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/*/want")

func extractCase(t *testing.T, pcap string, extra ...string) (string, []flowlog.Record) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"extract", "-q", pcap, "-o", out}, extra...)
	code, _, stderr := runCLI(t, time.Minute, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return out, readFlows(t, filepath.Join(out, "flows.jsonl"))
}

// TestSyntheticStreamsEqualWhatWasSent: for every generated case, every
// direction's raw transcript equals what the generator's application sent,
// except where the case leaves bytes out of the capture, which must then be
// reported missing (and the raw file keep true offsets).
func TestSyntheticStreamsEqualWhatWasSent(t *testing.T) {
	for _, cs := range pcapgen.Cases() {
		t.Run(cs.Name, func(t *testing.T) {
			pcap := filepath.Join("..", "..", "testdata", "synthetic", cs.Name, "capture.pcap")
			var buf bytes.Buffer
			w, err := cs.Generate(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if disk, err := os.ReadFile(pcap); err != nil || !bytes.Equal(disk, buf.Bytes()) {
				t.Fatalf("%s is missing or differs from the generator (regenerate with go run ./cmd/streamx-gencap -cases testdata/synthetic)", pcap)
			}
			out, recs := extractCase(t, pcap)
			// A connection of the generator may show as several flows
			// (port reuse, idle expiry): concatenate the flows on its
			// 4-tuple in order.
			for i, c := range w.Conns() {
				for dirIdx, fromClient := range []bool{true, false} {
					sent := c.Sent(fromClient)
					var got []byte
					var missed uint64
					var n int
					for _, r := range recs {
						if !sameConn(&r, c.Client(), c.Server()) {
							continue
						}
						n++
						side, suffix := sideOf(&r, c.Client(), fromClient)
						missed += side
						if r.Transcript != "" {
							b, _ := os.ReadFile(filepath.Join(out, strings.TrimSuffix(r.Transcript, ".txt")+suffix))
							got = append(got, b...)
						}
					}
					if n == 0 {
						t.Fatalf("conn %d (%s -> %s): no flow", i, c.Client(), c.Server())
					}
					if cs.Name == "port-reuse" || cs.Name == "null-loopback" {
						// several generator conns on one 4-tuple: checked below
						continue
					}
					if missed == 0 && !bytes.Equal(got, sent) {
						t.Errorf("conn %d dir %d: reassembled %d bytes, sent %d; first difference at %d", i, dirIdx, len(got), len(sent), firstDiff(got, sent))
					}
					if missed > 0 {
						// holes are zeros at the right offsets; the rest is exact
						if len(got) != len(sent) {
							t.Errorf("conn %d dir %d: %d bytes missing but raw file is %d bytes, sent %d (offsets not kept)", i, dirIdx, missed, len(got), len(sent))
						}
						diff := 0
						for j := range min(len(got), len(sent)) {
							if got[j] != sent[j] {
								diff++
								if got[j] != 0 {
									t.Fatalf("conn %d dir %d: byte %d is %#x, neither the sent byte nor a hole", i, dirIdx, j, got[j])
								}
							}
						}
						if uint64(diff) > missed {
							t.Errorf("conn %d dir %d: %d bytes differ, only %d reported missing", i, dirIdx, diff, missed)
						}
					}
				}
			}
		})
	}
}

func sameConn(r *flowlog.Record, client, server netip.AddrPort) bool {
	o := netip.AddrPortFrom(r.OrigH, r.OrigP)
	s := netip.AddrPortFrom(r.RespH, r.RespP)
	return (o == client && s == server) || (o == server && s == client)
}

func sideOf(r *flowlog.Record, client netip.AddrPort, fromClient bool) (uint64, string) {
	origIsClient := netip.AddrPortFrom(r.OrigH, r.OrigP) == client
	if origIsClient == fromClient {
		return r.OrigMissed, ".orig"
	}
	return r.RespMissed, ".resp"
}

// TestSyntheticLifecycle checks the flow table's reading of each case.
func TestSyntheticLifecycle(t *testing.T) {
	type want struct {
		flows     int
		state     string // of the first flow
		connState string
		history   string
		check     func(t *testing.T, r []flowlog.Record)
	}
	cases := map[string]want{
		"handshake-normal": {1, "CLOSED", "SF", "ShADadFf", nil},
		"fin-server-first": {1, "CLOSED", "SF", "", nil},
		"handshake-synack-lost-retransmitted-syn": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigPkts < 2 {
				t.Errorf("retransmitted SYN not counted: %d packets", r[0].OrigPkts)
			}
		}},
		"simultaneous-close":           {1, "CLOSED", "SF", "", nil},
		"rst-from-client-mid-transfer": {1, "RESET", "RSTO", "", nil},
		"rst-from-server":              {1, "RESET", "REJ", "Sr", nil},
		"syn-unanswered": {1, "SYN-SENT", "S0", "S", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigPkts != 3 || r[0].RespPkts != 0 {
				t.Errorf("packets %d/%d, want 3/0", r[0].OrigPkts, r[0].RespPkts)
			}
		}},
		"retransmission": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigRetrans != 1 || r[0].MissedBytes != 0 {
				t.Errorf("retrans %d missed %d, want 1 and 0", r[0].OrigRetrans, r[0].MissedBytes)
			}
			if !strings.Contains(r[0].History, "T") {
				t.Errorf("history %q lacks T", r[0].History)
			}
		}},
		"out-of-order": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigOutOfOrder == 0 || r[0].MissedBytes != 0 {
				t.Errorf("out-of-order %d missed %d", r[0].OrigOutOfOrder, r[0].MissedBytes)
			}
		}},
		"overlap-partial": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigOverlap != 1 {
				t.Errorf("overlap %d, want 1", r[0].OrigOverlap)
			}
		}},
		"seq-wraparound": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigBytes != 2048 || r[0].RespBytes != 2048 || r[0].MissedBytes != 0 {
				t.Errorf("bytes %d/%d missed %d, want 2048/2048/0", r[0].OrigBytes, r[0].RespBytes, r[0].MissedBytes)
			}
		}},
		"port-reuse": {2, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[1].EndReason != "closed" || r[0].OrigBytes != 300 || r[1].OrigBytes != 400 {
				t.Errorf("second flow %+v", r[1])
			}
		}},
		"midstream": {1, "CLOSED", "", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigBy != "port-heuristic" || r[0].RespP != 80 {
				t.Errorf("originator chosen by %s, responder port %d", r[0].OrigBy, r[0].RespP)
			}
			if r[0].OrigBytes != 700 || r[0].RespBytes != 1800 {
				t.Errorf("bytes %d/%d, want 700/1800", r[0].OrigBytes, r[0].RespBytes)
			}
		}},
		"gap": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].OrigMissed != 1000 || r[0].RespMissed != 0 || !strings.Contains(r[0].History, "G") {
				t.Errorf("missed %d/%d history %s, want 1000/0 with G", r[0].OrigMissed, r[0].RespMissed, r[0].History)
			}
		}},
		"ipv4-fragments": {1, "CLOSED", "SF", "", nil},
		"ipv6-fragments": {1, "CLOSED", "SF", "", nil},
		"vlan": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].VLAN != 100 {
				t.Errorf("vlan %d", r[0].VLAN)
			}
		}},
		"qinq": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].VLAN != 100 {
				t.Errorf("inner vlan %d, want 100", r[0].VLAN)
			}
		}},
		"ipv6":          {1, "CLOSED", "SF", "", nil},
		"rawip":         {1, "CLOSED", "SF", "", nil},
		"sll":           {1, "CLOSED", "SF", "", nil},
		"null-loopback": {2, "CLOSED", "SF", "", nil},
		"pcap-ns":       {1, "CLOSED", "SF", "", nil},
		"many-conns": {50, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			for i, x := range r {
				if x.Stream != uint64(i) {
					t.Fatalf("flow %d has stream %d", i, x.Stream)
				}
			}
		}},
		"idle-timeout": {2, "EXPIRED", "S1", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].EndReason != "idle-timeout" || r[1].OrigBy != "port-heuristic" {
				t.Errorf("first ends by %s, second originator by %s", r[0].EndReason, r[1].OrigBy)
			}
		}},
		"http-keepalive": {1, "CLOSED", "SF", "", func(t *testing.T, r []flowlog.Record) {
			if r[0].Service != "http" {
				t.Errorf("service %q", r[0].Service)
			}
		}},
		"overlap-conflicting": {1, "CLOSED", "SF", "", nil},
	}
	for _, cs := range pcapgen.Cases() {
		w, ok := cases[cs.Name]
		if !ok {
			t.Errorf("case %s has no lifecycle expectation here", cs.Name)
			continue
		}
		t.Run(cs.Name, func(t *testing.T) {
			_, recs := extractCase(t, filepath.Join("..", "..", "testdata", "synthetic", cs.Name, "capture.pcap"))
			sort.Slice(recs, func(i, j int) bool { return recs[i].Stream < recs[j].Stream })
			if len(recs) != w.flows {
				t.Fatalf("%d flows, want %d", len(recs), w.flows)
			}
			r := recs[0]
			if r.State != w.state {
				t.Errorf("state %s, want %s", r.State, w.state)
			}
			if w.connState != "" && r.ConnState != w.connState {
				t.Errorf("conn_state %s, want %s (history %s)", r.ConnState, w.connState, r.History)
			}
			if w.history != "" && r.History != w.history {
				t.Errorf("history %s, want %s", r.History, w.history)
			}
			if w.check != nil {
				w.check(t, recs)
			}
		})
	}
}

// TestGolden compares every output file of `extract` on each case under
// testdata/synthetic and testdata/real with testdata/.../want. Run with
// -update to rewrite them (then review the diff).
func TestGolden(t *testing.T) {
	var caps []string
	for _, pat := range []string{"../../testdata/synthetic/*/capture.pcap", "../../testdata/real/*/capture.pcap"} {
		m, _ := filepath.Glob(pat)
		caps = append(caps, m...)
	}
	if len(caps) == 0 {
		t.Fatal("no golden cases found")
	}
	for _, pc := range caps {
		dir := filepath.Dir(pc)
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			out, _ := extractCase(t, pc)
			want := filepath.Join(dir, "want")
			got := outputFiles(t, out)
			if *update {
				os.RemoveAll(want)
				for name, b := range got {
					p := filepath.Join(want, name)
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			exp := outputFiles(t, want)
			if len(exp) == 0 {
				t.Fatalf("no golden files in %s (run go test ./cmd/streamx -run TestGolden -update)", want)
			}
			for name, b := range exp {
				g, ok := got[name]
				if !ok {
					t.Errorf("%s: not produced", name)
					continue
				}
				if !bytes.Equal(g, b) {
					t.Errorf("%s differs from golden (%d vs %d bytes); first difference at %d:\n got: %q\nwant: %q", name, len(g), len(b), firstDiff(g, b), around(g, firstDiff(g, b)), around(b, firstDiff(g, b)))
				}
			}
			for name := range got {
				if _, ok := exp[name]; !ok {
					t.Errorf("%s: produced but not in golden", name)
				}
			}
		})
	}
}

func around(b []byte, i int) string {
	lo, hi := max(0, i-40), min(len(b), i+40)
	return string(b[lo:hi])
}

// outputFiles reads an output folder, leaving out what depends on the run
// (summary.json carries the elapsed time) and the report (tested on its own
// in report_test.go; it would repeat every other change here).
func outputFiles(t *testing.T, dir string) map[string][]byte {
	res := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "summary.json" || rel == "report.html" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		res[filepath.ToSlash(rel)] = b
		return nil
	})
	return res
}

var _ = fmt.Sprint
