package ftp

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// Bounds of one control session's state.
const (
	// maxPending is the most commands waiting for their reply; past it the
	// oldest is logged "no reply" and forgotten.
	maxPending = 128
	// maxChannels is the most announced data endpoints a session tracks
	// until a connection matches them (for the "unmatched" report).
	maxChannels = 64
	// maxUnbound is the most transfer commands waiting for the
	// announcement of their data endpoint (pipelined PASV + RETR).
	maxUnbound = 16
	// maxSizes is how many SIZE/MDTM answers are remembered.
	maxSizes = 32
	// expectTTL is how long, in capture time, an announced data endpoint
	// waits for its connection.
	expectTTL = 2 * time.Minute
	// listingSample is how many lines of a listing go into the session
	// transcript.
	listingSample = 50
)

// isKnownVerb says whether v is an FTP command (RFC 959, 2228, 2389,
// 2428, 3659 and common extensions). It is asked after a gap in the
// control channel, when the first line may be the tail of a lost one.
func isKnownVerb(v string) bool {
	switch v {
	case "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "REIN", "QUIT", "PORT", "PASV",
		"TYPE", "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR",
		"RNTO", "ABOR", "DELE", "RMD", "MKD", "PWD", "LIST", "NLST", "SITE", "SYST",
		"STAT", "HELP", "NOOP", "FEAT", "OPTS", "AUTH", "PBSZ", "PROT", "CCC", "ADAT",
		"EPRT", "EPSV", "LPRT", "LPSV", "LANG", "MDTM", "SIZE", "MLST", "MLSD", "XCWD",
		"XCUP", "XMKD", "XRMD", "XPWD", "HOST", "CLNT", "MFMT", "MFCT", "MFF", "AVBL",
		"XCRC", "XMD5", "XSHA1", "XSHA256", "HASH", "CSID", "DSIZ", "RMDA", "THMB":
		return true
	}
	return false
}

// command is one client command waiting for, or paired with, its reply.
type command struct {
	seq      int
	verb     string
	arg      string
	ts       time.Time
	bad      bool // not a command line
	flags    lineFlags
	note     string
	prelim   *reply    // first 1xx reply
	xfer     *transfer // RETR, STOR... : its transfer
	ch       *channel  // PORT/EPRT: the endpoint it announced
	restXfer *transfer // REST: the transfer it applied to
	prevType bool      // TYPE: ascii before it
}

// sizeInfo is what SIZE and MDTM said about a path.
type sizeInfo struct {
	path  string
	size  int64 // -1 unknown
	ascii bool  // SIZE was asked in ASCII mode
	mdtm  string
}

// control is the handler of one FTP control connection: it parses both
// directions, pairs commands with replies, tracks login, working
// directory, transfer type and REST, announces data endpoints as
// expectations, and turns each transfer command into a transfer that its
// data connection fills.
//
// It owns the session's state (bounded by the constants above), its
// transcript file and its lines of ftp.jsonl. It does not own the data
// connections' bytes (dataConn) nor the files (the sink).
type control struct {
	out    outputs
	es     *engine.Session
	uid    string
	id     manifest.ConnID
	client netip.Addr
	server netip.Addr
	redact bool

	lr      [2]lineReader
	rr      replyReader
	scratch []byte

	user, pass string
	loggedIn   bool
	logins     int // attempts decided
	failures   int
	cwd        string // "" while unknown
	ascii      bool
	mode, stru string // MODE and STRU in force when not S and F
	rest       int64
	restCmd    *command
	sizes      []sizeInfo

	seq      int
	fifo     []*command
	greeted  bool
	cur      *channel   // latest announced endpoint no transfer used yet
	chans    []*channel // announced, not matched by a connection yet
	unbound  []*transfer
	xfers    []*transfer // not finished
	nxfer    int
	dataOpen int // matched data connections not closed yet
	unboundD []*dataConn

	encrypted bool
	encBytes  [2]int64
	closed    bool

	text     fileOut
	textDone bool
	textTS   time.Time
	failed   bool

	// Counters for the session summary.
	commands, replies, unpaired, garbage int
}

