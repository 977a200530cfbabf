package ftp

import (
	"bufio"
	"fmt"
	"net/textproto"
	"strings"
	"testing"
)

type gotLine struct {
	text string
	fl   lineFlags
}

func splitAll(r *lineReader, chunks ...string) []gotLine {
	var out []gotLine
	for _, c := range chunks {
		r.feed([]byte(c), func(l []byte, fl lineFlags) { out = append(out, gotLine{string(l), fl}) })
	}
	return out
}

func TestLineReaderSplitsAnywhere(t *testing.T) {
	wire := "USER alice\r\nPASS s3cret\r\nRETR a b\n\r\nNOOP\r\n"
	want := []string{"USER alice", "PASS s3cret", "RETR a b", "", "NOOP"}
	for i := 0; i <= len(wire); i++ {
		for j := i; j <= len(wire); j++ {
			var r lineReader
			got := splitAll(&r, wire[:i], wire[i:j], wire[j:])
			if len(got) != len(want) {
				t.Fatalf("split %d/%d: %d lines %q", i, j, len(got), got)
			}
			for k := range want {
				if got[k].text != want[k] || got[k].fl != 0 {
					t.Fatalf("split %d/%d: line %d = %q (%v), want %q", i, j, k, got[k].text, got[k].fl, want[k])
				}
			}
		}
	}
}

func TestLineReaderBounds(t *testing.T) {
	var r lineReader
	long := strings.Repeat("A", maxLine+1000)
	got := splitAll(&r, "RETR "+long[:3000], long[3000:], "\r\nNOOP\r\n")
	if len(got) != 2 || len(got[0].text) != maxLine || got[0].fl != lineCut || got[1].text != "NOOP" || got[1].fl != 0 {
		t.Fatalf("got %d lines, first %d bytes flags %v", len(got), len(got[0].text), got[0].fl)
	}
	if r.Dropped != int64(len("RETR ")+len(long)-maxLine+1) /* and the CR */ || cap(r.buf) > 2*maxLine {
		t.Errorf("dropped %d, buffer cap %d", r.Dropped, cap(r.buf))
	}
	// A huge line never grows the buffer past the bound.
	for i := 0; i < 100; i++ {
		splitAll(&r, strings.Repeat("x", 1<<16))
		if len(r.buf) > maxLine {
			t.Fatalf("buffer %d", len(r.buf))
		}
	}
}

func TestLineReaderGapAndEnd(t *testing.T) {
	var r lineReader
	got := splitAll(&r, "USER alice\r\nRETR fi")
	if p := r.gap(); p != "RETR fi" {
		t.Errorf("partial = %q", p)
	}
	got = append(got, splitAll(&r, "le.txt\r\nNOOP\r\n")...)
	want := []gotLine{{"USER alice", 0}, {"le.txt", lineAfterGap}, {"NOOP", 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = splitAll(&r, "QUIT")
	r.end(func(l []byte, fl lineFlags) { got = append(got, gotLine{string(l), fl}) })
	if fmt.Sprint(got) != fmt.Sprint([]gotLine{{"QUIT", lineNoEOL}}) {
		t.Errorf("end: %q", got)
	}
}

// replyWire are replies as servers send them; the push parser must give
// what net/textproto's ReadResponse gives, however the bytes are split.
var replyWire = []string{
	"220 Service ready\r\n",
	"230 Login successful.\r\n",
	"211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n211 End\r\n",
	"123-First line\r\nSecond line\r\n 234 A line beginning with numbers\r\n123 The last line\r\n",
	"214-The following commands are recognized:\r\n ABOR ACCT\r\n214-more\r\n214 Help OK.\r\n",
	"220-Welcome\r\n220-to the server\r\n220 ready\r\n",
	"150-Accepted data connection\r\n150 (1234 bytes)\r\n",
	"226-Options: -a -l\r\n226-\r\n226 3 matches total\r\n",
	"250-x\r\n251 not the end\r\n250 end\r\n",
}

func TestReplyReaderMatchesTextproto(t *testing.T) {
	for _, w := range replyWire {
		tp := textproto.NewReader(bufio.NewReader(strings.NewReader(w)))
		code, msg, err := tp.ReadResponse(0)
		if err != nil {
			if _, ok := err.(*textproto.Error); !ok {
				t.Fatalf("textproto on %q: %v", w, err)
			}
		}
		for i := 0; i <= len(w); i++ {
			for j := i; j <= len(w); j += 3 {
				var lr lineReader
				var rr replyReader
				var got []*reply
				for _, c := range []string{w[:i], w[i:j], w[j:]} {
					lr.feed([]byte(c), func(l []byte, fl lineFlags) {
						done, bad := rr.line(string(l), fl)
						if bad {
							t.Fatalf("%q: bad line %q", w, l)
						}
						got = append(got, done...)
					})
				}
				if len(got) != 1 || got[0].Code != code || got[0].Message() != msg || got[0].Broken {
					t.Fatalf("%q split %d/%d: got %+v, textproto %d %q", w, i, j, got, code, msg)
				}
			}
		}
	}
}

func TestReplyReaderGaps(t *testing.T) {
	feed := func(rr *replyReader, lines ...string) (out []string) {
		for _, l := range lines {
			fl := lineFlags(0)
			if strings.HasPrefix(l, "~") { // first line after a gap
				l, fl = l[1:], lineAfterGap
			}
			done, _ := rr.line(l, fl)
			for _, r := range done {
				s := fmt.Sprintf("%d", r.Code)
				if r.Broken {
					s += "!"
				}
				out = append(out, s)
			}
		}
		return out
	}
	tests := []struct {
		lines []string
		want  string
	}{
		// The terminator of a multi-line reply was lost: the next reply
		// still pairs (the broken one is handed on first).
		{[]string{"211-Features:", " EPRT", "~226 Transfer complete."}, "[211! 226]"},
		// The gap fell inside the text: the terminator still ends it.
		{[]string{"211-Features:", "~PRT", "211 End"}, "[211!]"},
		{[]string{"211-Features:", "~PRT", "226 done"}, "[211! 226]"},
		// Without a gap a different code is text (RFC 959).
		{[]string{"211-Features:", "226 not the end", "211 End"}, "[211]"},
		{[]string{"~ransfer complete.", "226 ok"}, "[226]"},
		{[]string{"211-a", "~150-b", "150 c"}, "[211! 150]"},
	}
	for _, tt := range tests {
		var rr replyReader
		if got := fmt.Sprint(feed(&rr, tt.lines...)); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.lines, got, tt.want)
		}
	}
	// Bounded: a multi-line reply that never ends keeps at most
	// maxReplyLines lines and maxReplyBytes bytes.
	var rr replyReader
	rr.line("211-start", 0)
	for i := 0; i < 100000; i++ {
		rr.line(strings.Repeat("x", 100), 0)
	}
	if o := rr.open; len(o.More) > maxReplyLines || rr.bytes > maxReplyBytes || o.Omitted == 0 {
		t.Errorf("kept %d lines, %d bytes, omitted %d", len(o.More), rr.bytes, o.Omitted)
	}
	if r := rr.end(); r == nil || !r.Broken {
		t.Errorf("end: %+v", r)
	}
}
