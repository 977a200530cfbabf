package plainauth

import (
	"bytes"
	"time"
)

// iac strips telnet commands (RFC 854) from one direction: IAC IAC is a
// data byte 0xff; IAC WILL/WONT/DO/DONT take one option byte; IAC SB ...
// IAC SE is a subnegotiation; other IAC commands are two bytes.
type iac struct{ st byte }

const (
	iacData = iota
	iacCmd
	iacOpt
	iacSub
	iacSubIAC
)

// strip appends the data bytes of b to out.
func (s *iac) strip(out, b []byte) []byte {
	for _, c := range b {
		switch s.st {
		case iacData:
			if c == 0xff {
				s.st = iacCmd
			} else {
				out = append(out, c)
			}
		case iacCmd:
			switch {
			case c == 0xff:
				out = append(out, c)
				s.st = iacData
			case c >= 251 && c <= 254:
				s.st = iacOpt
			case c == 250:
				s.st = iacSub
			default:
				s.st = iacData
			}
		case iacOpt:
			s.st = iacData
		case iacSub:
			if c == 0xff {
				s.st = iacSubIAC
			}
		case iacSubIAC:
			if c == 240 {
				s.st = iacData
			} else {
				s.st = iacSub
			}
		}
	}
	return out
}

// telnet follows a telnet login dialogue: the server's "login:" and
// "Password:" prompts, the client's keystrokes up to Enter (backspaces
// applied), then the server's verdict.
//
//	server: "Debian GNU/Linux 12\r\nhost login: "
//	client: "a" "l" "i" "c" "e" "\r\0"        (one key per segment, echoed)
//	server: "Password: "
//	client: "s3cret\r\n"                       (not echoed)
//	server: "\r\nLogin incorrect\r\nhost login: "   or   "Last login: ...\r\n$ "
type telnet struct {
	c      *conn
	iac    [2]iac
	tail   []byte // the end of the server's text, for prompts
	line   []byte // the client's line being typed
	want   byte   // 'u' user name, 'p' password, 'r' the verdict, 0 nothing
	user   string
	result []byte // server text since the password
	buf    []byte
}

const telnetKeep = 256

func (m *telnet) data(dir int, b []byte, ts time.Time) {
	m.buf = m.iac[dir].strip(m.buf[:0], b)
	if dir == 1 {
		m.server(m.buf, ts)
		return
	}
	for _, c := range m.buf {
		switch c {
		case '\r', '\n':
			m.enter(ts)
		case 0:
		case 0x7f, 0x08:
			if len(m.line) > 0 {
				m.line = m.line[:len(m.line)-1]
			}
		default:
			if len(m.line) < telnetKeep {
				m.line = append(m.line, c)
			}
		}
	}
}

// enter ends the line the client typed.
func (m *telnet) enter(ts time.Time) {
	line := string(m.line)
	m.line = m.line[:0]
	switch m.want {
	case 'u':
		if line != "" {
			m.user, m.want = line, 0
		}
	case 'p':
		m.c.login(ts, "login prompt", m.user, line)
		m.want, m.result = 'r', m.result[:0]
	}
}

var (
	telnetUserPrompts = [][]byte{[]byte("login:"), []byte("username:"), []byte("user name:"), []byte("user:")}
	telnetFailures    = [][]byte{[]byte("incorrect"), []byte("failed"), []byte("denied"), []byte("invalid"), []byte("bad password")}
	telnetSuccesses   = [][]byte{[]byte("last login"), []byte("welcome")}
)

func (m *telnet) server(text []byte, ts time.Time) {
	m.tail = append(m.tail, text...)
	if len(m.tail) > telnetKeep {
		m.tail = append(m.tail[:0], m.tail[len(m.tail)-telnetKeep:]...)
	}
	low := bytes.ToLower(bytes.TrimRight(m.tail, " \t"))
	userPrompt := false
	for _, p := range telnetUserPrompts {
		if bytes.HasSuffix(low, p) {
			userPrompt = true
		}
	}
	if m.want == 'r' {
		if len(m.result) < 1024 {
			m.result = append(m.result, text...)
		}
		r := bytes.ToLower(m.result)
		failed := userPrompt || bytes.HasSuffix(low, []byte("password:"))
		for _, w := range telnetFailures {
			failed = failed || bytes.Contains(r, w)
		}
		ok := false
		for _, w := range telnetSuccesses {
			ok = ok || bytes.Contains(r, w)
		}
		t := bytes.TrimRight(r, " ")
		if len(t) < len(r) && len(t) > 0 && bytes.ContainsAny(t[len(t)-1:], "$#>%") {
			ok = true // a shell prompt
		}
		switch {
		case failed:
			m.c.flush(Failure, lineWith(m.result, telnetFailures))
			m.want = 0
		case ok:
			m.c.flush(Success, lineWith(m.result, telnetSuccesses))
			m.want = 0
		}
	}
	switch {
	case userPrompt:
		m.want = 'u'
	case bytes.HasSuffix(low, []byte("password:")):
		m.want = 'p'
	}
}

// lineWith is the first line of b holding one of words (any case), else
// its last non-empty line, trimmed: the server's words that decided.
func lineWith(b []byte, words [][]byte) string {
	lines := bytes.Split(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"))
	for _, l := range lines {
		low := bytes.ToLower(l)
		for _, w := range words {
			if bytes.Contains(low, w) {
				return string(bytes.TrimSpace(l))
			}
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := bytes.TrimSpace(lines[i]); len(l) > 0 {
			return string(l)
		}
	}
	return ""
}

func (m *telnet) gap(dir int) {
	m.line, m.want = m.line[:0], 0
}

func (m *telnet) close() {}
