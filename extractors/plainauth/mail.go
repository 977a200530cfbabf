package plainauth

import (
	"bytes"
	"strconv"
	"time"
)

// sasl is the state of a SASL exchange (AUTH PLAIN / AUTH LOGIN) whose
// responses come on their own lines.
type sasl int

const (
	saslNone      sasl = iota
	saslPlain          // waiting for the PLAIN response
	saslLoginUser      // waiting for the LOGIN user name
	saslLoginPass      // waiting for the LOGIN password
)

// saslLine handles a client line while a SASL exchange waits for one. It
// reports whether the line was part of the exchange.
func saslLine(c *conn, st *sasl, user *string, mech string, line []byte, ts time.Time) bool {
	switch *st {
	case saslNone:
		return false
	case saslPlain:
		*st = saslNone
		if string(line) == "*" {
			return true
		}
		if d, ok := b64(line); ok {
			if u, p, ok := splitPlain(d); ok {
				c.login(ts, mech+" PLAIN", u, p)
			}
		}
	case saslLoginUser:
		*st = saslLoginPass
		if string(line) == "*" {
			*st = saslNone
			return true
		}
		*user, _ = b64(line)
	case saslLoginPass:
		*st = saslNone
		if string(line) == "*" {
			return true
		}
		p, _ := b64(line)
		c.login(ts, mech+" LOGIN", *user, p)
	}
	return true
}

// saslStart handles "<mech> [initial-response]" after AUTH/AUTHENTICATE.
func saslStart(c *conn, st *sasl, user *string, cmd string, args []byte, ts time.Time) {
	mech, arg := verb(args)
	switch mech {
	case "PLAIN":
		if len(arg) > 0 && string(arg) != "=" {
			if d, ok := b64(arg); ok {
				if u, p, ok := splitPlain(d); ok {
					c.login(ts, cmd+" PLAIN", u, p)
				}
			}
			return
		}
		*st = saslPlain
	case "LOGIN":
		if len(arg) > 0 {
			*user, _ = b64(arg)
			*st = saslLoginPass
			return
		}
		*st = saslLoginUser
	}
}

// smtp follows an SMTP session (RFC 5321, AUTH RFC 4954).
type smtp struct {
	c        *conn
	lr       [2]lineReader
	inData   bool
	sasl     sasl
	user     string
	startTLS bool
}

func (m *smtp) data(dir int, b []byte, ts time.Time) {
	feedLines(m.c, &m.lr[dir], dir, b, ts, m.client, m.server)
}

func (m *smtp) gap(dir int) {
	m.lr[dir].gap()
	m.sasl, m.startTLS = saslNone, false
}

func (m *smtp) close() {}

// client reads a command line:
//
//	AUTH PLAIN AGFsaWNlAHMzY3JldA==
//	AUTH LOGIN
//	STARTTLS
//	DATA                 (then the message, up to a line with a lone ".")
//	BDAT 86 LAST         (then 86 bytes of message)
func (m *smtp) client(line []byte, ts time.Time) {
	if m.inData {
		if string(line) == "." {
			m.inData = false
		}
		return
	}
	if saslLine(m.c, &m.sasl, &m.user, "AUTH", line, ts) {
		return
	}
	v, rest := verb(line)
	switch v {
	case "AUTH":
		saslStart(m.c, &m.sasl, &m.user, "AUTH", rest, ts)
	case "STARTTLS":
		m.startTLS = true
	case "DATA":
		m.inData = true
	case "BDAT":
		n, _ := verb(rest)
		if size, err := strconv.Atoi(n); err == nil && size > 0 {
			m.lr[0].skip = size
		}
	}
}

