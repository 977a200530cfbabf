package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/streamx/streamx/decode"
)

type recorder struct {
	opened, closed []*Conn
	trans          []string
}

func (r *recorder) Opened(c *Conn) { r.opened = append(r.opened, c) }
func (r *recorder) Transition(c *Conn, from, to State, ts time.Time) {
	r.trans = append(r.trans, from.String()+">"+to.String())
}
func (r *recorder) Closed(c *Conn) { r.closed = append(r.closed, c) }

var (
	cli = netip.MustParseAddrPort("192.0.2.1:40000")
	srv = netip.MustParseAddrPort("198.51.100.2:80")
	t0  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// seg is a packet in a table: from the client?, flags, seq, payload length,
// milliseconds after t0.
type seg struct {
	fromClient bool
	flags      uint8
	seq        uint32
	n          int
	ms         int
}

const (
	S  = decode.FlagSYN
	A  = decode.FlagACK
	F  = decode.FlagFIN
	R  = decode.FlagRST
	SA = S | A
	FA = F | A
	RA = R | A
)

func feed(t *testing.T, tb *Table, segs []seg) {
	t.Helper()
	var p decode.Packet
	payload := make([]byte, 2000)
	for i, s := range segs {
		p = decode.Packet{Num: uint64(i + 1), TS: t0.Add(time.Duration(s.ms) * time.Millisecond), IPVer: 4, Proto: decode.ProtoTCP,
			Flags: s.flags, Seq: s.seq, Window: 1000, Payload: payload[:s.n], Len: 54 + s.n, IPLen: 40 + s.n}
		if s.fromClient {
			p.Src, p.SrcPort, p.Dst, p.DstPort = cli.Addr(), cli.Port(), srv.Addr(), srv.Port()
		} else {
			p.Src, p.SrcPort, p.Dst, p.DstPort = srv.Addr(), srv.Port(), cli.Addr(), cli.Port()
		}
		tb.Packet(&p)
	}
}

func TestLifecycle(t *testing.T) {
	cases := []struct {
		name      string
		segs      []seg
		conns     int
		state     State
		connState string
		history   string
		orig      netip.AddrPort
	}{
		{"normal", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2}, {true, A, 101, 10, 3},
			{false, A, 501, 20, 4}, {true, FA, 111, 0, 5}, {false, FA, 521, 0, 6}, {true, A, 112, 0, 7}},
			1, StateClosed, "SF", "ShADdFf", cli},
		{"fin from server first", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2},
			{false, FA, 501, 0, 3}, {true, FA, 101, 0, 4}},
			1, StateClosed, "SF", "ShAfF", cli},
		{"unanswered", []seg{{true, S, 100, 0, 0}, {true, S, 100, 0, 1000}}, 1, StateSynSent, "S0", "S", cli},
		{"rejected", []seg{{true, S, 100, 0, 0}, {false, RA, 0, 0, 1}}, 1, StateReset, "REJ", "Sr", cli},
		{"reset by originator", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2}, {true, A, 101, 5, 3}, {true, RA, 106, 0, 4}},
			1, StateReset, "RSTO", "ShADR", cli},
		{"reset by responder", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2}, {false, RA, 501, 0, 3}},
			1, StateReset, "RSTR", "ShAr", cli},
		{"syn-ack first", []seg{{false, SA, 500, 0, 0}, {true, A, 101, 0, 1}}, 1, StateSynReceived, "OTH", "hA", cli},
		{"midstream, server speaks first", []seg{{false, A, 500, 10, 0}, {true, A, 101, 5, 1}}, 1, StateEstablished, "OTH", "dD", cli},
		{"port reuse", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2}, {true, FA, 101, 0, 3}, {false, FA, 501, 0, 4},
			{true, S, 9000, 0, 5}}, 2, StateSynSent, "S0", "S", cli},
		{"retransmitted syn is not reuse", []seg{{true, S, 100, 0, 0}, {true, S, 100, 0, 3000}, {false, SA, 500, 0, 3001}},
			1, StateSynReceived, "", "Sh", cli},
		{"half closed", []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2}, {true, FA, 101, 0, 3}},
			1, StateFinWait, "S2", "ShAF", cli},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			tb := New(Options{}, r)
			feed(t, tb, tc.segs)
			tb.Finish("end-of-input")
			if len(r.closed) != tc.conns {
				t.Fatalf("%d connections, want %d", len(r.closed), tc.conns)
			}
			c := r.closed[len(r.closed)-1]
			if c.State != tc.state {
				t.Errorf("state %v, want %v (transitions %v)", c.State, tc.state, r.trans)
			}
			if tc.connState != "" && c.ConnState() != tc.connState {
				t.Errorf("conn_state %s, want %s", c.ConnState(), tc.connState)
			}
			if c.History() != tc.history {
				t.Errorf("history %s, want %s", c.History(), tc.history)
			}
			if c.Orig != tc.orig {
				t.Errorf("originator %v, want %v", c.Orig, tc.orig)
			}
		})
	}
}

