package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamx/streamx/decode"
)

// connLog is what one connection's consumer saw, in order, with the
// worker's clock at each event.
type connLog struct {
	events []string
	sums   [2]hash.Hash
	clock  func() uint64
	worker int
}

func (l *connLog) Data(s *Session, dir int, data []byte, off int64, ts time.Time) {
	l.sums[dir].Write(data)
	l.events = append(l.events, fmt.Sprintf("data %d off=%d n=%d clock=%d ts=%s", dir, off, len(data), l.clock(), ts.Format(time.RFC3339Nano)))
}
func (l *connLog) Gap(s *Session, dir int, off, n int64, ts time.Time) {
	l.events = append(l.events, fmt.Sprintf("gap %d off=%d n=%d clock=%d ts=%s", dir, off, n, l.clock(), ts.Format(time.RFC3339Nano)))
}
func (l *connLog) End(s *Session, dir int, reason string, ts time.Time) {
	l.events = append(l.events, fmt.Sprintf("end %d %s clock=%d ts=%s", dir, reason, l.clock(), ts.Format(time.RFC3339Nano)))
}
func (l *connLog) Close(s *Session) {
	c := s.Conn
	l.events = append(l.events, fmt.Sprintf("close %s %s %s>%s %s %s %s delivered=%v sha=%x/%x clock=%d",
		c.UID, c.State, c.ConnState(), c.Orig, c.Resp, c.History(), c.EndReason, s.Delivered,
		l.sums[0].Sum(nil)[:6], l.sums[1].Sum(nil)[:6], l.clock()))
}

// runShards runs the inputs with n workers and returns every connection's
// event log by UID, and which worker had each pair of hosts.
func runShards(t *testing.T, inputs []string, n int) (map[string][]string, *Summary) {
	t.Helper()
	var mu sync.Mutex
	out := map[string][]string{}
	owner := map[[2]netip.Addr]int{}
	cfg := Config{Inputs: inputs, Workers: n}
	cfg.Shard = func(i int, clock func() uint64) Hooks {
		return Hooks{
			NewHandler: func(s *Session) Handler {
				return &connLog{sums: [2]hash.Hash{sha256.New(), sha256.New()}, clock: clock, worker: i}
			},
			Closed: func(s *Session) {
				mu.Lock()
				defer mu.Unlock()
				l, _ := s.Handler().(*connLog)
				if l == nil {
					out[s.Conn.UID] = []string{"no handler " + s.Conn.EndReason}
					return
				}
				if _, dup := out[s.Conn.UID]; dup {
					t.Errorf("UID %s closed twice", s.Conn.UID)
				}
				out[s.Conn.UID] = l.events
				a, b := s.Conn.Orig.Addr(), s.Conn.Resp.Addr()
				if b.Less(a) {
					a, b = b, a
				}
				if w, ok := owner[[2]netip.Addr{a, b}]; ok && w != i {
					t.Errorf("hosts %s and %s on workers %d and %d", a, b, w, i)
				}
				owner[[2]netip.Addr{a, b}] = i
			},
		}
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out, sum
}

// TestWorkersSameEvents: every connection's consumer sees the same calls,
// with the same bytes and the same clock, whatever the number of workers;
// and every connection between two hosts is on one worker.
func TestWorkersSameEvents(t *testing.T) {
	var inputs []string
	for _, glob := range []string{"../testdata/synthetic/*/capture.pcap*", "../testdata/real/*/capture.pcap*"} {
		m, _ := filepath.Glob(glob)
		inputs = append(inputs, m...)
	}
	if len(inputs) < 10 {
		t.Fatalf("only %d test captures found", len(inputs))
	}
	for _, in := range inputs {
		name := filepath.Base(filepath.Dir(in))
		t.Run(name, func(t *testing.T) {
			one, sum1 := runShards(t, []string{in}, 1)
			for _, n := range []int{2, 3, 7} {
				got, sumN := runShards(t, []string{in}, n)
				if sumN.Conns != sum1.Conns || sumN.Assembler != sum1.Assembler || sumN.TCP != sum1.TCP {
					t.Errorf("%d workers: conns %d assembler %+v, one worker: %d %+v", n, sumN.Conns, sumN.Assembler, sum1.Conns, sum1.Assembler)
				}
				if len(got) != len(one) {
					t.Errorf("%d workers: %d connections, one worker %d", n, len(got), len(one))
				}
				for uid, ev := range one {
					if !slices.Equal(got[uid], ev) {
						t.Errorf("%d workers: %s differs:\n got %s\nwant %s", n, uid, strings.Join(got[uid], "\n     "), strings.Join(ev, "\n     "))
					}
				}
			}
		})
	}
	// all of them as one run (connections carry over between files)
	one, _ := runShards(t, inputs, 1)
	two, _ := runShards(t, inputs, 2)
	if len(one) != len(two) {
		t.Fatalf("all inputs: %d vs %d connections", len(one), len(two))
	}
	for uid, ev := range one {
		if !slices.Equal(two[uid], ev) {
			t.Errorf("all inputs: %s differs:\n got %s\nwant %s", uid, strings.Join(two[uid], "\n     "), strings.Join(ev, "\n     "))
		}
	}
}

func TestShardOfSymmetric(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::7")
	counts := make([]int, 4)
	for i := 0; i < 1000; i++ {
		x := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		p := decode.Packet{Src: x, Dst: a}
		q := decode.Packet{Src: a, Dst: x}
		if shardOf(&p, 4) != shardOf(&q, 4) {
			t.Fatal("not symmetric")
		}
		counts[shardOf(&p, 4)]++
	}
	for i, c := range counts {
		if c < 150 {
			t.Errorf("worker %d gets %d of 1000 pairs: badly spread %v", i, c, counts)
		}
	}
	p, q := decode.Packet{Src: a, Dst: b}, decode.Packet{Src: b, Dst: a}
	if shardOf(&p, 3) != shardOf(&q, 3) {
		t.Fatal("not symmetric (v4/v6)")
	}
}