// server reads a reply line; only the last line of a multi-line reply
// ("250-..." lines, then "250 ...") counts:
//
//	334 VXNlcm5hbWU6      (continue the SASL exchange)
//	235 2.7.0 Authentication successful
//	535 5.7.8 Authentication credentials invalid
//	220 2.0.0 Ready to start TLS
func (m *smtp) server(line []byte, ts time.Time) {
	code, final := replyCode(line)
	if code == 0 || !final {
		return
	}
	switch {
	case m.startTLS:
		m.startTLS = false
		if code == 220 {
			m.c.startTLS(ts, "STARTTLS", string(line))
		}
	case code == 334:
	case code == 235:
		m.c.flush(Success, string(line))
	case code >= 400:
		m.sasl = saslNone
		if m.c.pending != nil {
			m.c.flush(Failure, string(line))
		}
	}
}

// replyCode reads "250 ok" or "250-more": the code, and whether the line
// is the last of its reply.
func replyCode(line []byte) (int, bool) {
	if len(line) < 3 {
		return 0, false
	}
	n, err := strconv.Atoi(string(line[:3]))
	if err != nil || n < 100 || n > 599 {
		return 0, false
	}
	return n, len(line) == 3 || line[3] == ' '
}

// pop3 follows a POP3 session (RFC 1939, AUTH RFC 5034, STLS RFC 2595).
type pop3 struct {
	c        *conn
	lr       [2]lineReader
	sasl     sasl
	user     string
	startTLS bool
}

func (m *pop3) data(dir int, b []byte, ts time.Time) {
	feedLines(m.c, &m.lr[dir], dir, b, ts, m.client, m.server)
}

func (m *pop3) gap(dir int) {
	m.lr[dir].gap()
	m.sasl, m.startTLS = saslNone, false
}

func (m *pop3) close() {}

// client reads a command line:
//
//	USER alice
//	PASS s3cret
//	AUTH PLAIN AGFsaWNlAHMzY3JldA==
//	STLS
func (m *pop3) client(line []byte, ts time.Time) {
	if saslLine(m.c, &m.sasl, &m.user, "AUTH", line, ts) {
		return
	}
	v, rest := verb(line)
	switch v {
	case "USER":
		m.user = string(rest)
	case "PASS":
		m.c.login(ts, "USER/PASS", m.user, string(rest))
	case "AUTH":
		saslStart(m.c, &m.sasl, &m.user, "AUTH", rest, ts)
	case "STLS":
		m.startTLS = true
	}
}

// server reads a status line:
//
//	+OK Logged in.
//	-ERR [AUTH] Authentication failed.
//	+ (a SASL continuation)
func (m *pop3) server(line []byte, ts time.Time) {
	switch {
	case bytes.HasPrefix(line, []byte("+OK")):
		if m.startTLS {
			m.c.startTLS(ts, "STLS", string(line))
			return
		}
		m.c.flush(Success, string(line))
	case bytes.HasPrefix(line, []byte("-ERR")):
		m.startTLS = false
		m.sasl = saslNone
		m.c.flush(Failure, string(line))
	}
}

// imap follows an IMAP session (RFC 9051): LOGIN, AUTHENTICATE, STARTTLS.
type imap struct {
	c        *conn
	lr       [2]lineReader
	sasl     sasl
	user     string
	authTag  string // tag of the pending LOGIN / AUTHENTICATE
	tlsTag   string // tag of a pending STARTTLS
	partial  []byte // a command line cut by a literal, with the literal quoted in
	literals int    // literals in the current command
}

func (m *imap) data(dir int, b []byte, ts time.Time) {
	feedLines(m.c, &m.lr[dir], dir, b, ts, m.client, m.server)
}

func (m *imap) gap(dir int) {
	m.lr[dir].gap()
	m.sasl, m.partial, m.literals = saslNone, nil, 0
	if dir == 0 {
		m.tlsTag = ""
	}
}

func (m *imap) close() {}

// maxLiteral bounds a literal kept for a command's arguments; a larger one
// (an APPENDed message) is skipped.
const maxLiteral = 1024

