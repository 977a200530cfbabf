package plainauth

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/flowtable"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type step struct {
	dir  int // 0 client, 1 server
	data string
}

func enc(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// play runs a dialogue through a fresh handler, each step cut into pieces
// of at most split bytes (gap: a step with dir -1 or -2 is a gap in
// direction 0 or 1), and returns the events as strings.
func play(t *testing.T, service string, steps []step, split int, redact bool) []string {
	t.Helper()
	var got []string
	p := New(service, func(ev Event) {
		got = append(got, fmt.Sprintf("%s %s %s %q/%q %s %q", ev.Service, ev.Kind, ev.Mechanism, ev.User, ev.Password, ev.Outcome, ev.Reply))
	})
	s := &engine.Session{Conn: &flowtable.Conn{UID: "C1", Orig: netip.MustParseAddrPort("192.0.2.1:40000"), Resp: netip.MustParseAddrPort("198.51.100.2:25")}}
	h := p.New(s, &extractors.Env{Options: extractors.Options{RedactPasswords: redact}})
	var off [2]int64
	for _, st := range steps {
		if st.dir < 0 {
			d := -st.dir - 1
			h.Gap(s, d, off[d], 10, t0)
			off[d] += 10
			continue
		}
		for b := []byte(st.data); len(b) > 0; {
			n := min(split, len(b))
			h.Data(s, st.dir, b[:n], off[st.dir], t0)
			off[st.dir] += int64(n)
			b = b[n:]
		}
	}
	h.Close(s)
	return got
}

// bdat is an SMTP BDAT command carrying chunk.
func bdat(chunk string) string { return fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk) }

