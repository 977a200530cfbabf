package httpx

import (
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// Stats count what the extractor met, over all connections.
type Stats struct {
	Conns        int
	Requests     int
	Responses    int
	Unsolicited  int
	NoResponse   int
	Held         int // responses held until their request was parsed
	ParseErrors  int
	Resyncs      int
	JunkBytes    int64
	Assemblies   int
	DecodeErrors int
}

// Protocol is the HTTP extractor: extractors.Protocol for the service
// "http", and the owner of what outlives one connection (the 206
// assemblies, the multipart buffer budget). One goroutine uses it.
type Protocol struct {
	// HoldRanges keeps a 206 assembly that is not whole open when the
	// last connection that wrote to it closes, for a later connection to
	// complete, until Close. Set it only if Close is called at the end of
	// the run; otherwise such an assembly is closed (truncated) with its
	// last connection.
	HoldRanges bool

	ranges     map[string]*assembly
	rangeOrder []*assembly
	mpBytes    int64 // multipart bytes buffered, all connections
	stats      Stats
	// liveDecoders counts decoders not joined yet (tests check it is 0
	// after every connection closed).
	liveDecoders int
	heldBytes    int   // bytes queued by held responses, all connections
	codedCopies  int64 // coded-body copies kept for a fallback, all bodies

	// newFiles and logTo, if set, replace the env's sink and log (tests).
	newFiles func(env *extractors.Env) fileSink
	logTo    func(r *record) error
}

// New returns the HTTP extractor.
func New() *Protocol {
	return &Protocol{ranges: map[string]*assembly{}}
}

// Service implements extractors.Protocol.
func (*Protocol) Service() string { return detect.HTTP }

// Stats returns the running totals.
func (p *Protocol) Stats() Stats { return p.stats }

// New implements extractors.Protocol.
func (p *Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler {
	var fs fileSink
	switch {
	case p.newFiles != nil:
		fs = p.newFiles(env)
	case env.Sink != nil:
		fs = realSink{env.Sink}
	default:
		return nil
	}
	return p.newConn(s, env, fs)
}

func (p *Protocol) newConn(s *engine.Session, env *extractors.Env, fs fileSink) *conn {
	c := &conn{p: p, env: env, files: fs, s: s}
	cn := s.Conn
	c.id = manifest.ConnID{OrigH: cn.Orig.Addr(), OrigP: cn.Orig.Port(), RespH: cn.Resp.Addr(), RespP: cn.Resp.Port()}
	// Roles by content: the side that sends requests is the client, even
	// when the flow table picked the originator by a port heuristic.
	p0, p1 := s.Prefix(0), s.Prefix(1)
	if !(detect.IsHTTPRequest(p0) || detect.IsHTTPResponse(p1)) && (detect.IsHTTPRequest(p1) || detect.IsHTTPResponse(p0)) {
		c.reqDir = 1
	}
	server := cn.Resp
	if c.reqDir == 1 {
		server = cn.Orig
	}
	c.server = hostPort(server)
	c.ps[c.reqDir] = newParser(requests, c.reqDir, c)
	c.ps[1-c.reqDir] = newParser(responses, 1-c.reqDir, c)
	c.ps[1-c.reqDir].held = &p.heldBytes
	p.stats.Conns++
	return c
}

func hostPort(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	a := ap.Addr().Unmap().String()
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		a = "[" + a + "]"
	}
	if ap.Port() == 80 {
		return a
	}
	return a + ":" + strconv.Itoa(int(ap.Port()))
}

// txn is one request/response pair.
type txn struct {
	depth          int
	req, resp      *message
	reqDone        bool
	respDone       bool
	reqOK, respOK  bool
	infoCode       int
	infoMsg        string
	files          [2][]fileRec // by direction
	flags          []string
	lostReq        bool
	lostResp       bool
	unsolicitedTxn bool
}

func (t *txn) flag(f string) {
	if !contains(t.flags, f) {
		t.flags = append(t.flags, f)
	}
}

func (t *txn) state() string {
	switch {
	case t.lostReq:
		return "request-lost"
	case t.lostResp:
		return "response-lost"
	case t.req == nil:
		return "unsolicited"
	case t.resp == nil:
		return "no-response"
	case !t.reqOK || !t.respOK || t.req.bodyGap > 0 || t.resp.bodyGap > 0:
		return "truncated"
	}
	return "complete"
}

// conn is the handler of one HTTP connection: a parser per direction,
// the FIFO of requests waiting for their response (as net/http's
// Transport pairs them), and the pairs not yet logged.
//
// Pairing: a response takes the oldest waiting request. A response whose
// head is read while no request waits is held (its direction queues, up to
// maxHold bytes) until a request head is read, the request direction
// ends, the bound is reached, or the connection closes; then it goes on
// as "unsolicited". A request whose head is lost to a gap or a parse
// error still takes its place in the FIFO, so later pairs stay aligned; a
// response whose head is lost takes the oldest request with it.
type conn struct {
	p      *Protocol
	env    *extractors.Env
	files  fileSink
	s      *engine.Session
	id     manifest.ConnID
	server string // host[:port] of the server, for URLs without a Host

	reqDir int
	ps     [2]*parser
	fifo   []*txn // requests waiting for a response, oldest first
	txns   []*txn // pairs not yet logged, in order
	depth  int
	ended  [2]bool
	tunnel string // why HTTP parsing stopped ("connect", "upgrade websocket"), or ""
	failed bool
	closed bool
	asms   []*assembly // 206 assemblies this connection wrote to
}

// fail records an output error: the run stops.
func (c *conn) fail(err error) {
	if err != nil && !c.failed {
		c.failed = true
		c.s.Fail(err)
	}
}

func (c *conn) create(m sink.Meta) file {
	if c.failed {
		return nil
	}
	f, err := c.files.Create(m)
	if err != nil {
		c.fail(err)
		return nil
	}
	return f
}

// Data implements engine.Handler.
func (c *conn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if c.failed || c.closed {
		return
	}
	if c.tunnel != "" {
		c.ps[dir].stop(ts)
		return
	}
	c.ps[dir].Feed(data, ts)
}

// Gap implements engine.Handler.
func (c *conn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if c.failed || c.closed {
		return
	}
	if c.tunnel != "" {
		c.ps[dir].stop(ts)
		return
	}
	c.ps[dir].Gap(n, ts)
}

// End implements engine.Handler.
func (c *conn) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if c.closed || c.ended[dir] {
		return
	}
	c.ended[dir] = true
	if c.failed {
		return
	}
	if c.tunnel != "" {
		c.ps[dir].stop(ts)
	} else {
		c.ps[dir].End(reason, ts)
	}
	if dir == c.reqDir {
		// No request will come: a held response goes on unsolicited.
		c.ps[1-c.reqDir].resume()
	}
}

