package httpx

import (
	"errors"
	"io"
	"mime/multipart"
	"strconv"
	"time"

	"github.com/streamx/streamx/sink"
)

// maxAssemblies bounds the 206 assemblies open at once; past it the
// oldest is closed (truncated) to make room.
const maxAssemblies = 256

// rangeInfo is what a 206 response says about the object its pieces
// belong to. The object is identified by host, path and total size (and
// the content coding, since ranges count coded bytes).
type rangeInfo struct {
	keyBase string
	meta    sink.Meta // of the assembled file
}

func (ri *rangeInfo) key(total int64) string {
	return ri.keyBase + "\x00" + strconv.FormatInt(total, 10)
}

// span is a covered byte range [a, b).
type span struct{ a, b int64 }

// spans is a sorted list of disjoint, non-touching covered ranges.
type spans []span

func (s *spans) add(a, b int64) {
	if a >= b {
		return
	}
	out := (*s)[:0:0]
	placed := false
	for _, x := range *s {
		switch {
		case x.b < a:
			out = append(out, x)
		case b < x.a:
			if !placed {
				out = append(out, span{a, b})
				placed = true
			}
			out = append(out, x)
		default: // overlapping or touching: merge
			a, b = min(a, x.a), max(b, x.b)
		}
	}
	if !placed {
		out = append(out, span{a, b})
	}
	*s = out
}

// covers reports whether [0, total) is covered.
func (s spans) covers(total int64) bool {
	if total == 0 {
		return true
	}
	return len(s) > 0 && s[0].a <= 0 && s[0].b >= total
}

// assembly stitches the pieces of one object, from any connection of the
// run, into one file at their Content-Range offsets (File.WriteAt). It is
// closed complete as soon as [0, total) is covered; otherwise when the
// last connection that wrote to it closes (or Protocol.Close), truncated
// with its holes listed by the sink.
type assembly struct {
	key    string
	f      file
	fuid   string
	name   string // the wire name, for the log while it is open
	total  int64  // -1: unknown ("bytes 0-99/*")
	cov    spans
	conns  map[*conn]struct{}
	closed bool
	rec    fileRec // once closed
	pieces int
}

// assembly returns the open assembly of key, or starts one.
func (p *Protocol) assembly(c *conn, key string, total int64, meta sink.Meta) *assembly {
	a := p.ranges[key]
	if a == nil {
		if len(p.rangeOrder) >= maxAssemblies {
			p.closeAssembly(c, p.rangeOrder[0], sink.Truncated, "too-many-assemblies")
		}
		meta.ExpectedSize = total
		f := c.create(meta)
		if f == nil {
			return nil
		}
		a = &assembly{key: key, f: f, fuid: f.FUID(), name: meta.Name, total: total, conns: map[*conn]struct{}{}}
		p.ranges[key] = a
		p.rangeOrder = append(p.rangeOrder, a)
		p.stats.Assemblies++
	}
	if _, ok := a.conns[c]; !ok {
		a.conns[c] = struct{}{}
		c.asms = append(c.asms, a)
	}
	return a
}

// writeAt puts a piece's bytes at their offset in the object.
func (a *assembly) writeAt(c *conn, p []byte, off int64, ts time.Time) {
	if a.closed || len(p) == 0 {
		return
	}
	if a.total >= 0 {
		if off >= a.total {
			return
		}
		p = p[:min(int64(len(p)), a.total-off)]
	}
	if err := a.f.WriteAt(p, off); err != nil {
		c.fail(err)
		return
	}
	a.f.SetLastTS(ts)
	a.cov.add(off, off+int64(len(p)))
}

// pieceDone closes the assembly if it is now whole.
func (p *Protocol) pieceDone(c *conn, a *assembly) {
	a.pieces++
	if !a.closed && a.total >= 0 && a.cov.covers(a.total) {
		p.closeAssembly(c, a, sink.Complete, "")
	}
}

