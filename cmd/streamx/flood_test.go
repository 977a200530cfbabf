package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/streamx/streamx/internal/pcapgen"
)

// writeFlood writes n half-open connections (a SYN each, never answered)
// and one connection whose client jumps 1.5 GB ahead in sequence space, then
// 3 GB more (beyond what sequence numbers can tell from the past).
func writeFlood(t *testing.T, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgen.NewWriter(f, pcapgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.MustParseAddrPort("198.51.100.1:80")
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		c := w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(a, uint16(1024+i%60000)), Server: srv, ClientISN: uint32(i), ServerISN: 7, NoRecord: true})
		c.SYN()
	}
	c := w.NewConn(pcapgen.ConnConfig{Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("198.51.100.2:8080")})
	c.Handshake()
	c.Send(true, []byte("first bytes\n"))
	c.Segment(true, 12+1_500_000_000, []byte("after a 1.5 GB jump\n"), pcapgen.FlagACK|pcapgen.FlagPSH)
	c.Segment(true, (12+1_500_000_020+3_000_000_000)&0xffffffff, []byte("a jump no sequence arithmetic can tell from an old segment\n"), pcapgen.FlagACK|pcapgen.FlagPSH)
	c.Close()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// A flood of half-open connections and a huge sequence jump: memory stays
// within what --max-conns allows, the oldest idle connections are evicted,
// and the jump costs neither memory nor gigabytes on disk.
func TestFloodStaysBounded(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "flood.pcap")
	const n, maxConns = 300_000, 50_000
	writeFlood(t, pcap, n)
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "extract", "-q", "--max-conns", strconv.Itoa(maxConns), pcap, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	peak := ru.Maxrss * 1024
	// documented cost (README): about 3 KiB of resident memory per tracked
	// connection (1 KiB live, the rest garbage-collector headroom), plus a
	// fixed 64 MiB for buffers.
	bound := int64(64<<20 + maxConns*3072)
	t.Logf("peak RSS %d MiB for %d half-open connections tracked at most %d at a time (bound %d MiB)", peak>>20, n, maxConns, bound>>20)
	if peak > bound {
		t.Errorf("peak RSS %d MiB over the bound %d MiB", peak>>20, bound>>20)
	}
	var sum struct {
		Conns   uint64 `json:"connections"`
		Evicted uint64 `json:"evicted"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	json.Unmarshal(b, &sum)
	if sum.Conns != n+1 || sum.Evicted < n-maxConns {
		t.Errorf("connections %d evicted %d", sum.Conns, sum.Evicted)
	}
	// the jumped connection: a hole of 1.5 GB, sparse on disk
	recs := readFlows(t, filepath.Join(out, "flows.jsonl"))
	var found bool
	for _, r := range recs {
		if r.RespP != 8080 {
			continue
		}
		found = true
		if r.OrigMissed < 1_499_000_000 {
			t.Errorf("missing %d bytes, want the 1.5 GB jump", r.OrigMissed)
		}
		raw := filepath.Join(out, r.Transcript[:len(r.Transcript)-len(".txt")]+".orig")
		var st syscall.Stat_t
		if err := syscall.Stat(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks*512 > 1<<20 {
			t.Errorf("the raw file of the jumped direction takes %d bytes on disk", st.Blocks*512)
		}
	}
	if !found {
		t.Error("the jumped connection is missing")
	}
}
