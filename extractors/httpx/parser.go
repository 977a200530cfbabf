package httpx

import (
	"bytes"
	"time"
)

// Limits of the parser. Past them a message's head is a parse error: the
// message is reported lost and the direction resynchronises on the next
// start line.
const (
	maxLine        = 16 << 10  // one start, header or trailer line
	maxHeaderBytes = 256 << 10 // a header block (and, separately, a trailer block)
	maxHeaderCount = 200       // lines in a header block
	maxChunkLine   = 4 << 10   // a chunk-size line with its extensions
	// maxHold bounds the bytes a direction queues while its message waits
	// to be paired (a response seen before its request); maxHoldTotal,
	// the bytes all directions of a Protocol queue at once (a one-sided
	// capture of many connections would otherwise hold 1 MiB each).
	maxHold      = 1 << 20
	maxHoldTotal = 64 << 20
)

// role is what a direction carries.
type role uint8

const (
	requests role = iota
	responses
)

// framing is how a message's body is delimited.
type framing uint8

const (
	frameNone    framing = iota // no body
	frameLength                 // Content-Length bytes
	frameChunked                // chunked transfer coding
	frameClose                  // until the direction ends
	frameTunnel                 // no body, and the connection stops being HTTP
)

func (f framing) String() string {
	return [...]string{"none", "length", "chunked", "close", "tunnel"}[f]
}

// message is one request or response. The parser fills the wire fields;
// the consumer (conn) hangs its own state on the last ones.
type message struct {
	isReq bool
	dir   int
	off   int64     // stream offset of the start line
	ts    time.Time // capture time of the start line

	method, target string // request line
	code           int    // status line
	reason         string
	proto          string // "HTTP/1.1"; "" when the request line had none
	badLine        string // a request line that did not parse (first 256 bytes)

	header  header
	trailer header
	hlines  int // lines in the block being read (header or trailer)
	hbytes  int

	framing framing
	length  int64 // Content-Length, with frameLength

	headDone bool  // the header block was read whole
	bodyLen  int64 // body bytes after dechunking, seen or missing
	bodyGap  int64 // of which missing
	chunks   int
	flags    []string

	// consumer state
	t   *txn
	ent *entity
}

func (m *message) flag(f string) {
	for _, g := range m.flags {
		if g == f {
			return
		}
	}
	m.flags = append(m.flags, f)
}

// events receives what a parser finds, in stream order. For one message:
// head (once, unless the head was lost), then body / bodyGap, then done
// (always, exactly once).
type events interface {
	// head: the start line and header block of m were read; m.framing is
	// what the message itself says. The consumer may change m.framing
	// (a response to HEAD has no body; CONNECT 2xx and 101 end HTTP) and
	// may ask to hold the direction (a response whose request has not been
	// seen yet): the parser then queues what follows, bounded by maxHold,
	// and asks again on resume. With force, holding is not allowed.
	head(m *message, force bool) (hold bool)
	// body: p (valid during the call only) is the next piece of m's body,
	// transfer coding removed.
	body(m *message, p []byte, ts time.Time)
	// bodyGap: n bytes of m's body are missing.
	bodyGap(m *message, n int64, ts time.Time)
	// done: m ended. ok: its framing ended where the protocol says (the
	// body may still have holes); otherwise reason says why it stopped
	// ("gap", "bad-chunk-size", "incomplete-rst"...). headDone false means
	// the head itself was lost, so m carries at most its start line.
	done(m *message, ok bool, reason string, ts time.Time)
}

type pstate uint8

const (
	stLine      pstate = iota // expecting a start line
	stHeaders                 // in the header block
	stHold                    // head read, waiting for the consumer's go
	stBody                    // remain bytes of a Content-Length body
	stChunkSize               // expecting a chunk-size line
	stChunkData               // remain bytes of a chunk
	stChunkEnd                // expecting the CRLF after a chunk
	stTrailers                // in the trailer block
	stClose                   // body until the end of the direction
	stDead                    // tunnel, or ended: ignore everything
)

// parserStats count what a direction's parser met.
type parserStats struct {
	Messages    int
	JunkBytes   int64 // skipped while looking for a start line
	Resyncs     int   // times parsing restarted after a gap or an error
	ParseErrors int
	Held        int // messages held for pairing
}

type queued struct {
	kind   byte // 'd' data, 'g' gap, 'e' end
	data   []byte
	n      int64
	reason string
	ts     time.Time
}