// client reads a command line, literals included:
//
//	a001 LOGIN alice "s3cr\"et"
//	a002 LOGIN {5}            (then 5 bytes: alice, then the rest of the line)
//	a003 AUTHENTICATE PLAIN
//	a004 STARTTLS
func (m *imap) client(line []byte, ts time.Time) {
	if m.partial != nil {
		line = append(m.partial, line...)
		m.partial = nil
	}
	if n, at, ok := literalSuffix(line); ok && m.literals < 8 {
		m.literals++
		prefix := append([]byte(nil), line[:at]...)
		if n <= maxLiteral {
			m.lr[0].want = n
			m.lr[0].capture = func(b []byte) { m.partial = append(prefix, quoteIMAP(b)...) }
		} else {
			m.lr[0].skip = n
			m.partial = append(prefix, `""`...)
		}
		if n == 0 {
			m.partial = append(prefix, `""`...)
		}
		return
	}
	m.literals = 0
	if saslLine(m.c, &m.sasl, &m.user, "AUTHENTICATE", line, ts) {
		return
	}
	tag, rest := word(line)
	cmd, args := verb(rest)
	switch cmd {
	case "LOGIN":
		u, r := astring(args)
		p, _ := astring(r)
		m.authTag = tag
		m.c.login(ts, "LOGIN", u, p)
	case "AUTHENTICATE":
		m.authTag = tag
		saslStart(m.c, &m.sasl, &m.user, "AUTHENTICATE", args, ts)
	case "STARTTLS":
		m.tlsTag = tag
	}
}

// server reads a response line; tagged ones settle a command:
//
//	a001 OK [CAPABILITY ...] Logged in
//	a001 NO [AUTHENTICATIONFAILED] Authentication failed.
//	+ (a continuation)
func (m *imap) server(line []byte, ts time.Time) {
	tag, rest := word(line)
	if tag == "*" || tag == "+" || tag == "" {
		return
	}
	status, _ := verb(rest)
	switch {
	case m.tlsTag != "" && tag == m.tlsTag:
		m.tlsTag = ""
		if status == "OK" {
			m.c.startTLS(ts, "STARTTLS", string(line))
		}
	case m.authTag != "" && tag == m.authTag:
		m.authTag = ""
		m.sasl = saslNone
		switch status {
		case "OK":
			m.c.flush(Success, string(line))
		case "NO", "BAD":
			m.c.flush(Failure, string(line))
		}
	}
}

// word splits off the first space-separated word (not upper-cased).
func word(line []byte) (string, []byte) {
	line = bytes.TrimLeft(line, " ")
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return string(line), nil
	}
	return string(line[:i]), bytes.TrimLeft(line[i+1:], " ")
}

// literalSuffix finds a literal announcement at the end of a line: "{5}"
// or the non-synchronizing "{5+}". It returns the size and where the
// announcement starts.
func literalSuffix(line []byte) (int, int, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, 0, false
	}
	num := bytes.TrimSuffix(line[i+1:len(line)-1], []byte("+"))
	n, err := strconv.Atoi(string(num))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return n, i, true
}

// quoteIMAP makes b an IMAP quoted string.
func quoteIMAP(b []byte) []byte {
	out := []byte{'"'}
	for _, c := range b {
		if c == '"' || c == '\\' {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return append(out, '"')
}

// astring reads an IMAP astring: an atom, or a quoted string with \" and
// \\ escapes.
func astring(b []byte) (string, []byte) {
	b = bytes.TrimLeft(b, " ")
	if len(b) == 0 {
		return "", nil
	}
	if b[0] != '"' {
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			return string(b), nil
		}
		return string(b[:i]), b[i+1:]
	}
	var out []byte
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			if i+1 < len(b) {
				i++
				out = append(out, b[i])
			}
		case '"':
			return string(out), b[i+1:]
		default:
			out = append(out, b[i])
		}
	}
	return string(out), nil
}

// feedLines hands one direction's bytes, line by line, to the dialogue's
// client (dir 0) or server handler, until the connection is stopped.
func feedLines(c *conn, lr *lineReader, dir int, b []byte, ts time.Time, client, server func([]byte, time.Time)) {
	h := client
	if dir != 0 {
		h = server
	}
	lr.feed(b, func(line []byte) {
		if !c.stopped {
			h(line, ts)
		}
	})
}
