package ftp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// memOut is an outputs in memory, for unit tests and the fuzz target. It
// checks the call order the sink requires (no write after close, one
// close) and decides states the way the sink does (holes and a wrong size
// make a "complete" file truncated).
type memOut struct {
	t      testing.TB
	keep   bool // keep file bytes (not in the fuzz target)
	logs   []*Log
	files  []*memFile
	expect extractors.Expectations
	nlog   int
}

type memFile struct {
	o      *memOut
	meta   sink.Meta
	fuid   string
	data   []byte
	off    int64
	size   int64
	holes  int64
	closed bool
	entry  manifest.Entry
}

func newMemOut(t testing.TB) *memOut {
	return &memOut{t: t, keep: true, expect: extractors.Expectations{Max: 64}}
}

func (o *memOut) Log(v *Log) error {
	// Every line must marshal.
	if _, err := json.Marshal(v); err != nil {
		o.t.Errorf("log line does not marshal: %v", err)
	}
	o.nlog++
	if o.keep {
		o.logs = append(o.logs, v)
	}
	return nil
}

func (o *memOut) Create(m sink.Meta) (fileOut, error) {
	f := &memFile{o: o, meta: m, fuid: fmt.Sprintf("F%06d", len(o.files)+1)}
	o.files = append(o.files, f)
	return f, nil
}

func (o *memOut) Expect(x *extractors.Expectation) { o.expect.Add(x) }

func (f *memFile) Write(p []byte) (int, error) {
	if f.closed {
		f.o.t.Errorf("%s: Write after Close", f.fuid)
	}
	if f.o.keep {
		for int64(len(f.data)) < f.off {
			f.data = append(f.data, 0)
		}
		f.data = append(f.data[:f.off], p...)
	}
	f.off += int64(len(p))
	f.size = max(f.size, f.off)
	return len(p), nil
}

func (f *memFile) Gap(n int64) {
	if f.closed {
		f.o.t.Errorf("%s: Gap after Close", f.fuid)
	}
	f.off += n
	f.holes += n
	f.size = max(f.size, f.off)
}

func (f *memFile) SetLastTS(time.Time) {}

func (f *memFile) Size() int64 { return f.size }

func (f *memFile) Close(state sink.State, reason string) (manifest.Entry, error) {
	if f.closed {
		f.o.t.Errorf("%s: closed twice", f.fuid)
		return f.entry, nil
	}
	f.closed = true
	if state == sink.Complete && f.holes > 0 {
		state, reason = sink.Truncated, sink.ReasonGap
	}
	if want := f.meta.ExpectedSize; state == sink.Complete && want >= 0 && want != f.size {
		state, reason = sink.Truncated, sink.ReasonShort
	}
	if state == sink.Complete {
		reason = ""
	}
	e := manifest.Entry{FUID: f.fuid, UID: f.meta.UID, ConnID: f.meta.Conn, Source: f.meta.Source,
		IsOrig: f.meta.IsOrig, Filename: f.meta.Name, ServerPath: f.meta.ServerPath, Command: f.meta.Command,
		Extracted: "files/" + f.meta.Subdir + "/" + f.meta.Name, SeenBytes: f.size - f.holes,
		MissingBytes: f.holes, State: state.String(), Reason: reason, Extra: f.meta.Extra}
	if state == sink.Complete && f.o.keep {
		s := sha256.Sum256(f.data)
		e.SHA256 = hex.EncodeToString(s[:])
	}
	f.entry = e
	return e, nil
}

// dataFiles are the FTP_DATA files created so far.
func (o *memOut) dataFiles() []*memFile {
	var out []*memFile
	for _, f := range o.files {
		if f.meta.Source == "FTP_DATA" {
			out = append(out, f)
		}
	}
	return out
}

func (o *memOut) text() string {
	for _, f := range o.files {
		if f.meta.Source == "FTP_SESSION" {
			return string(f.data)
		}
	}
	return ""
}

// find returns the log lines of a command.
func (o *memOut) find(cmd string) []*Log {
	var out []*Log
	for _, l := range o.logs {
		if l.Command == cmd {
			out = append(out, l)
		}
	}
	return out
}

// conv drives one control connection the way the engine and the Mux do,
// without them: lines in, data connections matched against the
// expectations it registered.
type conv struct {
	t    testing.TB
	o    *memOut
	c    *control
	es   *engine.Session
	now  time.Time
	off  [2]int64
	next uint64
}

var (
	cliAddr = netip.MustParseAddr("192.0.2.10")
	srvAddr = netip.MustParseAddr("198.51.100.20")
)

func newConv(t testing.TB, redact bool) *conv {
	return newConvAt(t, redact, netip.AddrPortFrom(cliAddr, 50000), netip.AddrPortFrom(srvAddr, 21))
}

func newConvAt(t testing.TB, redact bool, cli, srv netip.AddrPort) *conv {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	es := &engine.Session{Conn: &flowtable.Conn{UID: "C000001", Orig: cli, Resp: srv, First: now}}
	o := newMemOut(t)
	return &conv{t: t, o: o, c: newControl(es, o, redact), es: es, now: now, next: 2}
}

func (v *conv) tick() time.Time {
	v.now = v.now.Add(time.Millisecond)
	return v.now
}

func (v *conv) send(dir int, lines ...string) {
	for _, l := range lines {
		b := []byte(l + "\r\n")
		v.c.Data(v.es, dir, b, v.off[dir], v.tick())
		v.off[dir] += int64(len(b))
	}
}

func (v *conv) client(lines ...string) { v.send(0, lines...) }
func (v *conv) server(lines ...string) { v.send(1, lines...) }

// connect opens a data connection orig -> resp the way the Mux would:
// the first pending expectation it matches makes its handler. nil: no
// expectation matched.
func (v *conv) connect(orig, resp netip.AddrPort) (*dataConn, *engine.Session) {
	v.next++
	s := &engine.Session{Conn: &flowtable.Conn{UID: fmt.Sprintf("C%06d", v.next), Orig: orig, Resp: resp, First: v.tick()}}
	x := v.o.expect.Match(s)
	if x == nil {
		return nil, s
	}
	h := x.New(s)
	if h == nil {
		return nil, s
	}
	return h.(*dataConn), s
}

// feed sends bytes on a data connection and optionally ends it.
func (v *conv) feed(d *dataConn, s *engine.Session, dir int, p string) {
	d.Data(s, dir, []byte(p), s.Delivered[dir], v.tick())
	s.Delivered[dir] += int64(len(p))
}

func (v *conv) finish(d *dataConn, s *engine.Session, reasons ...string) {
	for dir := 0; dir < 2; dir++ {
		r := "fin"
		if dir < len(reasons) {
			r = reasons[dir]
		}
		d.End(s, dir, r, v.tick())
	}
	d.Close(s)
}

func (v *conv) close() {
	v.c.End(v.es, 0, "fin", v.tick())
	v.c.End(v.es, 1, "fin", v.tick())
	v.es.Conn.Last = v.now
	v.c.Close(v.es)
}

func (v *conv) mustLog(cmd string) *Log {
	v.t.Helper()
	ls := v.o.find(cmd)
	if len(ls) != 1 {
		v.t.Fatalf("%d log lines for %q, want 1; all: %s", len(ls), cmd, v.dumpLogs())
	}
	return ls[0]
}

func (v *conv) dumpLogs() string {
	var b strings.Builder
	for _, l := range v.o.logs {
		j, _ := json.Marshal(l)
		b.WriteString("\n  ")
		b.Write(j)
	}
	return b.String()
}
