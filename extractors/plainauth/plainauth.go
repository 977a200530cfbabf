package plainauth

import (
	"bytes"
	"encoding/base64"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/manifest"
)

// Redacted replaces passwords when the extractors' RedactPasswords is set.
const Redacted = "<redacted>"

// Services are the services plainauth has an observer for.
func Services() []string { return []string{"smtp", "pop3", "imap", "telnet"} }

// Protocol observes the logins of one service. It has no state of its own.
type Protocol struct {
	service string
	report  func(Event)
}

// New returns the observer of service ("smtp", "pop3", "imap" or
// "telnet"), reporting every event to report. Any other service gives a
// Protocol whose handlers see nothing.
func New(service string, report func(Event)) *Protocol {
	return &Protocol{service: service, report: report}
}

// Service implements extractors.Protocol.
func (p *Protocol) Service() string { return p.service }

// New implements extractors.Protocol.
func (p *Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler {
	c := &conn{report: p.report, service: p.service}
	c.base = Event{UID: s.Conn.UID, Service: p.service, ConnID: manifest.ConnID{
		OrigH: s.Conn.Orig.Addr(), OrigP: s.Conn.Orig.Port(), RespH: s.Conn.Resp.Addr(), RespP: s.Conn.Resp.Port()}}
	c.redact = env != nil && env.Options.RedactPasswords
	switch p.service {
	case "smtp":
		c.m = &smtp{c: c}
	case "pop3":
		c.m = &pop3{c: c}
	case "imap":
		c.m = &imap{c: c}
	case "telnet":
		c.m = &telnet{c: c}
	default:
		return nil
	}
	return c
}

// machine is one protocol's state machine. Line-based ones get whole
// lines (CR LF removed) through clientLine/serverLine; telnet takes the
// raw bytes.
type machine interface {
	data(dir int, b []byte, ts time.Time)
	gap(dir int)
	close()
}

// conn is the handler of one connection.
type conn struct {
	service string
	report  func(Event)
	base    Event
	redact  bool
	m       machine
	stopped bool // after STARTTLS: the rest is TLS
	pending *Event
}

// Data implements engine.Handler.
func (c *conn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if !c.stopped {
		c.m.data(dir, data, ts)
	}
}

// Gap implements engine.Handler: partial lines and pending dialogue state
// are dropped; parsing resumes at the next line.
func (c *conn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if !c.stopped {
		c.m.gap(dir)
	}
}

// End implements engine.Handler.
func (c *conn) End(s *engine.Session, dir int, reason string, ts time.Time) {}

// Close implements engine.Handler: a login still waiting for its reply is
// reported with an unknown outcome.
func (c *conn) Close(s *engine.Session) {
	if !c.stopped {
		c.m.close()
	}
	c.flush(Unknown, "")
}

// login records credentials sent; the next decisive reply settles them.
// A login still pending is reported first, outcome unknown.
func (c *conn) login(ts time.Time, mech, user, pass string) {
	c.flush(Unknown, "")
	ev := c.base
	ev.TS, ev.Kind, ev.Mechanism, ev.User, ev.Password = ts, KindLogin, mech, user, pass
	if c.redact && pass != "" {
		ev.Password = Redacted
	}
	c.pending = &ev
}

// flush reports the pending login with its outcome.
func (c *conn) flush(outcome, reply string) {
	if c.pending == nil {
		return
	}
	ev := *c.pending
	c.pending = nil
	ev.Outcome = outcome
	if len(reply) > 200 {
		reply = reply[:200]
	}
	ev.Reply = reply
	if c.report != nil {
		c.report(ev)
	}
}

// startTLS reports the switch to TLS and stops parsing.
func (c *conn) startTLS(ts time.Time, mech, reply string) {
	c.flush(Unknown, "")
	ev := c.base
	ev.TS, ev.Kind, ev.Mechanism, ev.Reply = ts, KindStartTLS, mech, reply
	c.stopped = true
	if c.report != nil {
		c.report(ev)
	}
}

// --- lines ---

// maxLine bounds a line; a longer one is dropped whole.
const maxLine = 4096

// lineReader splits one direction into lines. It can be told to skip raw
// bytes (SMTP BDAT chunks) or to capture them (IMAP literals).
type lineReader struct {
	buf    []byte
	over   bool // the current line passed maxLine: drop it
	resync bool // after a gap: drop up to the next line end
	skip   int
	// capture, when set, gets the next want raw bytes (an IMAP literal).
	want    int
	capture func(b []byte)
	capBuf  []byte
}

func (r *lineReader) gap() {
	r.buf, r.over, r.resync, r.skip, r.want, r.capture, r.capBuf = r.buf[:0], false, true, 0, 0, nil, nil
}

// feed splits data into lines, calling f with each (without CR LF). f may
// set skip or want/capture; they apply to the bytes after the line.
func (r *lineReader) feed(data []byte, f func(line []byte)) {
	for len(data) > 0 {
		if r.skip > 0 {
			n := min(r.skip, len(data))
			r.skip -= n
			data = data[n:]
			continue
		}
		if r.want > 0 {
			n := min(r.want, len(data))
			r.capBuf = append(r.capBuf, data[:n]...)
			r.want -= n
			data = data[n:]
			if r.want == 0 && r.capture != nil {
				cb, b := r.capture, r.capBuf
				r.capture, r.capBuf = nil, nil
				cb(b)
			}
			continue
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !r.over && !r.resync {
				if len(r.buf)+len(data) > maxLine {
					r.over, r.buf = true, r.buf[:0]
				} else {
					r.buf = append(r.buf, data...)
				}
			}
			return
		}
		chunk := data[:i]
		data = data[i+1:]
		if r.resync || r.over || len(r.buf)+len(chunk) > maxLine {
			r.resync, r.over, r.buf = false, false, r.buf[:0]
			continue
		}
		line := chunk
		if len(r.buf) > 0 {
			r.buf = append(r.buf, chunk...)
			line = r.buf
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		f(line)
		r.buf = r.buf[:0]
	}
}

// b64 decodes a SASL response line (standard base64, padding optional).
func b64(s []byte) (string, bool) {
	s = bytes.TrimSpace(s)
	if d, err := base64.StdEncoding.DecodeString(string(s)); err == nil {
		return string(d), true
	}
	if d, err := base64.RawStdEncoding.DecodeString(string(s)); err == nil {
		return string(d), true
	}
	return "", false
}

// splitPlain splits a decoded SASL PLAIN message (RFC 4616):
// authzid NUL authcid NUL passwd.
func splitPlain(msg string) (user, pass string, ok bool) {
	parts := bytes.SplitN([]byte(msg), []byte{0}, 3)
	if len(parts) != 3 {
		return "", "", false
	}
	return string(parts[1]), string(parts[2]), true
}

// verb returns a line's first word, upper-cased, and the rest.
func verb(line []byte) (string, []byte) {
	line = bytes.TrimLeft(line, " ")
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return string(bytes.ToUpper(line)), nil
	}
	return string(bytes.ToUpper(line[:i])), bytes.TrimLeft(line[i+1:], " ")
}
