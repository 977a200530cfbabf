package extractors

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/flowtable"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func session(orig, resp string, at time.Duration) *engine.Session {
	return &engine.Session{Conn: &flowtable.Conn{Orig: netip.MustParseAddrPort(orig), Resp: netip.MustParseAddrPort(resp), First: t0.Add(at)}}
}

func TestExpectations(t *testing.T) {
	client, server := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	mk := func(resp string, orig netip.Addr) *Expectation {
		return &Expectation{Resp: netip.MustParseAddrPort(resp), Orig: orig, Peers: [2]netip.Addr{client, server}, Expires: t0.Add(time.Minute)}
	}
	cases := []struct {
		name string
		x    *Expectation
		s    *engine.Session
		want bool
	}{
		{"passive", mk("198.51.100.2:50000", client), session("192.0.2.1:40000", "198.51.100.2:50000", time.Second), true},
		{"active (server connects to the client)", mk("192.0.2.1:40001", server), session("198.51.100.2:20", "192.0.2.1:40001", time.Second), true},
		{"server behind NAT announces a private address", mk("10.0.0.5:50000", client), session("192.0.2.1:40000", "198.51.100.2:50000", time.Second), true},
		{"other port", mk("198.51.100.2:50000", client), session("192.0.2.1:40000", "198.51.100.2:50001", time.Second), false},
		{"third host", mk("198.51.100.2:50000", client), session("203.0.113.9:40000", "198.51.100.2:50000", time.Second), false},
		{"expired", mk("198.51.100.2:50000", client), session("192.0.2.1:40000", "198.51.100.2:50000", 2*time.Minute), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e Expectations
			e.Add(tc.x)
			got := e.Match(tc.s) != nil
			if got != tc.want {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
			if e.Pending() != 0 && (got || tc.name == "expired") {
				t.Errorf("%d still pending after match/expiry", e.Pending())
			}
		})
	}
}

func TestExpectationsBounded(t *testing.T) {
	e := Expectations{Max: 3}
	for i := 0; i < 10; i++ {
		e.Add(&Expectation{Resp: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), uint16(50000+i))})
	}
	if e.Pending() != 3 || e.Dropped != 7 {
		t.Errorf("pending %d dropped %d", e.Pending(), e.Dropped)
	}
}

type recorder struct{ events []string }

func (r *recorder) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	r.events = append(r.events, fmt.Sprintf("d%d@%d:%s", dir, off, data))
}
func (r *recorder) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	r.events = append(r.events, fmt.Sprintf("g%d@%d+%d", dir, off, n))
}
func (r *recorder) End(s *engine.Session, dir int, reason string, ts time.Time) {
	r.events = append(r.events, fmt.Sprintf("e%d", dir))
}
func (r *recorder) Close(s *engine.Session) { r.events = append(r.events, "close") }

type proto struct {
	svc string
	got *recorder
}

func (p *proto) Service() string { return p.svc }
func (p *proto) New(s *engine.Session, env *Env) engine.Handler {
	p.got = &recorder{}
	return p.got
}

// The Mux holds the first events until the service is known, then replays
// them in order to the protocol; the transcript sees everything at once.
func TestMuxReplaysHeldEvents(t *testing.T) {
	p := &proto{svc: "http"}
	m := NewMux(&Env{Expect: &Expectations{}}, p)
	tr := &recorder{}
	m.Transcript = func(s *engine.Session) engine.Handler { return tr }
	s := session("192.0.2.1:40000", "198.51.100.2:80", 0)
	h := m.NewHandler(s)
	h.Data(s, 0, []byte("GE"), 0, t0) // not enough to tell
	h.Gap(s, 1, 0, 5, t0)
	s.Service = "http" // what detect would have said after more bytes
	h.Data(s, 0, []byte("T / HTTP/1.1\r\n"), 2, t0)
	h.End(s, 0, "fin", t0)
	h.End(s, 1, "fin", t0)
	h.Close(s)
	want := "[d0@0:GE g1@0+5 d0@2:T / HTTP/1.1\r\n e0 e1 close]"
	if p.got == nil || fmt.Sprint(p.got.events) != want {
		t.Fatalf("protocol saw %v, want %s", p.got, want)
	}
	if fmt.Sprint(tr.events) != want {
		t.Errorf("transcript saw %v", tr.events)
	}
}

// An expectation beats content: the data connection goes to the handler
// the control connection asked for.
func TestMuxExpectationWins(t *testing.T) {
	m := NewMux(&Env{Expect: &Expectations{}}, &proto{svc: "http"})
	data := &recorder{}
	m.Env.Expect.Add(&Expectation{Resp: netip.MustParseAddrPort("198.51.100.2:50000"), New: func(*engine.Session) engine.Handler { return data }})
	s := session("192.0.2.1:40000", "198.51.100.2:50000", 0)
	s.Service = "http" // the file carried happens to look like HTTP
	h := m.NewHandler(s)
	h.Data(s, 1, []byte("HTTP/1.1 200 OK\r\n"), 0, t0)
	h.Close(s)
	if len(data.events) != 2 {
		t.Errorf("data handler saw %v", data.events)
	}
}