// parser is the push parser of one direction. It can stop at any byte:
// what it needs across calls (a partial line, the bytes left in a body or
// a chunk) is kept in its state, bounded by the limits above; body bytes
// are handed on as sub-slices of the input, never buffered.
//
// Call order: any sequence of Feed and Gap, then End once. A gap in a body
// of known length is reported to the consumer and parsing goes on at the
// right offset; a gap anywhere else (head, chunk framing, between
// messages) makes the parser resynchronise: it skips bytes until a line
// that strictly looks like a start line ("GET /x HTTP/1.1",
// "HTTP/1.1 200 OK").
type parser struct {
	role role
	dir  int
	ev   events

	st      pstate
	off     int64  // stream offset of the next byte
	line    []byte // partial line carried between calls
	lineOff int64  // stream offset of the line being read
	skip    bool   // dropping the rest of an overlong junk line
	resync  bool   // after a gap or an error: strict start lines only
	junk    bool   // in a run of junk lines; the first was reported
	m       *message
	remain  int64

	stalled bool
	queue   []queued
	queued  int
	held    *int // bytes queued by all parsers of the Protocol (may be nil)

	stats parserStats
}

func newParser(r role, dir int, ev events) *parser {
	return &parser{role: r, dir: dir, ev: ev}
}

// Feed hands the parser the next bytes of its direction. data is not
// retained (held bytes are copied).
func (p *parser) Feed(data []byte, ts time.Time) {
	for len(data) > 0 {
		if p.stalled {
			if p.queued+len(data) <= maxHold && (p.held == nil || *p.held+len(data) <= maxHoldTotal) {
				p.queue = append(p.queue, queued{kind: 'd', data: append([]byte(nil), data...), ts: ts})
				p.queued += len(data)
				if p.held != nil {
					*p.held += len(data)
				}
				return
			}
			p.unstall(true)
			continue
		}
		if p.st == stDead {
			p.off += int64(len(data))
			return
		}
		n := p.step(data, ts)
		p.off += int64(n)
		data = data[n:]
	}
}

// Gap says n bytes of the direction are missing.
func (p *parser) Gap(n int64, ts time.Time) {
	if n <= 0 {
		return
	}
	if p.stalled {
		p.queue = append(p.queue, queued{kind: 'g', n: n, ts: ts})
		return
	}
	switch p.st {
	case stLine:
		// The direction was in step: the gap holds (at least) the start
		// of the next message, which is lost.
		p.lostNext(ts)
		p.line, p.skip = p.line[:0], false
		p.startResync()
	case stHeaders, stTrailers, stChunkSize, stChunkEnd:
		p.line = p.line[:0]
		p.fail("gap", ts)
	case stBody, stChunkData:
		m := p.m
		k := min(n, p.remain)
		m.bodyLen += k
		m.bodyGap += k
		p.remain -= k
		p.ev.bodyGap(m, k, ts)
		if p.remain == 0 {
			if p.st == stBody {
				// The body's end is known: the next message starts at
				// the right offset, whatever the hole.
				p.finish(true, "", ts)
				if k < n {
					p.lostNext(ts)
					p.startResync()
				}
			} else if k < n {
				p.fail("gap", ts) // the chunk framing after it is lost
			} else {
				p.st = stChunkEnd
			}
		}
	case stClose:
		p.m.bodyLen += n
		p.m.bodyGap += n
		p.ev.bodyGap(p.m, n, ts)
	}
	p.off += n
}

// End says the direction carries nothing more; reason is the engine's
// ("fin", "rst", "end-of-input"...).
func (p *parser) End(reason string, ts time.Time) {
	if p.stalled {
		p.queue = append(p.queue, queued{kind: 'e', reason: reason, ts: ts})
		return
	}
	switch p.st {
	case stHeaders, stBody, stChunkSize, stChunkData, stChunkEnd:
		p.finish(false, "incomplete-"+reason, ts)
	case stTrailers:
		// Every body byte came; only the trailers were cut.
		p.m.flag("trailers-incomplete")
		p.finish(true, "", ts)
	case stClose:
		if cleanEnd(reason) {
			p.finish(true, "", ts)
		} else {
			p.finish(false, "incomplete-"+reason, ts)
		}
	}
	p.st = stDead
	p.line = nil
}

