// Package extractors connects the per-protocol consumers of reassembled
// streams (FTP, HTTP, transcripts) to the engine. It owns the dispatch: which
// protocol handles a connection, decided by content (detect) or by an
// expectation a control connection announced (FTP data channels), never by
// port alone; and the resources every extractor shares (the file sink, the
// JSON-lines logs, the expectations table, the options). It does not parse
// any protocol itself.
//
// Call order, per connection, as the engine drives the Mux:
//  1. Mux.NewHandler(session): an expectation that matches the connection
//     wins and makes the handler at once; otherwise the decision waits for
//     content.
//  2. Data / Gap / End: the first bytes are held (bounded by MaxSniff) until
//     detect names the service, then replayed to the protocol's handler and
//     streamed from then on. Every event also goes to the transcript writer.
//  3. Close: the protocol handler's Close, then the transcript's.
package extractors

import (
	"net/netip"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// Options are the user's choices that extractors honour.
type Options struct {
	RedactPasswords bool  // mask passwords in logs and transcripts of sessions
	KeepEncoded     bool  // HTTP: keep the body as sent besides the decoded one
	MaxDecodedSize  int64 // HTTP: bound on a decoded (decompressed) body; past it the file is truncated "decoded-size-limit"
	MaxExpectations int   // FTP: pending data-channel expectations at most
}

// Env is what every extractor shares. One goroutine uses it.
type Env struct {
	// Dir is the output folder, for extractors that write documents of
	// their own (below it only; names from the wire go through Sink).
	Dir     string
	Sink    *sink.Sink
	Logs    *Logs
	Expect  *Expectations
	Options Options
}

// Protocol makes handlers for the connections detected as its service.
type Protocol interface {
	// Service is the detect name this protocol handles ("http", "ftp").
	Service() string
	// New returns the handler of a connection detected as Service, or nil.
	New(s *engine.Session, env *Env) engine.Handler
}

// Logs hands out the JSON-lines logs of an output folder by name
// ("ftp" -> DIR/ftp.jsonl), created on first use.
type Logs struct {
	dir  string
	mu   sync.Mutex
	logs map[string]*manifest.Writer
}

// NewLogs returns the logs of folder dir.
func NewLogs(dir string) *Logs {
	return &Logs{dir: dir, logs: map[string]*manifest.Writer{}}
}

// Write appends v as one JSON line to log name.
func (l *Logs) Write(name string, v any) error {
	l.mu.Lock()
	w := l.logs[name]
	if w == nil {
		var err error
		w, err = manifest.NewWriter(filepath.Join(l.dir, name+".jsonl"))
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.logs[name] = w
	}
	l.mu.Unlock()
	return w.Write(v)
}

// Names lists the logs written, sorted.
func (l *Logs) Names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n []string
	for k := range l.logs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Close closes every log.
func (l *Logs) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, w := range l.logs {
		if err := w.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Expectation is a connection a control connection announced (an FTP data
// channel): the connection whose responder is Resp, opened before Expires.
type Expectation struct {
	Resp netip.AddrPort // where the data connection goes (as announced)
	Orig netip.Addr     // who is expected to connect; invalid: anyone
	// Peers are the two hosts of the control connection: a server that
	// announces an address other than its own (NAT) is still matched when the
	// data connection is between these two hosts on the announced port.
	Peers   [2]netip.Addr
	Expires time.Time // capture time
	Owner   string    // UID of the announcing connection
	// New makes the handler of the matching connection.
	New func(s *engine.Session) engine.Handler
}

// Expectations is the table of pending expectations. Bounded: past Max, the
// oldest is dropped (and counted).
type Expectations struct {
	Max     int
	list    []*Expectation
	Dropped uint64
	Expired uint64
	Matched uint64
}

// Add registers x. A newer expectation for the same endpoint and the same
// connecting host replaces the older one.
func (e *Expectations) Add(x *Expectation) {
	for i, y := range e.list {
		if y.Resp == x.Resp && y.Orig == x.Orig {
			e.list[i] = x
			return
		}
	}
	max := e.Max
	if max <= 0 {
		max = 4096
	}
	if len(e.list) >= max {
		e.list = e.list[1:]
		e.Dropped++
	}
	e.list = append(e.list, x)
}

// Remove withdraws x (a refused PORT, a session that ended); a no-op if it
// is not pending.
func (e *Expectations) Remove(x *Expectation) {
	for i, y := range e.list {
		if y == x {
			copy(e.list[i:], e.list[i+1:])
			e.list[len(e.list)-1] = nil
			e.list = e.list[:len(e.list)-1]
			return
		}
	}
}

// Pending is the number of expectations waiting.
func (e *Expectations) Pending() int { return len(e.list) }

// Match finds and removes the expectation the connection fulfils, as of
// its first packet's time; expired ones are dropped on the way.
func (e *Expectations) Match(s *engine.Session) *Expectation {
	return e.MatchConn(s.Conn)
}

// MatchConn is Match for a connection that has no session yet (its SYN).
func (e *Expectations) MatchConn(c *flowtable.Conn) *Expectation {
	now := c.First
	keep := e.list[:0]
	var found *Expectation
	for _, x := range e.list {
		switch {
		case !x.Expires.IsZero() && now.After(x.Expires):
			e.Expired++
		case found == nil && matches(x, c.Orig, c.Resp):
			found = x
		default:
			keep = append(keep, x)
		}
	}
	for i := len(keep); i < len(e.list); i++ {
		e.list[i] = nil
	}
	e.list = keep
	if found != nil {
		e.Matched++
	}
	return found
}

func matches(x *Expectation, orig, resp netip.AddrPort) bool {
	if x.Orig.IsValid() && x.Orig != orig.Addr() && !x.peer(orig.Addr()) {
		return false
	}
	if x.Resp == resp {
		return true
	}
	// NAT: the announced address is not the one the connection went to,
	// but the port is, and the two hosts are the control connection's.
	return x.Resp.Port() == resp.Port() && x.peer(resp.Addr()) && x.peer(orig.Addr())
}

func (x *Expectation) peer(a netip.Addr) bool {
	return (x.Peers[0].IsValid() && x.Peers[0] == a) || (x.Peers[1].IsValid() && x.Peers[1] == a)
}
