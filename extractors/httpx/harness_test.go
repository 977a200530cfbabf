package httpx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
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

// memFiles is an in-memory fileSink with the sink's rules for the final
// state (holes or a size other than the announced one make a file
// truncated; only complete files get a hash). keep=false keeps coverage
// only (the fuzzer: gaps of any size cost nothing).
type memFiles struct {
	keep   bool
	files  []*memFile
	misuse []string // calls the real sink would refuse
}

type memFile struct {
	fs     *memFiles
	meta   sink.Meta
	fuid   string
	data   []byte
	off    int64
	size   int64
	cov    spans
	closed bool
	entry  manifest.Entry
}

func (m *memFiles) Create(meta sink.Meta) (file, error) {
	if meta.Extra != nil {
		meta.Extra = cloneMap(meta.Extra)
	}
	f := &memFile{fs: m, meta: meta, fuid: fmt.Sprintf("F%06d", len(m.files)+1)}
	m.files = append(m.files, f)
	return f, nil
}

func cloneMap(x map[string]any) map[string]any {
	y := make(map[string]any, len(x))
	for k, v := range x {
		y[k] = v
	}
	return y
}

func (f *memFile) put(p []byte, off int64) {
	if f.closed {
		f.fs.misuse = append(f.fs.misuse, f.fuid+": write after close")
		return
	}
	if len(p) == 0 {
		return
	}
	end := off + int64(len(p))
	if f.fs.keep {
		if int64(len(f.data)) < end {
			f.data = append(f.data, make([]byte, end-int64(len(f.data)))...)
		}
		copy(f.data[off:], p)
	}
	f.cov.add(off, end)
	f.size = max(f.size, end)
}

func (f *memFile) Write(p []byte) (int, error) {
	f.put(p, f.off)
	f.off += int64(len(p))
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) error {
	if off < 0 {
		f.fs.misuse = append(f.fs.misuse, f.fuid+": negative offset")
		return nil
	}
	f.put(p, off)
	return nil
}

func (f *memFile) Gap(n int64) {
	if f.closed {
		f.fs.misuse = append(f.fs.misuse, f.fuid+": gap after close")
		return
	}
	if n <= 0 {
		return
	}
	f.off += n
	f.size = max(f.size, f.off)
	if f.fs.keep && int64(len(f.data)) < f.size && f.size < 1<<30 {
		f.data = append(f.data, make([]byte, f.size-int64(len(f.data)))...)
	}
}

func (f *memFile) SetLastTS(time.Time) {}
func (f *memFile) FUID() string        { return f.fuid }

func (f *memFile) Close(st sink.State, reason string) (manifest.Entry, error) {
	if f.closed {
		f.fs.misuse = append(f.fs.misuse, f.fuid+": closed twice")
		return f.entry, nil
	}
	f.closed = true
	if st != sink.Complete && reason == "" {
		reason = sink.ReasonUnspecified
	}
	if st == sink.Complete && !f.cov.covers(f.size) {
		st, reason = sink.Truncated, sink.ReasonGap
	}
	if want := f.meta.ExpectedSize; want >= 0 && want != f.size && st == sink.Complete {
		st, reason = sink.Truncated, sink.ReasonShort
		if f.size > want {
			reason = sink.ReasonLong
		}
	}
	e := manifest.Entry{FUID: f.fuid, Filename: f.meta.Name, State: st.String(), Extracted: "mem/" + f.fuid,
		SeenBytes: f.size, Extra: f.meta.Extra}
	if st == sink.Complete {
		e.Reason = ""
		if f.fs.keep {
			sum := sha256.Sum256(f.data)
			e.SHA256 = hex.EncodeToString(sum[:])
		}
	} else {
		e.Reason = reason
	}
	f.entry = e
	return e, nil
}

// ev is one engine event of a script.
type ev struct {
	dir   int
	data  string
	gap   int64
	end   string
	isEnd bool
	isGap bool
}

func D(dir int, s string) ev      { return ev{dir: dir, data: s} }
func G(dir int, n int64) ev       { return ev{dir: dir, gap: n, isGap: true} }
func E(dir int, reason string) ev { return ev{dir: dir, end: reason, isEnd: true} }
func req(lines ...string) string  { return head(lines...) }
func rsp(lines ...string) string  { return head(lines...) }
func head(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }
func get(path string) string      { return req("GET "+path+" HTTP/1.1", "Host: h") }
func ok(body string) string       { return okType(body, "") }
func clen(body string) string     { return fmt.Sprintf("Content-Length: %d", len(body)) }
func okType(body, ctype string) string {
	lines := []string{"HTTP/1.1 200 OK", clen(body)}
	if ctype != "" {
		lines = append(lines, "Content-Type: "+ctype)
	}
	return rsp(lines...) + body
}