// cleanEnd reports whether a direction's end reason ends a body delimited
// by the connection's close: a FIN or RST was seen, or the connection was
// closed, reset or replaced. Running out of capture, idling out or being
// evicted says nothing about the body's end.
func cleanEnd(reason string) bool {
	switch reason {
	case "end-of-input", "idle-timeout", "interrupted", "evicted", "":
		return false
	}
	return true
}

// resume asks the consumer again about a held message (its pair may have
// arrived) and, if it lets go, parses what was queued.
func (p *parser) resume() { p.unstall(false) }

// flush ends a hold whatever the pairing: the held message goes on
// unpaired.
func (p *parser) flush() {
	for p.stalled {
		p.unstall(true)
	}
}

func (p *parser) unstall(force bool) {
	if !p.stalled {
		return
	}
	if p.ev.head(p.m, force) && !force {
		return
	}
	p.stalled = false
	p.afterHead(p.m.ts)
	q := p.queue
	if p.held != nil {
		*p.held -= p.queued
	}
	p.queue, p.queued = nil, 0
	for i, it := range q {
		if p.stalled {
			for _, r := range q[i:] {
				p.queue = append(p.queue, r)
				p.queued += len(r.data)
				if p.held != nil {
					*p.held += len(r.data)
				}
			}
			return
		}
		switch it.kind {
		case 'd':
			p.Feed(it.data, it.ts)
		case 'g':
			p.Gap(it.n, it.ts)
		case 'e':
			p.End(it.reason, it.ts)
		}
	}
}

// lostNext reports the message a gap starting at a message boundary (or
// a partial start line) swallowed, unless the direction is already out of
// step. One message is assumed: the pairing of later ones stays aligned
// when the gap hid exactly one head, the usual case.
func (p *parser) lostNext(ts time.Time) {
	if p.resync || p.junk {
		return
	}
	p.lineOff = p.off - int64(len(p.line))
	p.ev.done(p.newMessage(ts), false, "gap", ts)
}

func (p *parser) startResync() {
	if !p.resync {
		p.resync = true
		p.stats.Resyncs++
	}
}

// fail ends the current message as not ok and resynchronises.
func (p *parser) fail(reason string, ts time.Time) {
	if reason != "gap" {
		p.stats.ParseErrors++
		p.m.flag(reason)
	}
	p.finish(false, reason, ts)
	p.startResync()
}

func (p *parser) finish(ok bool, reason string, ts time.Time) {
	m := p.m
	p.m = nil
	p.st = stLine
	p.remain = 0
	p.ev.done(m, ok, reason, ts)
}

func (p *parser) newMessage(ts time.Time) *message {
	return &message{isReq: p.role == requests, dir: p.dir, off: p.lineOff, ts: ts}
}

type lineStatus uint8

const (
	lineMore lineStatus = iota // no line end yet; all of data was taken
	lineOK
	lineLong // longer than the limit; the line (up to its end, if seen) was dropped
)

// readLine takes the next line from data, joining it with what earlier
// calls left. It returns the line without CRLF or LF (valid until the next
// call) and the bytes of data it consumed.
func (p *parser) readLine(data []byte, limit int) ([]byte, int, lineStatus) {
	if len(p.line) == 0 {
		p.lineOff = p.off
	}
	// limit counts the line without its CRLF.
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(p.line)+len(data) > limit+1 {
			p.line = p.line[:0]
			return nil, len(data), lineLong
		}
		p.line = append(p.line, data...)
		return nil, len(data), lineMore
	}
	n := len(p.line) + i
	if n > 0 {
		last := p.line
		if i > 0 {
			last = data[:i]
		}
		if last[len(last)-1] == '\r' {
			n--
		}
	}
	if n > limit {
		p.line = p.line[:0]
		return nil, i + 1, lineLong
	}
	line := data[:i]
	if len(p.line) > 0 {
		p.line = append(p.line, line...)
		line = p.line
		p.line = p.line[:0]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, i + 1, lineOK
}

