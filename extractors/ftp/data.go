package ftp

import (
	"fmt"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// maxHold bounds the bytes a data connection holds while no transfer
// command has claimed it yet. Past it, the bytes go to a file named by
// the sink ("F000012.bin"); a command that claims the connection later
// still gets that file, under the generic name.
const maxHold = 256 << 10

// maxHeldEvents bounds the number of held events (gaps carry no bytes).
const maxHeldEvents = 1024

// held is one event kept while the data connection is not bound.
type held struct {
	dir  int
	data []byte // nil: a gap of n bytes
	n    int64
	ts   time.Time
}

// dataConn is the handler of one data connection, made by the
// expectation its channel registered. It owns the connection's files
// (one for the direction that carries the transfer; a direction that
// carries bytes before any command claimed the connection may get a
// generic one) and what it holds while unbound. Data's slice is copied
// when held and written to the sink otherwise.
type dataConn struct {
	c   *control
	ch  *channel
	es  *engine.Session
	uid string
	id  manifest.ConnID

	isBound  bool
	late     bool // matched after its transfer or session ended: never bound
	finished bool // unbound: files closed, logged
	closed   bool

	held      []held
	heldBytes int

	files   [2]fileOut
	generic [2]bool // files[d] was made before a command claimed the connection
	done    [2]bool // files[d] closed

	seen    [2]int64
	missing [2]int64
	other   int64 // bytes in the direction opposite the transfer's
	end     [2]string
	firstTS time.Time
	lastTS  time.Time
	list    *listing
}

func (d *dataConn) failed() bool { return d.c.failed }

func (d *dataConn) fail(err error) {
	if err == nil {
		return
	}
	d.c.failed = true
	if d.es != nil {
		d.es.Fail(err)
	} else {
		d.c.fail(err)
	}
}

// Data implements engine.Handler.
func (d *dataConn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	d.seen[dir] += int64(len(data))
	d.touch(ts)
	if len(data) > 0 {
		d.event(dir, data, 0, ts)
	}
}

// Gap implements engine.Handler.
func (d *dataConn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	d.missing[dir] += n
	d.touch(ts)
	if n > 0 {
		d.event(dir, nil, n, ts)
	}
}

// event routes bytes (or a gap: data == nil) to the transfer's file, to a
// generic file, or to the hold.
func (d *dataConn) event(dir int, data []byte, n int64, ts time.Time) {
	if d.failed() {
		return
	}
	if d.isBound && d.ready() {
		d.release(false)
		d.put(dir, data, n, ts)
		return
	}
	if d.heldBytes+len(data) > maxHold || len(d.held) >= maxHeldEvents {
		if d.isBound {
			d.release(true)
			d.put(dir, data, n, ts)
			return
		}
		if d.files[dir] == nil {
			d.spill(dir, ts)
		}
	}
	if !d.isBound && d.files[dir] != nil {
		if data == nil {
			d.files[dir].Gap(n)
		} else {
			d.write(dir, data, ts)
		}
		return
	}
	if data != nil {
		data = append([]byte(nil), data...)
	}
	d.held = append(d.held, held{dir: dir, data: data, n: n, ts: ts})
	d.heldBytes += len(data)
}

// End implements engine.Handler.
func (d *dataConn) End(s *engine.Session, dir int, reason string, ts time.Time) {
	d.end[dir] = reason
}

// Close implements engine.Handler.
func (d *dataConn) Close(s *engine.Session) {
	if d.closed {
		return
	}
	d.closed = true
	c := d.c
	c.dataOpen--
	if d.isBound {
		d.release(true)
		t := d.ch.xfer
		if o := 1 - t.dir(); d.files[o] != nil && !d.done[o] {
			d.closeGeneric(o)
		}
		c.maybeFinish(t)
	} else if d.late || d.ch.superseded || c.closed {
		d.finishUnbound()
	} else {
		c.unboundD = append(c.unboundD, d)
	}
	c.maybeCloseText()
}

func (d *dataConn) touch(ts time.Time) {
	if d.firstTS.IsZero() {
		d.firstTS = ts
	}
	if ts.After(d.lastTS) {
		d.lastTS = ts
	}
}

// bound is called once the connection and its transfer command are both
// known: what was held goes to the transfer's file.
func (d *dataConn) bound() {
	if d.isBound {
		return
	}
	d.isBound = true
	d.c.unboundD = remove(d.c.unboundD, d)
	t := d.ch.xfer
	if t.listing {
		d.list = &listing{}
	}
	d.release(false)
	if d.closed {
		d.release(true)
		if o := 1 - t.dir(); d.files[o] != nil && !d.done[o] {
			d.closeGeneric(o)
		}
		d.c.maybeFinish(t)
	}
}

// ready says whether a bound connection's bytes may go to the file: once
// the server has answered the transfer command (its 150 reply usually
// gives the size the file is created with), or when no answer is to be
// waited for.
func (d *dataConn) ready() bool {
	t := d.ch.xfer
	return t.prelim != nil || t.final != nil || t.noReply || d.closed || d.c.closed
}

// release hands what was held to the transfer's file, when ready (or
// forced: the hold is full, the connection closed).
func (d *dataConn) release(force bool) {
	if !d.isBound || (!force && !d.ready()) {
		return
	}
	held := d.held
	d.held, d.heldBytes = nil, 0
	for _, h := range held {
		d.put(h.dir, h.data, h.n, h.ts)
	}
}

// put takes bytes (or a gap, data == nil) of a bound connection.
func (d *dataConn) put(dir int, data []byte, n int64, ts time.Time) {
	t := d.ch.xfer
	if d.done[dir] {
		return
	}
	if dir != t.dir() && d.files[dir] == nil {
		d.other += int64(len(data))
		return
	}
	if d.files[dir] == nil {
		d.open(dir, t, ts)
		if d.files[dir] == nil {
			return
		}
	}
	if data == nil {
		d.files[dir].Gap(n)
		if d.list != nil && dir == t.dir() {
			d.list.gap()
		}
		return
	}
	d.write(dir, data, ts)
	if d.list != nil && dir == t.dir() {
		d.list.feed(data)
	}
}

func (d *dataConn) write(dir int, data []byte, ts time.Time) {
	f := d.files[dir]
	if f == nil || d.done[dir] {
		return
	}
	if _, err := f.Write(data); err != nil {
		d.fail(err)
		return
	}
	f.SetLastTS(ts)
}

// open creates the file of transfer t in direction dir.
func (d *dataConn) open(dir int, t *transfer, ts time.Time) {
	if d.done[dir] || d.failed() {
		return
	}
	c := d.c
	mode := "active"
	if d.ch.passive {
		mode = "passive"
	}
	extra := map[string]any{
		"control_uid":   c.uid,
		"direction":     t.direction(),
		"data_channel":  mode,
		"transfer_type": t.transferType(),
	}
	if t.user != "" {
		extra["user"] = t.user
	}
	if t.rest > 0 {
		extra["rest"] = t.rest
	}
	if t.stouArg != "" {
		extra["stou_arg"] = t.stouArg
	}
	if t.listing {
		extra["listing"] = true
	}
	if t.mode != "" {
		extra["mode"] = t.mode
	}
	if t.stru != "" {
		extra["structure"] = t.stru
	}
	f, err := c.out.Create(sink.Meta{UID: d.uid, Conn: d.id, IsOrig: dir == 0, Source: "FTP_DATA", Subdir: "ftp",
		Name: t.name, ServerPath: t.path, Command: t.verb, ExpectedSize: t.expected, TS: ts, Extra: extra})
	if err != nil {
		d.fail(err)
		return
	}
	d.files[dir] = f
	if t.rest > 0 {
		// The piece belongs at the REST offset: bytes before it were not
		// transferred here and stay a hole.
		f.Gap(t.rest)
	}
}

// spill makes a generic file for direction dir of an unbound connection
// and moves the held bytes of that direction into it.
func (d *dataConn) spill(dir int, ts time.Time) {
	c := d.c
	mode := "active"
	if d.ch.passive {
		mode = "passive"
	}
	f, err := c.out.Create(sink.Meta{UID: d.uid, Conn: d.id, IsOrig: dir == 0, Source: "FTP_DATA", Subdir: "ftp",
		ExpectedSize: -1, TS: ts, Extra: map[string]any{"control_uid": c.uid, "data_channel": mode,
			"announced_by": d.ch.verb, "bound": false}})
	if err != nil {
		d.fail(err)
		return
	}
	d.files[dir], d.generic[dir] = f, true
	keep := d.held[:0]
	for _, h := range d.held {
		switch {
		case h.dir != dir:
			keep = append(keep, h)
		case h.data == nil:
			f.Gap(h.n)
		default:
			d.heldBytes -= len(h.data)
			d.write(dir, h.data, h.ts)
		}
	}
	for i := len(keep); i < len(d.held); i++ {
		d.held[i] = held{}
	}
	d.held = keep
}

// finishTransfer closes the transfer's file (creating an empty one for a
// successful transfer of zero bytes) and returns its manifest entry, or
// nil when there is no file.
func (d *dataConn) finishTransfer(t *transfer) *manifest.Entry {
	fd := t.dir()
	if d.done[fd] || d.failed() {
		return nil
	}
	if d.files[fd] == nil {
		if !t.positive() {
			return nil
		}
		d.open(fd, t, d.firstOr(t.cmd.ts))
		if d.files[fd] == nil {
			return nil
		}
	}
	f := d.files[fd]
	if d.list != nil {
		d.list.end() // a last line without line end
	}
	state, reason := t.outcome(d, f)
	e, err := f.Close(state, reason)
	d.done[fd] = true
	if err != nil {
		d.fail(err)
		return nil
	}
	return &e
}

func (d *dataConn) firstOr(ts time.Time) time.Time {
	if !d.firstTS.IsZero() {
		return d.firstTS
	}
	return ts
}

// closeGeneric closes a generic file: complete if its sender ended the
// direction with a FIN, truncated otherwise.
func (d *dataConn) closeGeneric(dir int) *manifest.Entry {
	f := d.files[dir]
	if f == nil || d.done[dir] || d.failed() {
		return nil
	}
	state, reason := sink.Complete, ""
	if d.end[dir] != "fin" {
		state, reason = sink.Truncated, "data connection ended: "+d.end[dir]
	}
	e, err := f.Close(state, reason)
	d.done[dir] = true
	if err != nil {
		d.fail(err)
		return nil
	}
	l := &Log{TS: manifest.TS{Time: d.firstOr(d.ch.ts)}, UID: d.c.uid, ConnID: d.c.id, User: d.c.user,
		Password: d.c.password(), Command: d.ch.verb, DataChannel: d.ch.dataChannel(), DataUID: d.uid,
		FUID: e.FUID, Extracted: e.Extracted, State: e.State, Reason: e.Reason, SHA256: e.SHA256,
		MIMEType: e.MIMEType, FileSize: new(e.SeenBytes),
		Note: fmt.Sprintf("data (%s to %s) that no transfer command claimed", dirName(d, dir, 0), dirName(d, dir, 1))}
	d.c.writeLog(l)
	d.c.textf(d.lastTS, "** data connection %s: %s bytes no transfer command claimed, %s, saved as %s (%s)",
		d.uid, groupDigits(e.SeenBytes), e.State, e.Extracted, e.FUID)
	return &e
}

func dirName(d *dataConn, dir, which int) string {
	orig, resp := d.es.Conn.Orig.String(), d.es.Conn.Resp.String()
	if (dir == 0) == (which == 0) {
		return orig
	}
	return resp
}

// finishUnbound ends a data connection no transfer command claimed:
// whatever it carried is saved under a generic name and logged.
func (d *dataConn) finishUnbound() {
	if d.finished || d.isBound {
		return
	}
	d.finished = true
	d.c.unboundD = remove(d.c.unboundD, d)
	for dir := 0; dir < 2; dir++ {
		if d.files[dir] == nil && d.seen[dir] > 0 {
			d.spill(dir, d.firstOr(d.ch.ts))
		}
		d.closeGeneric(dir)
	}
	d.held, d.heldBytes = nil, 0
	if d.seen[0] == 0 && d.seen[1] == 0 {
		note := "data connection carried nothing and no transfer command claimed it"
		if t := d.ch.xfer; t != nil {
			note = fmt.Sprintf("empty data connection of %s %s, handed over after that transfer was finished", t.verb, t.path)
		}
		l := &Log{TS: manifest.TS{Time: d.firstOr(d.ch.ts)}, UID: d.c.uid, ConnID: d.c.id, User: d.c.user,
			Password: d.c.password(), Command: d.ch.verb, DataChannel: d.ch.dataChannel(), DataUID: d.uid, Note: note}
		if t := d.ch.xfer; t != nil {
			l.Arg = t.path
		}
		d.c.writeLog(l)
		d.c.textf(d.lastTS, "** data connection %s: %s", d.uid, note)
	}
	d.c.maybeCloseText()
}
