package ftp

import (
	"fmt"
	"strings"
	"time"

	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// transfer is one transfer command (RETR, STOR, APPE, STOU, LIST, NLST,
// MLSD) from the moment it is parsed to the moment both its final reply
// and its data connection are known; then it closes its file and writes
// its ftp.jsonl line and transcript annotation (finish).
type transfer struct {
	c    *control
	cmd  *command
	n    int // 1, 2... within the session
	verb string
	// path is the full server path (resolved at the command, against the
	// working directory then); name is the file name the manifest gets:
	// the last element of the argument as sent, the server's choice for
	// STOU, "listing-<uid>-<n>.txt" for listings.
	path, name string
	stouArg    string
	upload     bool // STOR, APPE, STOU: client to server
	listing    bool
	ascii      bool
	mode, stru string // MODE B/C, STRU R/P: the bytes are framed, not the file
	rest       int64
	expected   int64 // size the file must have, -1 unknown
	announced  int64 // "150 ... (N bytes)", -1 if none
	user       string
	ch         *channel
	prelim     *reply
	final      *reply
	noReply    bool // the final reply will never be seen
	aborted    bool // ABOR was sent before the final reply
	done       bool
}

func (c *control) newTransfer(cmd *command) {
	c.nxfer++
	t := &transfer{c: c, cmd: cmd, n: c.nxfer, verb: cmd.verb, expected: -1, announced: -1,
		user: c.user, ascii: c.ascii, mode: c.mode, stru: c.stru}
	switch cmd.verb {
	case "STOR", "APPE", "STOU":
		t.upload = true
	case "LIST", "NLST", "MLSD":
		t.listing = true
	}
	switch {
	case t.listing:
		t.path = resolve(c.cwd, listArg(cmd.arg))
		t.name = fmt.Sprintf("listing-%s-%d.txt", c.uid, t.n)
	case cmd.verb == "STOU":
		// The server chooses the name (150 FILE: ...); the argument, if
		// any, is only a suggestion.
		t.stouArg = cmd.arg
		if cmd.arg != "" {
			t.path, t.name = resolve(c.cwd, cmd.arg), baseName(cmd.arg)
		}
	default:
		t.path, t.name = resolve(c.cwd, cmd.arg), baseName(cmd.arg)
	}
	if c.restCmd != nil {
		t.rest = c.rest
		c.restCmd.restXfer = t
		c.rest, c.restCmd = 0, nil
	}
	if !t.upload && !t.listing && !t.ascii {
		if si, ok := c.known(t.path); ok && si.size >= 0 && !si.ascii {
			t.expected = si.size
		}
	}
	cmd.xfer = t
	c.xfers = append(c.xfers, t)
	if ch := c.cur; ch != nil && ch.xfer == nil && ch.seq < cmd.seq {
		c.bind(t, ch)
		return
	}
	if len(c.unbound) >= maxUnbound {
		c.unbound = c.unbound[1:]
	}
	c.unbound = append(c.unbound, t)
}

// dir is the data connection's direction that carries the file: the
// sender is the server for downloads and the client for uploads, and the
// data connection's originator is the client in passive mode and the
// server in active mode.
func (t *transfer) dir() int {
	passive := t.ch == nil || t.ch.passive
	if t.upload == passive {
		return 0
	}
	return 1
}

func (t *transfer) direction() string {
	if t.upload {
		return "upload"
	}
	return "download"
}

func (t *transfer) transferType() string {
	if t.ascii {
		return "ascii"
	}
	return "binary"
}

// file is the transfer's open file, if its data has started.
func (t *transfer) file() fileOut {
	if t.ch == nil || t.ch.data == nil {
		return nil
	}
	return t.ch.data.files[t.dir()]
}

// onPrelim takes a 1xx reply to the transfer command.
//
//	150 Opening BINARY mode data connection for report.pdf (409112 bytes).
//	150 FILE: ftpd.c5_yy34p
//	125 Data connection already open; transfer starting.
func (t *transfer) onPrelim(r *reply) {
	if t.prelim == nil {
		t.prelim = r
	}
	if n, ok := parseSizeInReply(r.Text); ok {
		t.announced = n
		if !t.upload && !t.listing && !t.ascii && t.rest == 0 && t.expected < 0 {
			t.expected = n
		}
	}
	if t.verb == "STOU" {
		t.stouName(r.Text)
	}
	if t.ch != nil && t.ch.data != nil {
		t.ch.data.release(false)
	}
}

func (t *transfer) stouName(text string) {
	name, ok := parseSTOUName(text)
	if !ok {
		return
	}
	t.path = resolve(t.c.cwd, name)
	if t.file() == nil {
		t.name = baseName(name)
	}
}

// onFinal takes the final reply (2xx-5xx) to the transfer command.
func (t *transfer) onFinal(r *reply, ts time.Time) {
	t.final = r
	if t.verb == "STOU" && (t.name == "" || t.stouArg == t.name) {
		t.stouName(r.Text)
	}
	if t.ch != nil && t.ch.data != nil {
		t.ch.data.release(false)
	}
	t.c.maybeFinish(t)
}

// positive: the server said the transfer went through.
func (t *transfer) positive() bool {
	return t.final != nil && t.final.Code >= 200 && t.final.Code < 300 && !t.aborted
}

// outcome decides the file's state from what the control channel and the
// data connection said. The sink still downgrades a complete file with a
// hole or the wrong size.
func (t *transfer) outcome(d *dataConn, f fileOut) (sink.State, string) {
	fd := t.dir()
	// ABOR after the last byte: the server may still answer 226 to the
	// transfer; believe it only when the size is known to be right.
	finishedAnyway := t.aborted && t.final != nil && t.final.Code/100 == 2 && t.expected >= 0 && f.Size() == t.expected
	switch {
	case t.aborted && !finishedAnyway:
		r := "aborted (ABOR)"
		if t.final != nil {
			r += fmt.Sprintf("; %d %s", t.final.Code, clip(t.final.Text, 200))
		}
		return sink.Truncated, r
	case t.final != nil && t.final.Code >= 300:
		return sink.Truncated, fmt.Sprintf("%d %s", t.final.Code, clip(t.final.Text, 200))
	case t.final == nil && d.end[fd] != "fin":
		why := d.end[fd]
		if why == "rst" {
			why = "connection reset"
		}
		if why == "" {
			why = "not ended"
		}
		return sink.Truncated, "no final reply; data connection ended: " + why
	}
	if t.mode != "" || t.stru != "" {
		// Block or compressed mode, record or page structure: what the
		// connection carried is framed, not the file. Kept as sent; a hash
		// of it must not pass for the file's.
		return sink.Truncated, fmt.Sprintf("MODE %s STRU %s: saved as sent, framing not decoded", or(t.mode, "S"), or(t.stru, "F"))
	}
	if n := d.missing[fd]; n > 0 {
		return sink.Truncated, fmt.Sprintf("%s: %d bytes missing from the capture", sink.ReasonGap, n)
	}
	if t.rest > 0 {
		return sink.Truncated, fmt.Sprintf("partial: transfer restarted at offset %d (REST)", t.rest)
	}
	if t.expected >= 0 && f.Size() != t.expected {
		if f.Size() < t.expected {
			return sink.Truncated, fmt.Sprintf("%s: %d of %d bytes announced", sink.ReasonShort, f.Size(), t.expected)
		}
		return sink.Truncated, fmt.Sprintf("%s: %d bytes, %d announced", sink.ReasonLong, f.Size(), t.expected)
	}
	return sink.Complete, ""
}

// maybeFinish finishes t once its final reply is known (or never will
// be) and its data connection, if any reached the endpoint, is closed.
func (c *control) maybeFinish(t *transfer) {
	if t.done {
		return
	}
	if t.final == nil && !t.noReply && !c.closed {
		return
	}
	if t.ch != nil && t.ch.data != nil && !t.ch.data.closed {
		return
	}
	if t.ch != nil && t.ch.data == nil && t.positive() && !c.closed {
		// The server says it went through, but no connection has reached
		// the endpoint yet: one that carried no byte (an empty file or
		// listing) may be handed over only when it ends. Wait for it, or
		// for the end of the session.
		return
	}
	t.finish()
}

func (t *transfer) finish() {
	c := t.c
	t.done = true
	c.xfers = remove(c.xfers, t)
	c.unbound = remove(c.unbound, t)

	l := c.logLine(t.cmd, t.final)
	l.User = t.user
	l.Arg, l.RawArg = t.path, t.cmd.arg
	l.Direction, l.TransferType, l.Rest = t.direction(), t.transferType(), t.rest
	if t.expected >= 0 {
		l.ExpectedSize = new(t.expected)
	} else if t.announced >= 0 {
		l.ExpectedSize = new(t.announced)
	}
	var d *dataConn
	if t.ch != nil {
		l.DataChannel = t.ch.dataChannel()
		d = t.ch.data
	}
	var e *manifest.Entry
	if d != nil {
		l.DataUID = d.uid
		e = d.finishTransfer(t)
		if n := d.other; n > 0 {
			l.Note = joinNote(l.Note, fmt.Sprintf("%d bytes sent the other way on the data connection", n))
		}
	}
	switch {
	case e != nil:
		l.FUID, l.Extracted, l.State, l.Reason = e.FUID, e.Extracted, e.State, e.Reason
		l.SHA256, l.MIMEType = e.SHA256, e.MIMEType
		l.FileSize = new(e.SeenBytes)
	case t.ch == nil:
		l.Note = joinNote(l.Note, "no data endpoint was announced for it")
	case d == nil:
		l.Note = joinNote(l.Note, "no data connection reached its endpoint (not in the capture)")
	default:
		l.Note = joinNote(l.Note, "nothing transferred")
	}
	if t.noReply {
		l.Note = joinNote(l.Note, "no final reply")
	}
	if t.aborted {
		l.Note = joinNote(l.Note, "aborted (ABOR)")
	}
	if t.listing && d != nil && d.list != nil {
		l.Entries = new(d.list.entries)
	}
	c.writeLog(l)
	c.annotate(t, d, e)
	c.maybeCloseText()
}

// annotate writes the transfer's outcome into the session transcript:
//
//	** RETR /pub/report.pdf → 409 112 bytes, complete, sha256 …
func (c *control) annotate(t *transfer, d *dataConn, e *manifest.Entry) {
	var b strings.Builder
	where := t.path
	if where == "" {
		where = "(working directory)"
	}
	fmt.Fprintf(&b, "** %s %s → ", t.verb, printable(where))
	switch {
	case e != nil:
		if t.listing && d.list != nil {
			fmt.Fprintf(&b, "%d entries, ", d.list.entries)
		}
		fmt.Fprintf(&b, "%s bytes, %s", groupDigits(e.SeenBytes), e.State)
		if e.Reason != "" {
			fmt.Fprintf(&b, " (%s)", e.Reason)
		}
		if e.SHA256 != "" {
			fmt.Fprintf(&b, ", sha256 %s", e.SHA256)
		}
		fmt.Fprintf(&b, ", saved as %s (%s)", e.Extracted, e.FUID)
	case t.final != nil:
		fmt.Fprintf(&b, "no file: %d %s", t.final.Code, printable(clip(t.final.Text, 200)))
	default:
		b.WriteString("no file: no final reply")
	}
	if t.ch != nil {
		mode := "active"
		if t.ch.passive {
			mode = "passive"
		}
		if d != nil {
			fmt.Fprintf(&b, "; %s data connection %s", mode, d.uid)
		} else {
			fmt.Fprintf(&b, "; no connection reached the %s endpoint %s", mode, t.ch.ep)
		}
	}
	if t.ascii {
		b.WriteString("; ASCII mode")
	}
	if t.user != "" {
		fmt.Fprintf(&b, "; user %q", printable(t.user))
	}
	ts := t.cmd.ts
	if d != nil && !d.lastTS.IsZero() {
		ts = d.lastTS
	}
	c.textf(ts, "%s", b.String())
	if t.listing && d != nil && d.list != nil {
		for _, s := range d.list.sample {
			c.textf(ts, "   | %s", printable(s))
		}
		if d.list.entries > len(d.list.sample) {
			c.textf(ts, "   | ... %d more", d.list.entries-len(d.list.sample))
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func remove[T comparable](list []T, x T) []T {
	for i, y := range list {
		if y == x {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}