// step consumes some of data (at least one byte) in the current state and
// returns how much.
func (p *parser) step(data []byte, ts time.Time) int {
	switch p.st {
	case stLine:
		return p.stepLine(data, ts)
	case stHeaders, stTrailers:
		return p.stepHeader(data, ts)
	case stBody, stChunkData, stClose:
		k := len(data)
		if p.st != stClose && int64(k) > p.remain {
			k = int(p.remain)
		}
		m := p.m
		m.bodyLen += int64(k)
		p.ev.body(m, data[:k], ts)
		if p.st == stClose {
			return k
		}
		p.remain -= int64(k)
		if p.remain == 0 {
			if p.st == stBody {
				p.finish(true, "", ts)
			} else {
				p.st = stChunkEnd
			}
		}
		return k
	case stChunkSize:
		// 1a3f;ext=1
		line, n, ls := p.readLine(data, maxChunkLine)
		switch ls {
		case lineMore:
			return n
		case lineLong:
			p.fail("chunk-line-too-long", ts)
			return n
		}
		size, ok := parseChunkSize(line)
		if !ok {
			p.fail("bad-chunk-size", ts)
			return n
		}
		p.m.chunks++
		if size == 0 {
			p.st = stTrailers
			p.m.hlines, p.m.hbytes = 0, 0
		} else {
			p.remain = size
			p.st = stChunkData
		}
		return n
	case stChunkEnd:
		// the CRLF after a chunk's data
		line, n, ls := p.readLine(data, maxChunkLine)
		switch {
		case ls == lineMore:
			return n
		case ls == lineLong || len(line) > 0:
			p.fail("bad-chunk-end", ts)
		default:
			p.st = stChunkSize
		}
		return n
	case stHold:
		// unreachable: Feed queues while stalled
		return len(data)
	}
	return len(data)
}

// stepLine reads start lines, skipping blank lines and junk.
func (p *parser) stepLine(data []byte, ts time.Time) int {
	if p.skip {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.stats.JunkBytes += int64(len(data))
			return len(data)
		}
		p.skip = false
		p.stats.JunkBytes += int64(i + 1)
		return i + 1
	}
	line, n, ls := p.readLine(data, maxLine)
	switch ls {
	case lineMore:
		return n
	case lineLong:
		p.stats.JunkBytes += int64(n)
		p.skip = n == len(data) && data[n-1] != '\n'
		p.junkLine(nil, ts)
		return n
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return n // blank lines between messages are allowed
	}
	if p.resync {
		// Out of step, a start line may follow a body's last bytes on
		// the same line ("...</html>HTTP/1.1 200 OK").
		if i := findStartLine(line, p.role); i > 0 {
			p.stats.JunkBytes += int64(i)
			p.lineOff += int64(i)
			line = line[i:]
		}
	}
	m := p.newMessage(ts)
	if p.role == requests {
		// GET /index.html HTTP/1.1
		rl, ok := parseRequestLine(line, p.resync)
		if !ok {
			p.stats.JunkBytes += int64(n)
			if !p.junkLine(line, ts) {
				return n
			}
			// A request nonetheless: it is answered, and its header
			// block frames it.
			m.badLine = string(line[:min(len(line), 256)])
			m.flag("bad-request-line")
		} else {
			m.method, m.target, m.proto = rl.method, rl.target, rl.proto
			if rl.noVersion {
				m.flag("no-version")
			}
			p.junk = false
		}
	} else {
		// HTTP/1.1 200 OK
		sl, ok := parseStatusLine(line, p.resync)
		if !ok {
			p.stats.JunkBytes += int64(n)
			p.junkLine(line, ts)
			return n
		}
		m.proto, m.code, m.reason = sl.proto, sl.code, sl.reason
		p.junk = false
	}
	p.resync = false
	p.m = m
	m.hbytes, m.hlines = 0, 0
	p.st = stHeaders
	return n
}

// junkLine accounts for a line that is not a start line. It reports
// whether the line should still open a (bad) request: the first junk line
// of a request direction that was in step, i.e. a malformed request line
// a server would answer with 400.
func (p *parser) junkLine(line []byte, ts time.Time) bool {
	first := !p.junk && !p.resync
	p.junk = true
	return first && p.role == requests && line != nil
}

// stepHeader reads header or trailer lines.
//
//	Host: www.example.com
//	X-Folded: first part
//	  continued
//	(empty line)
func (p *parser) stepHeader(data []byte, ts time.Time) int {
	m := p.m
	line, n, ls := p.readLine(data, maxLine)
	m.hbytes += n
	if ls == lineMore {
		if m.hbytes > maxHeaderBytes {
			p.line = p.line[:0]
			p.fail("header-too-large", ts)
		}
		return n
	}
	m.hlines++
	switch {
	case ls == lineLong:
		p.fail("header-line-too-long", ts)
		return n
	case m.hbytes > maxHeaderBytes:
		p.fail("header-too-large", ts)
		return n
	case m.hlines > maxHeaderCount:
		p.fail("too-many-header-lines", ts)
		return n
	}
	h := &m.header
	if p.st == stTrailers {
		h = &m.trailer
	}
	if len(line) == 0 {
		if p.st == stTrailers {
			p.finish(true, "", ts)
		} else {
			p.headDone(ts)
		}
		return n
	}
	if (line[0] == ' ' || line[0] == '\t') && len(*h) > 0 {
		// obs-fold: a continuation of the previous field's value
		f := &(*h)[len(*h)-1]
		f.value += " " + string(bytes.Trim(line, " \t"))
		return n
	}
	f, ok := parseField(line)
	if !ok {
		m.flag("bad-header-line")
		return n
	}
	*h = append(*h, f)
	return n
}