// release: connection c will write no more. The last one out closes an
// assembly that is not whole (unless HoldRanges keeps it for a later
// connection until Close).
func (p *Protocol) release(c *conn) {
	for _, a := range c.asms {
		delete(a.conns, c)
		if len(a.conns) == 0 && !a.closed && !p.HoldRanges {
			st, reason := a.finalState()
			p.closeAssembly(c, a, st, reason)
		}
	}
	c.asms = nil
}

// finalState is the state of an assembly closed before it became whole:
// with an unknown total, one run of bytes from 0 counts as complete.
func (a *assembly) finalState() (sink.State, string) {
	if a.total < 0 && len(a.cov) == 1 && a.cov[0].a == 0 {
		return sink.Complete, ""
	}
	return sink.Truncated, "ranges-missing"
}

func (p *Protocol) closeAssembly(c *conn, a *assembly, st sink.State, reason string) error {
	if a.closed {
		return nil
	}
	a.closed = true
	if p.ranges[a.key] == a {
		delete(p.ranges, a.key)
	}
	for i, x := range p.rangeOrder {
		if x == a {
			p.rangeOrder = append(p.rangeOrder[:i], p.rangeOrder[i+1:]...)
			break
		}
	}
	e, err := a.f.Close(st, reason)
	if err != nil {
		if c != nil {
			c.fail(err)
		}
		return err
	}
	a.rec = fileRecOf(e)
	a.f = nil
	return nil
}

// rangeTarget writes the body of a single-range 206 into its assembly.
type rangeTarget struct {
	c         *conn
	m         *message
	a         *assembly
	pos, stop int64 // next offset in the object; one past the range's last byte
}

func (t *rangeTarget) write(p []byte, ts time.Time) {
	if t.a == nil {
		return
	}
	if t.pos >= t.stop {
		t.m.flag("range-overrun")
		return
	}
	k := min(int64(len(p)), t.stop-t.pos)
	if k < int64(len(p)) {
		t.m.flag("range-overrun")
	}
	t.a.writeAt(t.c, p[:k], t.pos, ts)
	t.pos += k
}

func (t *rangeTarget) gap(n int64, ts time.Time) { t.pos += n }

func (t *rangeTarget) end(st sink.State, reason string) {
	if t.a != nil {
		t.c.p.pieceDone(t.c, t.a)
	}
}

func (t *rangeTarget) began() bool { return t.a != nil }

// rangePart writes one part of a multipart/byteranges 206 body:
//
//	--THIS_STRING_SEPARATES
//	Content-Type: application/pdf
//	Content-Range: bytes 500-999/8000
//
//	...the bytes...
func (c *conn) rangePart(m *message, ri *rangeInfo, part *multipart.Part) {
	cr, ok := parseContentRange(part.Header.Get("Content-Range"))
	if !ok {
		m.flag("bad-content-range")
		io.Copy(io.Discard, part)
		return
	}
	a := c.p.assembly(c, ri.key(cr.total), cr.total, ri.meta)
	if a == nil {
		return
	}
	c.noteAssembly(m, a)
	pos, end := cr.first, cr.last+1
	var buf [32 << 10]byte
	for pos < end {
		n, err := part.Read(buf[:min(int64(len(buf)), end-pos)])
		if n > 0 {
			a.writeAt(c, buf[:n], pos, m.ts)
			pos += int64(n)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				m.flag("bad-multipart")
			}
			break
		}
	}
	c.p.pieceDone(c, a)
}

// Close implements io.Closer: it ends every assembly still open
// (truncated, its holes listed). Call it once, at the end of the run,
// after the engine has closed every connection.
func (p *Protocol) Close() error {
	var errs []error
	for len(p.rangeOrder) > 0 {
		a := p.rangeOrder[0]
		st, reason := a.finalState()
		if err := p.closeAssembly(nil, a, st, reason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