// Close implements engine.Handler: what is still held or open is ended,
// and every pair not yet logged is logged.
func (c *conn) Close(s *engine.Session) {
	if c.closed {
		return
	}
	ts := s.Conn.Last
	if !c.failed {
		for _, dir := range []int{c.reqDir, 1 - c.reqDir} {
			if !c.ended[dir] {
				c.End(s, dir, "closed", ts)
			}
		}
		c.ps[1-c.reqDir].flush()
		for _, p := range c.ps {
			p.stop(ts)
		}
	}
	c.abortDecoders()
	c.closed = true
	for _, t := range c.txns {
		if t.resp == nil && t.req != nil {
			c.p.stats.NoResponse++
			t.flag("no-response")
		}
	}
	c.flushLog(true)
	c.p.release(c)
	for _, p := range c.ps {
		c.p.stats.ParseErrors += p.stats.ParseErrors
		c.p.stats.Resyncs += p.stats.Resyncs
		c.p.stats.JunkBytes += p.stats.JunkBytes
		c.p.stats.Held += p.stats.Held
	}
}

// abortDecoders joins the decoders of bodies still in progress (after an
// output failure nothing else ends them).
func (c *conn) abortDecoders() {
	for _, p := range c.ps {
		if p.m != nil && p.m.ent != nil && p.m.ent.dec != nil {
			p.m.ent.dec.abort()
		}
	}
}

// head implements events.
func (c *conn) head(m *message, force bool) bool {
	if m.isReq {
		c.reqHead(m)
		return false
	}
	return c.respHead(m, force)
}

func (c *conn) reqHead(m *message) {
	c.p.stats.Requests++
	c.depth++
	t := &txn{depth: c.depth, req: m}
	m.t = t
	c.fifo = append(c.fifo, t)
	c.txns = append(c.txns, t)
	if m.method == "PRI" && m.target == "*" && strings.EqualFold(m.proto, "HTTP/2.0") {
		// PRI * HTTP/2.0 (the HTTP/2 connection preface, prior
		// knowledge): what follows is HTTP/2 frames.
		m.framing = frameTunnel
		c.startTunnel(t, "h2-prior-knowledge")
	}
	if m.framing == frameLength || m.framing == frameChunked {
		m.ent = c.newEntity(m, t)
	}
	// A response held for want of a request may pair now.
	c.ps[1-c.reqDir].resume()
}