// headDone frames the message from its own header and hands it to the
// consumer.
func (p *parser) headDone(ts time.Time) {
	m := p.m
	m.headDone = true
	p.stats.Messages++
	frame(m)
	if p.ev.head(m, false) {
		p.stats.Held++
		p.stalled = true
		p.st = stHold
		return
	}
	p.afterHead(ts)
}

func (p *parser) afterHead(ts time.Time) {
	m := p.m
	switch m.framing {
	case frameLength:
		if m.length > 0 {
			p.remain = m.length
			p.st = stBody
			return
		}
		p.finish(true, "", ts)
	case frameChunked:
		p.st = stChunkSize
	case frameClose:
		p.st = stClose
	case frameTunnel:
		p.finish(true, "", ts)
		p.st = stDead
	default:
		p.finish(true, "", ts)
	}
}

// stop ends HTTP parsing of this direction (the connection became a
// tunnel). A message in progress is ended as not ok.
func (p *parser) stop(ts time.Time) {
	p.flush()
	if p.m != nil && p.st != stHold {
		p.finish(false, "tunnel", ts)
	}
	p.st = stDead
	p.line = nil
}

// frame sets m.framing and m.length from m's own header (RFC 9112 6.3);
// what depends on the request (HEAD, CONNECT) is the consumer's to add.
func frame(m *message) {
	te := m.header.list("transfer-encoding")
	cl, hasCL, validCL := parseContentLength(m.header.values("content-length"))
	if m.isReq {
		switch {
		case len(te) > 0 && te[len(te)-1] == "chunked":
			m.framing = frameChunked
		case len(te) > 0:
			// A request cannot be delimited by the close: it is invalid.
			m.flag("bad-transfer-encoding")
			m.framing = frameNone
		case hasCL && !validCL:
			m.flag("bad-content-length")
			m.framing = frameNone
		case hasCL && cl > 0:
			m.framing, m.length = frameLength, cl
		default:
			m.framing = frameNone
		}
		if hasCL && len(te) > 0 {
			m.flag("length-and-chunked")
		}
		return
	}
	switch {
	case m.code/100 == 1 || m.code == 204 || m.code == 304:
		m.framing = frameNone
	case len(te) > 0 && te[len(te)-1] == "chunked":
		m.framing = frameChunked
	case len(te) > 0:
		m.framing = frameClose
	case hasCL && !validCL:
		m.flag("bad-content-length")
		m.framing = frameClose
	case hasCL:
		m.framing, m.length = frameLength, cl
	default:
		m.framing = frameClose
	}
	if hasCL && len(te) > 0 {
		m.flag("length-and-chunked")
	}
}

// findStartLine returns where a strict start line begins inside line, or
// -1: a status line ("HTTP/1.1 200 ...") for responses, a known method
// followed by a target and "HTTP/1.x" for requests.
func findStartLine(line []byte, r role) int {
	if r == responses {
		for i := 0; ; {
			j := bytes.Index(line[i:], []byte("HTTP/1."))
			if j < 0 {
				return -1
			}
			if _, ok := parseStatusLine(line[i+j:], true); ok {
				return i + j
			}
			i += j + 1
		}
	}
	if !bytes.HasSuffix(bytes.TrimRight(line, " \t"), []byte("HTTP/1.1")) && !bytes.HasSuffix(bytes.TrimRight(line, " \t"), []byte("HTTP/1.0")) {
		return -1
	}
	best := -1
	for m := range knownMethods {
		for i := 0; ; {
			j := bytes.Index(line[i:], []byte(m+" "))
			if j < 0 {
				break
			}
			if _, ok := parseRequestLine(line[i+j:], true); ok && (best < 0 || i+j < best) {
				best = i + j
				break
			}
			i += j + 1
		}
	}
	return best
}