func newControl(s *engine.Session, out outputs, redact bool) *control {
	c := &control{out: out, es: s, redact: redact}
	if s != nil && s.Conn != nil {
		c.uid = s.Conn.UID
		c.client, c.server = s.Conn.Orig.Addr(), s.Conn.Resp.Addr()
		c.id = connID(s)
	}
	return c
}

func connID(s *engine.Session) manifest.ConnID {
	return manifest.ConnID{
		OrigH: s.Conn.Orig.Addr(), OrigP: s.Conn.Orig.Port(),
		RespH: s.Conn.Resp.Addr(), RespP: s.Conn.Resp.Port(),
	}
}

// fail stops the run on an output error.
func (c *control) fail(err error) {
	if err == nil {
		return
	}
	c.failed = true
	if c.es != nil {
		c.es.Fail(err)
	}
}

// --- engine.Handler ---

// Data implements engine.Handler.
func (c *control) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if c.encrypted || c.failed {
		c.encBytes[dir] += int64(len(data))
		return
	}
	c.lr[dir].feed(data, func(line []byte, fl lineFlags) { c.onLine(dir, line, fl, ts) })
}

// Gap implements engine.Handler.
func (c *control) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if c.encrypted || c.failed {
		return
	}
	partial := c.lr[dir].gap()
	if dir == 1 {
		c.rr.gap()
	}
	msg := fmt.Sprintf("[%s: %d bytes missing from the capture", side(dir), n)
	if partial != "" {
		msg += "; partial line dropped: " + c.shownFragment(dir, partial)
	}
	c.textf(ts, "%s]", msg)
}

// End implements engine.Handler.
func (c *control) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if !c.encrypted && !c.failed {
		c.lr[dir].end(func(line []byte, fl lineFlags) { c.onLine(dir, line, fl, ts) })
		if dir == 1 {
			if r := c.rr.end(); r != nil {
				c.onReply(r, ts)
			}
		}
	}
	c.textf(ts, "[%s closed: %s]", side(dir), reason)
}

// Close implements engine.Handler.
func (c *control) Close(s *engine.Session) {
	c.close(s.Conn.Last)
}

func side(dir int) string {
	if dir == 0 {
		return "client"
	}
	return "server"
}

// --- lines ---

func (c *control) onLine(dir int, raw []byte, fl lineFlags, ts time.Time) {
	if c.encrypted {
		c.encBytes[dir] += int64(len(raw))
		return
	}
	line := stripTelnet(raw, c.scratch)
	if len(line) != len(raw) {
		c.scratch = line[:0]
	}
	text := string(line)
	if dir == 0 {
		c.onCommandLine(text, fl, ts)
		return
	}
	c.textLine(ts, "S<", printable(text), fl)
	replies, bad := c.rr.line(text, fl)
	if bad {
		c.garbage++
		c.textf(ts, "   (not a reply line)")
	}
	for _, r := range replies {
		c.onReply(r, ts)
	}
}

func (c *control) textLine(ts time.Time, who, text string, fl lineFlags) {
	var tags []string
	if fl&lineCut != 0 {
		tags = append(tags, "line cut at 8 KiB")
	}
	if fl&lineNoEOL != 0 {
		tags = append(tags, "no line end")
	}
	suffix := ""
	if len(tags) > 0 {
		suffix = "  [" + strings.Join(tags, ", ") + "]"
	}
	c.textf(ts, "%s %s%s", who, text, suffix)
}

// --- commands ---