func (c *conn) respHead(m *message, force bool) bool {
	if m.code/100 == 1 && m.code != 101 {
		// 100 Continue, 102, 103: interim, for the oldest request.
		m.framing = frameNone
		if len(c.fifo) > 0 {
			t := c.fifo[0]
			t.infoCode, t.infoMsg = m.code, m.reason
		}
		return false
	}
	var t *txn
	if len(c.fifo) > 0 {
		t = c.fifo[0]
		c.fifo = c.fifo[1:]
	} else {
		if !force && !c.ended[c.reqDir] {
			return true // its request may still be on its way: hold
		}
		c.p.stats.Unsolicited++
		c.depth++
		t = &txn{depth: c.depth, reqDone: true, reqOK: true, unsolicitedTxn: true}
		t.flag("unsolicited")
		c.txns = append(c.txns, t)
	}
	c.p.stats.Responses++
	t.resp = m
	m.t = t
	method := ""
	if t.req != nil {
		method = strings.ToUpper(t.req.method)
	}
	switch {
	case method == "HEAD":
		m.framing = frameNone
	case m.code == 101:
		m.framing = frameTunnel
		c.startTunnel(t, "upgrade "+strings.ToLower(m.header.get("upgrade")))
	case method == "CONNECT" && m.code/100 == 2:
		m.framing = frameTunnel
		c.startTunnel(t, "connect")
	}
	if m.framing == frameLength || m.framing == frameChunked || m.framing == frameClose {
		m.ent = c.newEntity(m, t)
	}
	return false
}

// startTunnel: CONNECT 2xx, 101 Switching Protocols (websocket, h2c):
// what follows on both directions is not HTTP/1; it stays in the
// transcript.
func (c *conn) startTunnel(t *txn, why string) {
	c.tunnel = strings.TrimSpace(why)
	t.flag("tunnel")
}

// body implements events.
func (c *conn) body(m *message, p []byte, ts time.Time) {
	if m.ent != nil && !c.failed {
		m.ent.write(p, ts)
	}
}

// bodyGap implements events.
func (c *conn) bodyGap(m *message, n int64, ts time.Time) {
	if m.t != nil {
		m.t.flag("gap")
	}
	if m.ent != nil && !c.failed {
		m.ent.gap(n, ts)
	}
}

// done implements events.
func (c *conn) done(m *message, ok bool, reason string, ts time.Time) {
	if m.ent != nil {
		if !c.failed {
			m.ent.end(ok, reason)
		}
		m.ent = nil
	}
	t := m.t
	if m.isReq {
		if t == nil {
			// The head was lost (gap, parse error): the request still
			// takes its place in the FIFO, so later pairs stay aligned.
			c.depth++
			t = &txn{depth: c.depth, req: m, lostReq: true}
			m.t = t
			t.flag("request-" + reason)
			c.fifo = append(c.fifo, t)
			c.txns = append(c.txns, t)
			c.ps[1-c.reqDir].resume()
		}
		t.reqDone, t.reqOK = true, ok
	} else {
		if m.headDone && m.code/100 == 1 && m.code != 101 {
			return // interim response
		}
		if t == nil {
			// The head was lost: it answered the oldest request.
			if len(c.fifo) == 0 {
				return
			}
			t = c.fifo[0]
			c.fifo = c.fifo[1:]
			t.resp, t.lostResp = m, true
			t.flag("response-" + reason)
			m.t = t
		}
		t.respDone, t.respOK = true, ok
	}
	if !ok && reason != "" && m.headDone {
		m.flag(reason)
	}
	c.flushLog(false)
}

// flushLog logs the pairs at the front of the list that are done (all of
// them when the connection closes), keeping the log in request order.
func (c *conn) flushLog(all bool) {
	n := 0
	for _, t := range c.txns {
		if !all && !(t.reqDone && t.respDone) {
			break
		}
		n++
		if c.failed {
			continue
		}
		if err := c.writeLog(c.record(t)); err != nil {
			c.fail(err)
		}
	}
	c.txns = c.txns[n:]
}

func (c *conn) writeLog(r *record) error {
	if c.p.logTo != nil {
		return c.p.logTo(r)
	}
	if c.env.Logs == nil {
		return nil
	}
	return c.env.Logs.Write("http", r)
}

// addFile records a closed file under its message's pair.
func (c *conn) addFile(m *message, r fileRec) {
	if m.t != nil {
		m.t.files[m.dir] = append(m.t.files[m.dir], r)
	}
}

// noteAssembly records, once per message, the 206 assembly it writes to.
func (c *conn) noteAssembly(m *message, a *assembly) {
	if m.t == nil {
		return
	}
	for _, f := range m.t.files[m.dir] {
		if f.asm == a {
			return
		}
	}
	m.t.files[m.dir] = append(m.t.files[m.dir], fileRec{fuid: a.fuid, name: a.name, asm: a, state: "assembling"})
}