// chunk frames body in chunks of the given sizes (the rest in one), then
// the last chunk and trailers.
func chunk(body string, trailers string, sizes ...int) string {
	var b strings.Builder
	for _, n := range sizes {
		if n > len(body) {
			n = len(body)
		}
		if n == 0 {
			continue
		}
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	if body != "" {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(body), body)
	}
	b.WriteString("0\r\n" + trailers + "\r\n")
	return b.String()
}

// splitter cuts a data event into pieces.
type splitter struct {
	name string
	cut  func(n int) []int
}

func splitters(seeds int) []splitter {
	s := []splitter{
		{"whole", func(n int) []int { return []int{n} }},
		{"bytewise", func(n int) []int {
			c := make([]int, n)
			for i := range c {
				c[i] = 1
			}
			return c
		}},
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		s = append(s, splitter{fmt.Sprintf("random%d", seed), func(n int) []int {
			var c []int
			for n > 0 {
				k := 1 + r.IntN(min(n, 1+r.IntN(40)))
				c = append(c, k)
				n -= k
			}
			return c
		}})
	}
	return s
}

// testSession is a connection 10.0.0.1:40000 -> 10.0.0.2:80.
func testSession() *engine.Session {
	return &engine.Session{Conn: &flowtable.Conn{UID: "C000001",
		Orig:  netip.MustParseAddrPort("10.0.0.1:40000"),
		Resp:  netip.MustParseAddrPort("10.0.0.2:80"),
		First: time.Unix(1700000000, 0), Last: time.Unix(1700000100, 0)}}
}

// run is one script's outcome.
type run struct {
	p     *Protocol
	files *memFiles
	logs  []*record
}

// runScript feeds the script to a fresh connection of p (a new Protocol if
// nil), cutting data events with sp, then closes it.
func runScript(p *Protocol, script []ev, sp splitter, opts extractors.Options) *run {
	if p == nil {
		p = New()
	}
	r := &run{p: p, files: &memFiles{keep: true}}
	if p.logTo == nil {
		p.logTo = func(rec *record) error { r.logs = append(r.logs, rec); return nil }
	}
	env := &extractors.Env{Options: opts}
	s := testSession()
	c := p.newConn(s, env, r.files)
	var off [2]int64
	ts := time.Unix(1700000000, 0)
	for _, e := range script {
		ts = ts.Add(time.Millisecond)
		switch {
		case e.isEnd:
			c.End(s, e.dir, e.end, ts)
		case e.isGap:
			c.Gap(s, e.dir, off[e.dir], e.gap, ts)
			off[e.dir] += e.gap
		default:
			data := []byte(e.data)
			for _, n := range sp.cut(len(data)) {
				piece := append([]byte(nil), data[:n]...)
				c.Data(s, e.dir, piece, off[e.dir], ts)
				for i := range piece {
					piece[i] = 0xAA // the handler must not keep Data's bytes
				}
				off[e.dir] += int64(n)
				data = data[n:]
			}
		}
	}
	c.Close(s)
	return r
}

// fileSummary renders the files as "name state[/reason] content".
func (r *run) fileSummary() []string {
	var out []string
	for _, f := range r.files.files {
		st := f.entry.State
		if f.entry.Reason != "" {
			st += "/" + f.entry.Reason
		}
		name := f.meta.Name
		if name == "" {
			name = "-"
		}
		out = append(out, fmt.Sprintf("%s %s %q", name, st, f.data))
	}
	return out
}

// logSummary renders the log as "depth METHOD uri status state [flags]".
func (r *run) logSummary() []string {
	var out []string
	for _, l := range r.logs {
		s := fmt.Sprintf("%d %s %s %d %s", l.TransDepth, or(l.Method, "-"), or(l.URI, "-"), l.StatusCode, l.State)
		if len(l.Flags) > 0 {
			s += " [" + strings.Join(l.Flags, ",") + "]"
		}
		out = append(out, s)
	}
	return out
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func diff(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