func (c *control) onCommandLine(text string, fl lineFlags, ts time.Time) {
	if strings.TrimSpace(text) == "" {
		return
	}
	verb, arg, ok := parseCommand(text)
	if fl&lineAfterGap != 0 && (!ok || !isKnownVerb(verb)) {
		c.textf(ts, "C> %s  [fragment after a gap: ignored]", c.shownFragment(0, text))
		return
	}
	c.seq++
	cmd := &command{seq: c.seq, verb: verb, arg: arg, ts: ts, bad: !ok, flags: fl}
	c.commands++
	shown := text
	if ok && verb == "PASS" && c.redact {
		shown = text[:4] + " " + Redacted
	}
	c.textLine(ts, "C>", printable(shown), fl)
	if !ok {
		cmd.verb, cmd.arg, cmd.note = "", text, "malformed"
	}
	if fl&lineCut != 0 {
		cmd.note = joinNote(cmd.note, "line cut")
	}
	switch verb {
	case "USER":
		c.user, c.pass, c.loggedIn = arg, "", false
	case "PASS":
		c.pass = arg
	case "PORT", "EPRT":
		var ep netip.AddrPort
		if verb == "PORT" {
			ep, ok = parsePORT(arg)
		} else {
			ep, ok = parseEPRT(arg)
		}
		if !ok {
			cmd.note = joinNote(cmd.note, "malformed "+verb+" argument")
			break
		}
		if !ep.Addr().IsValid() || ep.Addr().IsUnspecified() {
			ep = netip.AddrPortFrom(c.client, ep.Port())
		}
		cmd.ch = c.announce(cmd, false, ep, ts)
	case "LPRT", "LPSV":
		cmd.note = joinNote(cmd.note, "unsupported (long address)")
	case "REST":
		if n, ok := parseREST(arg); ok {
			c.rest, c.restCmd = n, cmd
		} else {
			cmd.note = joinNote(cmd.note, "malformed REST offset")
		}
	case "TYPE":
		if a, ok := parseTYPE(arg); ok {
			cmd.prevType = c.ascii
			c.ascii = a
		}
	case "RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD":
		c.newTransfer(cmd)
	case "ABOR":
		for _, p := range c.fifo {
			if p.xfer != nil && p.xfer.final == nil {
				p.xfer.aborted = true
			}
		}
	}
	if len(c.fifo) >= maxPending {
		old := c.fifo[0]
		c.fifo = c.fifo[1:]
		c.unpaired++
		c.noReply(old)
	}
	c.fifo = append(c.fifo, cmd)
}