func TestSeqTrack(t *testing.T) {
	type step struct {
		seq  uint32
		n    uint32
		want segKind
	}
	cases := []struct {
		name  string
		start uint32
		steps []step
	}{
		{"in order", 1000, []step{{1000, 10, segNew}, {1010, 10, segNew}}},
		{"retransmission", 1000, []step{{1000, 10, segNew}, {1000, 10, segRetrans}}},
		{"out of order fills hole", 1000, []step{{1010, 10, segNew}, {1000, 10, segOutOfOrder}, {1000, 10, segRetrans}}},
		{"overlap", 1000, []step{{1000, 10, segNew}, {1005, 10, segOverlap}}},
		{"wraparound", 0xfffffff0, []step{{0xfffffff0, 32, segNew}, {0x10, 16, segNew}, {0xfffffff0, 16, segRetrans}}},
		{"hole split", 0, []step{{100, 10, segNew}, {40, 10, segOutOfOrder}, {0, 10, segOutOfOrder}, {60, 10, segOutOfOrder}, {40, 10, segRetrans}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s seqTrack
			s.start(tc.start)
			for i, st := range tc.steps {
				if got := s.segment(st.seq, st.n); got != st.want {
					t.Fatalf("step %d (seq %d len %d): %d, want %d", i, st.seq, st.n, got, st.want)
				}
			}
		})
	}
}

func TestIdleExpiryAndEviction(t *testing.T) {
	r := &recorder{}
	tb := New(Options{IdleTimeout: time.Minute, MaxConns: 2}, r)
	feed(t, tb, []seg{{true, S, 100, 0, 0}})
	// a second connection two minutes later expires the first
	p := decode.Packet{TS: t0.Add(2 * time.Minute), IPVer: 4, Proto: decode.ProtoTCP, Flags: S,
		Src: cli.Addr(), SrcPort: 40001, Dst: srv.Addr(), DstPort: 80}
	tb.Packet(&p)
	if len(r.closed) != 1 || r.closed[0].EndReason != "idle-timeout" || r.closed[0].State != StateExpired {
		t.Fatalf("expected the first connection to expire, got %d closed", len(r.closed))
	}
	for i := 0; i < 3; i++ {
		p.SrcPort = uint16(40010 + i)
		tb.Packet(&p)
	}
	if tb.Len() > 2 || tb.Evicted == 0 {
		t.Errorf("%d tracked, %d evicted with MaxConns 2", tb.Len(), tb.Evicted)
	}
}

// The per-packet path of an existing connection does not allocate.
func TestPacketNoAlloc(t *testing.T) {
	tb := New(Options{}, &recorder{})
	p := decode.Packet{TS: t0, IPVer: 4, Proto: decode.ProtoTCP, Flags: A, Src: cli.Addr(), SrcPort: cli.Port(), Dst: srv.Addr(), DstPort: srv.Port(), Payload: make([]byte, 100)}
	tb.Packet(&p)
	allocs := testing.AllocsPerRun(1000, func() {
		p.Seq += 100
		tb.Packet(&p)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
}

func BenchmarkPacket(b *testing.B) {
	tb := New(Options{}, &recorder{})
	ps := make([]decode.Packet, 1024)
	for i := range ps {
		ps[i] = decode.Packet{TS: t0, IPVer: 4, Proto: decode.ProtoTCP, Flags: A, Src: cli.Addr(), SrcPort: uint16(1024 + i), Dst: srv.Addr(), DstPort: 80, Payload: make([]byte, 100)}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p := &ps[i&1023]
		p.Seq += 100
		tb.Packet(p)
	}
}

// TestLingerHeld: a closed connection is finished after Linger of quiet,
// unless Holding says it still waits for a missing segment: then after
// LingerHeld.
func TestLingerHeld(t *testing.T) {
	closeSegs := []seg{{true, S, 100, 0, 0}, {false, SA, 500, 0, 1}, {true, A, 101, 0, 2},
		{true, FA, 101, 0, 3}, {false, FA, 501, 0, 4}, {true, A, 102, 0, 5}}
	for _, held := range []bool{false, true} {
		rec := &recorder{}
		tb := New(Options{Linger: 5 * time.Second, LingerHeld: time.Minute, Holding: func(*Conn) bool { return held }}, rec)
		feed(t, tb, closeSegs)
		last := t0.Add(5 * time.Millisecond)
		tb.Sweep(last.Add(4 * time.Second))
		if len(rec.closed) != 0 {
			t.Fatalf("held=%v: finished after 4s", held)
		}
		tb.Sweep(last.Add(6 * time.Second))
		if got := len(rec.closed); (got == 1) == held {
			t.Fatalf("held=%v: %d finished after 6s", held, got)
		}
		tb.Sweep(last.Add(61 * time.Second))
		if len(rec.closed) != 1 || rec.closed[0].EndReason != "closed" {
			t.Fatalf("held=%v: not finished after 61s", held)
		}
	}
}