// url is the full URL of a request: "http://" Host target, or the target
// itself when it is absolute.
func (c *conn) url(q *message) string {
	if q == nil {
		return ""
	}
	t := q.target
	lt := strings.ToLower(t)
	if strings.HasPrefix(lt, "http://") || strings.HasPrefix(lt, "https://") {
		return t
	}
	host := q.header.get("host")
	if host == "" {
		host = c.server
	}
	switch {
	case strings.EqualFold(q.method, "CONNECT"):
		return t
	case strings.HasPrefix(t, "/"):
		return "http://" + host + t
	case t == "" || t == "*":
		return "http://" + host + "/"
	}
	return "http://" + host + "/" + t
}

// newEntity prepares the files of m's body: names, coding, target.
func (c *conn) newEntity(m *message, t *txn) *entity {
	q := t.req
	if m.isReq {
		q = m
	}
	e := &entity{c: c, m: m}
	name, _ := dispositionFilename(m.header.get("content-disposition"))
	if name == "" && q != nil {
		name = urlBasename(q.target)
	}
	declared, params := mediaType(m.header.get("content-type"))
	method := ""
	if q != nil {
		method = q.method
	}
	meta := sink.Meta{
		UID: c.s.Conn.UID, Conn: c.id, IsOrig: m.dir == 0, Source: "HTTP", Subdir: "http",
		Name: name, ServerPath: c.url(q), Command: method, DeclaredMIME: declared,
		ExpectedSize: -1, TS: m.ts, Extra: map[string]any{"trans_depth": t.depth},
	}
	if !m.isReq {
		meta.Extra["status_code"] = m.code
	}
	ce := m.header.list("content-encoding")
	codings := decodeOrder(ce, m.header.list("transfer-encoding"))

	// 206: the body is a piece of an object, stitched by offset. Ranges
	// count coded bytes, so a coded piece is stitched as sent.
	if !m.isReq && m.code == 206 {
		host := c.server
		path := ""
		if q != nil {
			if h := q.header.get("host"); h != "" {
				host = strings.ToLower(h)
			}
			path = urlPath(q.target)
		}
		ri := &rangeInfo{keyBase: host + path + "\x00" + strings.Join(codings, ","), meta: meta}
		ri.meta.Extra = maps.Clone(meta.Extra)
		delete(ri.meta.Extra, "status_code")
		delete(ri.meta.Extra, "trans_depth")
		ri.meta.Extra["assembled"] = true
		if len(codings) > 0 {
			ri.meta.Extra["content_encoding"] = strings.Join(ce, ", ")
			m.flag("range-coded")
		}
		if cr, ok := parseContentRange(m.header.get("content-range")); ok {
			rt := &rangeTarget{c: c, m: m, pos: cr.first, stop: cr.last + 1}
			rt.a = c.p.assembly(c, ri.key(cr.total), cr.total, ri.meta)
			if rt.a != nil {
				c.noteAssembly(m, rt.a)
			}
			e.out = rt
			return e
		}
		if declared == "multipart/byteranges" && params["boundary"] != "" {
			whole := &plainTarget{c: c, m: m, meta: meta}
			e.out = &multipartTarget{c: c, m: m, boundary: params["boundary"], byteranges: ri, whole: whole}
			return e
		}
		m.flag("bad-content-range")
	}

	if len(codings) > 0 {
		meta.Extra["content_encoding"] = strings.Join(ce, ", ")
	}
	e.rawMeta = meta
	e.rawMeta.Name = ""
	if name != "" {
		e.rawMeta.Name = name + codingSuffix(ce)
	}
	if m.framing == frameLength {
		e.rawMeta.ExpectedSize = m.length
	}
	whole := &plainTarget{c: c, m: m, meta: meta}
	if m.isReq && declared == "multipart/form-data" && params["boundary"] != "" {
		e.out = &multipartTarget{c: c, m: m, boundary: params["boundary"], whole: whole}
	} else {
		e.out = whole
	}

	switch ok, why := decodable(codings); {
	case len(codings) == 0:
		e.mode = modeIdentity
		if m.framing == frameLength {
			whole.meta.ExpectedSize = m.length
		}
	case !ok:
		// Kept as sent, under the plain name, marked.
		e.mode = modeRaw
		m.flag("decode-error")
		c.p.stats.DecodeErrors++
		e.rawMeta.Name = name
		e.rawMeta.Extra = maps.Clone(meta.Extra)
		e.rawMeta.Extra["decode_error"] = why
		e.raw = &plainTarget{c: c, m: m, meta: e.rawMeta}
	default:
		e.mode = modeDecode
		e.dec = newDecoder(codings, &c.p.liveDecoders)
		if c.env.Options.KeepEncoded {
			e.rawMeta.Extra = maps.Clone(meta.Extra)
			e.rawMeta.Extra["encoded"] = true
			e.raw = &plainTarget{c: c, m: m, meta: e.rawMeta}
		}
	}
	return e
}