// shownFragment is how a piece of a broken line appears in the
// transcript: with RedactPasswords, a client fragment may be the tail of a
// PASS line, so it is not shown.
func (c *control) shownFragment(dir int, s string) string {
	if c.redact && dir == 0 {
		return fmt.Sprintf("(%d bytes not shown: passwords are redacted)", len(s))
	}
	return printable(clip(s, 200))
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// noReply deals with a command whose reply will never be seen.
func (c *control) noReply(cmd *command) {
	if t := cmd.xfer; t != nil {
		t.noReply = true
		c.maybeFinish(t)
		return
	}
	l := c.logLine(cmd, nil)
	l.Note = joinNote(l.Note, "no reply")
	c.writeLog(l)
}

// --- replies ---

func (c *control) onReply(r *reply, ts time.Time) {
	c.replies++
	// 220 Service ready (or 120 ready in nnn minutes, 421 not available)
	// before any command: the greeting. A 220 is otherwise only a reply
	// to REIN.
	if !c.greeted && (r.Code == 220 && (len(c.fifo) == 0 || c.fifo[0].verb != "REIN") ||
		(r.Code == 120 || r.Code == 421) && len(c.fifo) == 0) {
		c.greeted = r.Code != 120
		c.writeLog(&Log{TS: manifest.TS{Time: ts}, UID: c.uid, ConnID: c.id, Command: "<greeting>",
			ReplyCode: r.Code, ReplyMsg: r.Message()})
		return
	}
	c.greeted = true
	if r.Code < 200 {
		if len(c.fifo) == 0 {
			c.unsolicited(r, ts)
			return
		}
		head := c.fifo[0]
		if head.prelim == nil {
			head.prelim = r
		}
		if t := head.xfer; t != nil {
			t.onPrelim(r)
		}
		return
	}
	if len(c.fifo) == 0 {
		c.unsolicited(r, ts)
		return
	}
	cmd := c.fifo[0]
	c.fifo[0] = nil
	c.fifo = c.fifo[1:]
	c.onPair(cmd, r, ts)
}

func (c *control) unsolicited(r *reply, ts time.Time) {
	c.unpaired++
	c.writeLog(&Log{TS: manifest.TS{Time: ts}, UID: c.uid, ConnID: c.id, User: c.user, Password: c.password(),
		Command: "<unsolicited>", ReplyCode: r.Code, ReplyMsg: r.Message()})
}

func (c *control) password() string {
	if c.pass != "" && c.redact {
		return Redacted
	}
	return c.pass
}

// logLine starts the log line of cmd paired with r (nil: no reply).
func (c *control) logLine(cmd *command, r *reply) *Log {
	l := &Log{TS: manifest.TS{Time: cmd.ts}, UID: c.uid, ConnID: c.id, User: c.user, Password: c.password(),
		Command: cmd.verb, Arg: cmd.arg, Note: cmd.note}
	if cmd.bad {
		l.Command = "<malformed>"
	}
	if cmd.verb == "PASS" && c.redact && l.Arg != "" {
		l.Arg = Redacted
	}
	if r != nil {
		l.ReplyCode, l.ReplyMsg = r.Code, r.Message()
		if r.Broken {
			l.Note = joinNote(l.Note, "reply cut by missing bytes")
		}
	}
	return l
}

func (c *control) onPair(cmd *command, r *reply, ts time.Time) {
	if t := cmd.xfer; t != nil {
		t.onFinal(r, ts)
		return
	}
	l := c.logLine(cmd, r)
	ok := r.Code >= 200 && r.Code < 400
	switch cmd.verb {
	case "USER":
		switch {
		case r.Code == 230:
			c.login(l, true, r, ts)
		case r.Code >= 400:
			c.login(l, false, r, ts)
		}
	case "PASS", "ACCT":
		switch {
		case r.Code == 230 || r.Code == 202:
			c.login(l, true, r, ts)
		case r.Code >= 400:
			c.login(l, false, r, ts)
		}
	case "REIN":
		if ok {
			c.user, c.pass, c.loggedIn = "", "", false
		}
	case "CWD", "XCWD":
		if ok {
			if p, found := parseQuotedPath(r.Text); found && r.Code == 250 && strings.HasPrefix(p, "/") {
				c.cwd = p
			} else if nd := resolve(c.cwd, cmd.arg); strings.HasPrefix(nd, "/") {
				c.cwd = nd
			} else {
				c.cwd = ""
			}
		}
		l.Arg = resolve(c.cwd, cmd.arg)
		if ok {
			l.Arg = c.cwd
		}
		l.RawArg = cmd.arg
	case "CDUP", "XCUP":
		if ok && c.cwd != "" {
			c.cwd = path.Dir(c.cwd)
		}
	case "PWD", "XPWD":
		if r.Code == 257 {
			if p, found := parseQuotedPath(r.Text); found {
				c.cwd = p
				l.Arg = p
			}
		}
	case "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNFR", "RNTO", "SIZE", "MDTM", "MLST", "SMNT":
		l.Arg, l.RawArg = resolve(c.cwd, cmd.arg), cmd.arg
		if cmd.verb == "SIZE" && r.Code == 213 {
			if n, found := parseSize(r.Text); found {
				c.remember(l.Arg, n, "")
				l.FileSize = &n
			}
		}
		if cmd.verb == "MDTM" && r.Code == 213 {
			c.remember(l.Arg, -1, strings.TrimSpace(r.Text))
		}
	case "PASV":
		if r.Code == 227 {
			ep, found := parsePASV(r.Text)
			if !found {
				l.Note = joinNote(l.Note, "malformed 227 reply")
				break
			}
			a := ep.Addr()
			if a.IsUnspecified() {
				ep = netip.AddrPortFrom(c.server, ep.Port())
				l.Note = joinNote(l.Note, "server announced 0.0.0.0: its own address is used")
			} else if a != c.server {
				l.Note = joinNote(l.Note, "server announced "+a.String()+", not its own address (NAT?)")
			}
			ch := c.announce(cmd, true, ep, ts)
			l.DataChannel = ch.dataChannel()
		}
	case "EPSV":
		if r.Code == 229 {
			port, a, found := parseEPSV(r.Text)
			if !found {
				l.Note = joinNote(l.Note, "malformed 229 reply")
				break
			}
			if !a.IsValid() || a.IsUnspecified() {
				a = c.server
			}
			ch := c.announce(cmd, true, netip.AddrPortFrom(a, port), ts)
			l.DataChannel = ch.dataChannel()
		}
	case "PORT", "EPRT":
		if ch := cmd.ch; ch != nil {
			l.DataChannel = ch.dataChannel()
			if r.Code >= 400 {
				ch.rejected = true
			}
		}
	case "TYPE":
		if r.Code >= 400 {
			c.ascii = cmd.prevType
		}
	case "MODE", "STRU":
		if ok {
			v := strings.ToUpper(strings.TrimSpace(cmd.arg))
			if v == "S" || v == "F" {
				v = ""
			}
			if cmd.verb == "MODE" {
				c.mode = v
			} else {
				c.stru = v
			}
		}
	case "REST":
		if r.Code >= 400 {
			if c.restCmd == cmd {
				c.rest, c.restCmd = 0, nil
			}
			if t := cmd.restXfer; t != nil && t.file() == nil {
				t.rest = 0
			}
		}
	case "AUTH":
		if r.Code == 234 {
			c.encrypted = true
			l.Note = joinNote(l.Note, "encrypted: the rest of the session is TLS and is not parsed")
			c.textf(ts, "** AUTH %s accepted: the rest of the session is encrypted (kept in the transcripts, not parsed)", printable(cmd.arg))
		}
	}
	c.writeLog(l)
}

func (c *control) login(l *Log, success bool, r *reply, ts time.Time) {
	c.logins++
	c.loggedIn = success
	who := c.user
	if success {
		l.Login = "success"
		c.textf(ts, "** login success: user %q", printable(who))
	} else {
		l.Login = "failure"
		c.failures++
		c.textf(ts, "** login FAILED: user %q (%d %s)", printable(who), r.Code, printable(clip(r.Text, 200)))
	}
}

func (c *control) remember(p string, size int64, mdtm string) {
	for i := range c.sizes {
		if c.sizes[i].path == p {
			if size >= 0 {
				c.sizes[i].size, c.sizes[i].ascii = size, c.ascii
			}
			if mdtm != "" {
				c.sizes[i].mdtm = mdtm
			}
			return
		}
	}
	if len(c.sizes) >= maxSizes {
		c.sizes = c.sizes[1:]
	}
	c.sizes = append(c.sizes, sizeInfo{path: p, size: size, ascii: c.ascii, mdtm: mdtm})
}

func (c *control) known(p string) (sizeInfo, bool) {
	for i := len(c.sizes) - 1; i >= 0; i-- {
		if c.sizes[i].path == p {
			return c.sizes[i], true
		}
	}
	return sizeInfo{size: -1}, false
}

// --- data endpoints ---

// channel is one announced data endpoint (227/229 reply, PORT/EPRT
// command) and, once they appear, the transfer command that uses it and
// the connection that reaches it.
type channel struct {
	c          *control
	verb       string
	seq        int // the announcing command
	passive    bool
	ep         netip.AddrPort
	ts         time.Time
	xfer       *transfer
	data       *dataConn
	superseded bool // a later announcement replaced it before any transfer used it
	rejected   bool // the server refused PORT/EPRT
}

func (ch *channel) dataChannel() *DataChannel {
	dc := &DataChannel{Passive: ch.passive, RespH: ch.ep.Addr(), RespP: ch.ep.Port()}
	if ch.passive {
		dc.OrigH = ch.c.client
	} else {
		dc.OrigH = ch.c.server
	}
	return dc
}

// announce records a data endpoint and registers the expectation that
// catches its connection. The connection usually opens right after the
// announcement, before the transfer command: binding to the command is
// separate (bind).
func (c *control) announce(cmd *command, passive bool, ep netip.AddrPort, ts time.Time) *channel {
	ch := &channel{c: c, verb: cmd.verb, seq: cmd.seq, passive: passive, ep: ep, ts: ts}
	if old := c.cur; old != nil && old.xfer == nil {
		old.superseded = true
		if d := old.data; d != nil && d.closed {
			d.finishUnbound()
		}
	}
	c.cur = ch
	// A transfer command sent before this announcement was parsed
	// (pipelined after PASV) binds to it.
	for i, t := range c.unbound {
		if t.cmd.seq > cmd.seq {
			c.unbound = append(c.unbound[:i], c.unbound[i+1:]...)
			c.bind(t, ch)
			break
		}
	}
	x := &extractors.Expectation{
		Resp:    ep,
		Peers:   [2]netip.Addr{c.client, c.server},
		Expires: ts.Add(expectTTL),
		Owner:   c.uid,
		New:     ch.newData,
	}
	if passive {
		x.Orig = c.client
	} else {
		x.Orig = c.server
	}
	c.out.Expect(x)
	if len(c.chans) >= maxChannels {
		c.logUnmatched(c.chans[0], "no longer tracked (too many announcements)")
		c.chans = c.chans[1:]
	}
	c.chans = append(c.chans, ch)
	mode := "active"
	if passive {
		mode = "passive"
	}
	c.textf(ts, "** %s data endpoint %s announced (%s)", mode, ep, cmd.verb)
	return ch
}

// bind joins a transfer command and the endpoint it uses.
func (c *control) bind(t *transfer, ch *channel) {
	t.ch, ch.xfer = ch, t
	if c.cur == ch {
		c.cur = nil
	}
	if d := ch.data; d != nil {
		d.bound()
	}
}

// newData is the Expectation's New: the handler of the data connection
// that reached the endpoint. nil leaves the connection to the
// transcripts (its session is over).
//
// The Mux asks at the connection's first segment that reaches the
// assembler. A connection that comes after its transfer was finished, or
// after the control connection closed (a connection that never carried a
// byte may be handed over only when it ends), is late: whatever it carries
// is saved and logged as data no transfer claimed.
func (ch *channel) newData(s *engine.Session) engine.Handler {
	c := ch.c
	if c.failed || ch.data != nil {
		return nil
	}
	d := &dataConn{c: c, ch: ch, es: s, uid: s.Conn.UID, id: connID(s)}
	d.late = c.closed || (ch.xfer != nil && ch.xfer.done)
	ch.data = d
	c.dataOpen++
	for i, x := range c.chans {
		if x == ch {
			c.chans = append(c.chans[:i], c.chans[i+1:]...)
			break
		}
	}
	late := ""
	if d.late {
		late = " (late: its transfer or session had already ended)"
	}
	c.textf(s.Conn.First, "** data connection %s %s -> %s reached the endpoint announced by %s%s",
		d.uid, s.Conn.Orig, s.Conn.Resp, ch.verb, late)
	if ch.xfer != nil && !d.late {
		d.bound()
	}
	return d
}

func (c *control) logUnmatched(ch *channel, why string) {
	l := &Log{TS: manifest.TS{Time: ch.ts}, UID: c.uid, ConnID: c.id, User: c.user, Password: c.password(),
		Command: ch.verb, DataChannel: ch.dataChannel(), Note: "unmatched: " + why}
	if ch.rejected {
		l.Note += " (the server refused it)"
	}
	if t := ch.xfer; t != nil {
		l.Arg = t.path
		l.Note += "; used by " + t.verb
	}
	c.writeLog(l)
}

// --- close ---

func (c *control) close(ts time.Time) {
	if c.closed {
		return
	}
	if c.textTS.After(ts) {
		ts = c.textTS
	}
	for _, cmd := range c.fifo {
		c.unpaired++
		if cmd.xfer != nil {
			cmd.xfer.noReply = true
			continue
		}
		l := c.logLine(cmd, nil)
		l.Note = joinNote(l.Note, "no reply")
		if c.encrypted {
			l.Note = joinNote(l.Note, "encrypted")
		}
		c.writeLog(l)
	}
	c.fifo = nil
	c.closed = true
	for _, ch := range c.chans {
		c.logUnmatched(ch, "no connection reached the announced endpoint")
	}
	c.chans = nil
	if c.encrypted {
		c.textf(ts, "** encrypted after AUTH: %d client and %d server bytes not parsed", c.encBytes[0], c.encBytes[1])
	}
	c.textf(ts, "** session end: %d commands, %d replies, %d unpaired, %d login attempts (%d failed), %d transfers",
		c.commands, c.replies, c.unpaired, c.logins, c.failures, c.nxfer)
	for _, d := range append([]*dataConn(nil), c.unboundD...) {
		if d.closed {
			d.finishUnbound()
		}
	}
	for _, t := range append([]*transfer(nil), c.xfers...) {
		c.maybeFinish(t)
	}
	c.maybeCloseText()
}

// maybeCloseText ends the session transcript once the control connection
// and every transfer and data connection it announced are finished.
func (c *control) maybeCloseText() {
	if !c.closed || c.textDone || len(c.xfers) > 0 || c.dataOpen > 0 || len(c.unboundD) > 0 {
		return
	}
	c.textDone = true
	if c.text != nil {
		if _, err := c.text.Close(sink.Complete, ""); err != nil {
			c.fail(err)
		}
		c.text = nil
	}
}

// --- outputs ---

func (c *control) writeLog(l *Log) {
	if c.failed {
		return
	}
	if err := c.out.Log(l); err != nil {
		c.fail(err)
	}
}

// textf appends one line to the session transcript, created at the first
// line. The transcript goes through the sink as
// files/ftp-sessions/<uid>-session.txt (Source FTP_SESSION).
func (c *control) textf(ts time.Time, format string, args ...any) {
	if c.failed || c.textDone {
		return
	}
	if c.text == nil {
		if ts.IsZero() && c.es != nil && c.es.Conn != nil {
			ts = c.es.Conn.First
		}
		f, err := c.out.Create(sink.Meta{UID: c.uid, Conn: c.id, Source: "FTP_SESSION", Subdir: "ftp-sessions",
			Name: "session.txt", ExpectedSize: -1, TS: ts,
			Extra: map[string]any{"kind": "session transcript"}})
		if err != nil {
			c.fail(err)
			return
		}
		c.text = f
		head := fmt.Sprintf("# FTP session %s: client %s, server %s\n", c.uid,
			netip.AddrPortFrom(c.id.OrigH, c.id.OrigP), netip.AddrPortFrom(c.id.RespH, c.id.RespP))
		if _, err := f.Write([]byte(head)); err != nil {
			c.fail(err)
			return
		}
	}
	if !ts.IsZero() {
		c.textTS = ts
		c.text.SetLastTS(ts)
	}
	line := stamp(c.textTS) + " " + fmt.Sprintf(format, args...) + "\n"
	if _, err := c.text.Write([]byte(line)); err != nil {
		c.fail(err)
	}
}