func TestDialogues(t *testing.T) {
	cases := []struct {
		name    string
		service string
		steps   []step
		redact  bool
		want    []string
	}{
		{"SMTP AUTH PLAIN with the response on its own line", "smtp", []step{
			{1, "220 x ESMTP\r\n"}, {0, "EHLO me\r\nAUTH PLAIN\r\n"}, {1, "334 \r\n"}, {0, enc("\x00alice\x00pw") + "\r\n"},
			{1, "235 ok\r\n"}},
			false, []string{`smtp login AUTH PLAIN "alice"/"pw" success "235 ok"`}},
		{"SMTP AUTH LOGIN with the user name on the AUTH line; 4xx is a failure", "smtp", []step{
			{0, "AUTH LOGIN " + enc("bob") + "\r\n"}, {1, "334 UGFzc3dvcmQ6\r\n"}, {0, enc("x") + "\r\n"}, {1, "454 4.7.0 Temporary failure\r\n"}},
			false, []string{`smtp login AUTH LOGIN "bob"/"x" failure "454 4.7.0 Temporary failure"`}},
		{"SMTP: a mechanism the server refuses leaves no exchange open", "smtp", []step{
			{0, "AUTH LOGIN\r\n"}, {1, "504 5.5.4 Unrecognized authentication type\r\n"}, {0, "QUIT\r\n"}, {1, "221 bye\r\n"}},
			false, nil},
		{"SMTP BDAT chunks and DATA bodies are not commands", "smtp", []step{
			{0, bdat("AUTH PLAIN " + enc("\x00a\x00b") + "\r\n")}, {1, "250 ok\r\n"},
			{0, "DATA\r\n"}, {1, "354 go\r\n"}, {0, "AUTH PLAIN " + enc("\x00c\x00d") + "\r\n.\r\n"}, {1, "250 ok\r\n"}},
			false, nil},
		{"SMTP STARTTLS: nothing read after it", "smtp", []step{
			{0, "STARTTLS\r\n"}, {1, "220 2.0.0 Ready\r\n"}, {0, "AUTH PLAIN " + enc("\x00a\x00b") + "\r\n"}},
			false, []string{`smtp starttls STARTTLS ""/""  "220 2.0.0 Ready"`}},
		{"SMTP: a refused STARTTLS changes nothing", "smtp", []step{
			{0, "STARTTLS\r\n"}, {1, "454 TLS not available\r\n"}, {0, "AUTH PLAIN " + enc("\x00a\x00b") + "\r\n"}, {1, "235 ok\r\n"}},
			false, []string{`smtp login AUTH PLAIN "a"/"b" success "235 ok"`}},
		{"POP3 USER/PASS refused, passwords redacted", "pop3", []step{
			{1, "+OK ready\r\n"}, {0, "USER carol\r\n"}, {1, "+OK\r\n"}, {0, "PASS secret\r\n"}, {1, "-ERR [AUTH] Authentication failed.\r\n"}},
			true, []string{`pop3 login USER/PASS "carol"/"<redacted>" failure "-ERR [AUTH] Authentication failed."`}},
		{"POP3 AUTH PLAIN after a continuation; STLS", "pop3", []step{
			{0, "AUTH PLAIN\r\n"}, {1, "+ \r\n"}, {0, enc("\x00dan\x00pw") + "\r\n"}, {1, "+OK Logged in.\r\n"},
			{0, "STLS\r\n"}, {1, "+OK Begin TLS\r\n"}},
			false, []string{`pop3 login AUTH PLAIN "dan"/"pw" success "+OK Logged in."`, `pop3 starttls STLS ""/""  "+OK Begin TLS"`}},
		{"IMAP LOGIN with quoted strings", "imap", []step{
			{0, `a1 LOGIN "erin" "pa ss\"w"` + "\r\n"}, {1, "* CAPABILITY IMAP4rev1\r\na1 OK Logged in\r\n"}},
			false, []string{`imap login LOGIN "erin"/"pa ss\"w" success "a1 OK Logged in"`}},
		{"IMAP AUTHENTICATE PLAIN, then STARTTLS", "imap", []step{
			{0, "x AUTHENTICATE PLAIN\r\n"}, {1, "+ \r\n"}, {0, enc("\x00fay\x00pw") + "\r\n"}, {1, "x NO bad\r\n"},
			{0, "y STARTTLS\r\n"}, {1, "y OK Begin TLS\r\n"}},
			false, []string{`imap login AUTHENTICATE PLAIN "fay"/"pw" failure "x NO bad"`, `imap starttls STARTTLS ""/""  "y OK Begin TLS"`}},
		{"IMAP: a big APPEND literal is skipped", "imap", []step{
			{0, "a APPEND INBOX {2000}\r\n"}, {0, string(make([]byte, 1990)) + "b LOGIN x y\r\n"}, {0, "c LOGIN g h\r\n"}, {1, "c OK\r\n"}},
			false, []string{`imap login LOGIN "g"/"h" success "c OK"`}},
		{"telnet: refused, then accepted", "telnet", []step{
			{1, "\xff\xfd\x18login: "}, {0, "root\r\n"}, {1, "root\r\nPassword: "}, {0, "toor\r\n"},
			{1, "\r\nLogin incorrect\r\nlogin: "}, {0, "gus\r\n"}, {1, "Password: "}, {0, "pw\r\n"}, {1, "\r\nWelcome\r\n$ "}},
			false, []string{`telnet login login prompt "root"/"toor" failure "Login incorrect"`, `telnet login login prompt "gus"/"pw" success "Welcome"`}},
		{"a gap forgets a half-read exchange", "smtp", []step{
			{0, "AUTH LOGIN\r\n"}, {1, "334 VXNlcm5hbWU6\r\n"}, {-1, ""}, {0, "garbage\r\nQUIT\r\n"}, {1, "221 bye\r\n"}},
			false, nil},
		{"no reply before the end", "pop3", []step{{0, "USER h\r\nPASS i\r\n"}},
			false, []string{`pop3 login USER/PASS "h"/"i"  ""`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, split := range []int{1 << 20, 1, 3} {
				got := play(t, tc.service, tc.steps, split, tc.redact)
				if !slices.Equal(got, tc.want) {
					t.Errorf("split %d:\n got %q\nwant %q", split, got, tc.want)
				}
			}
		})
	}
}
