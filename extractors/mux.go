package extractors

import (
	"time"

	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/flowtable"
)

// MaxSniff bounds the bytes held per connection while its protocol is not
// known yet. Past it, the connection is left to the transcripts.
const MaxSniff = 16 << 10

// Mux routes each connection to its protocol's handler and to the
// transcript writer.
type Mux struct {
	Env        *Env
	Protocols  map[string]Protocol                    // by Service()
	Transcript func(s *engine.Session) engine.Handler // nil: no transcripts
	Unclaimed  uint64

	// early holds expectations matched at a connection's first packet
	// (its SYN), until the connection's handler is made: at its first
	// byte, or when it ends if it carries none.
	early map[uint64]*Expectation
}

// Opened is engine.Config.Opened: an expectation is matched when its
// connection opens, so that a data connection is claimed in capture order
// even if its bytes come late or never (an empty file).
func (m *Mux) Opened(c *flowtable.Conn) {
	if m.Env.Expect == nil || m.Env.Expect.Pending() == 0 {
		return
	}
	if x := m.Env.Expect.MatchConn(c); x != nil {
		if m.early == nil {
			m.early = map[uint64]*Expectation{}
		}
		m.early[c.Index] = x
	}
}

// NewMux returns a Mux for the protocols given.
func NewMux(env *Env, protos ...Protocol) *Mux {
	m := &Mux{Env: env, Protocols: map[string]Protocol{}}
	for _, p := range protos {
		m.Protocols[p.Service()] = p
	}
	return m
}

// NewHandler is engine.Config.NewHandler.
func (m *Mux) NewHandler(s *engine.Session) engine.Handler {
	h := &muxConn{m: m}
	if m.Transcript != nil {
		h.t = m.Transcript(s)
	}
	if x, ok := m.early[s.Conn.Index]; ok {
		delete(m.early, s.Conn.Index)
		h.p = x.New(s)
		h.decided = true
	} else if m.Env.Expect != nil && m.Env.Expect.Pending() > 0 {
		if x := m.Env.Expect.Match(s); x != nil {
			h.p = x.New(s)
			h.decided = true
		}
	}
	return h
}

// ProtocolOf returns the protocol handler attached to the session, if any
// (for the flow record and tests).
func ProtocolOf(s *engine.Session) engine.Handler {
	if h, ok := s.Handler().(*muxConn); ok {
		return h.p
	}
	return nil
}

// TranscriptOf returns the transcript handler attached to the session.
func TranscriptOf(s *engine.Session) engine.Handler {
	if h, ok := s.Handler().(*muxConn); ok {
		return h.t
	}
	return nil
}

type held struct {
	kind   byte // 'd' data, 'g' gap, 'e' end
	dir    int
	data   []byte
	off, n int64
	reason string
	ts     time.Time
}

type muxConn struct {
	m       *Mux
	t       engine.Handler
	p       engine.Handler
	decided bool
	held    []held
	size    int
}

func (h *muxConn) decide(s *engine.Session, final bool) {
	if h.decided {
		return
	}
	svc := s.Service
	full := len(s.Prefix(0)) >= detect.Prefix || len(s.Prefix(1)) >= detect.Prefix
	if svc == "" && !final && !full && h.size < MaxSniff {
		return
	}
	h.decided = true
	if p := h.m.Protocols[svc]; p != nil {
		h.p = p.New(s, h.m.Env)
	}
	if h.p == nil {
		h.m.Unclaimed++
	}
	held := h.held
	h.held = nil
	if h.p == nil {
		return
	}
	for _, e := range held {
		switch e.kind {
		case 'd':
			h.p.Data(s, e.dir, e.data, e.off, e.ts)
		case 'g':
			h.p.Gap(s, e.dir, e.off, e.n, e.ts)
		case 'e':
			h.p.End(s, e.dir, e.reason, e.ts)
		}
	}
}

func (h *muxConn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if h.t != nil {
		h.t.Data(s, dir, data, off, ts)
	}
	if !h.decided {
		h.held = append(h.held, held{kind: 'd', dir: dir, data: append([]byte(nil), data...), off: off, ts: ts})
		h.size += len(data)
		h.decide(s, false)
		return
	}
	if h.p != nil {
		h.p.Data(s, dir, data, off, ts)
	}
}

func (h *muxConn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if h.t != nil {
		h.t.Gap(s, dir, off, n, ts)
	}
	if !h.decided {
		h.held = append(h.held, held{kind: 'g', dir: dir, off: off, n: n, ts: ts})
		return
	}
	if h.p != nil {
		h.p.Gap(s, dir, off, n, ts)
	}
}

func (h *muxConn) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if h.t != nil {
		h.t.End(s, dir, reason, ts)
	}
	if !h.decided {
		h.held = append(h.held, held{kind: 'e', dir: dir, reason: reason, ts: ts})
		return
	}
	if h.p != nil {
		h.p.End(s, dir, reason, ts)
	}
}

func (h *muxConn) Close(s *engine.Session) {
	h.decide(s, true)
	if h.p != nil {
		h.p.Close(s)
	}
	if h.t != nil {
		h.t.Close(s)
	}
}
