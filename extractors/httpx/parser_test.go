package httpx

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/extractors"
)

// scriptCase is one connection's events and what must come out of it,
// whatever the cuts between Data calls.
type scriptCase struct {
	name   string
	script []ev
	files  []string // fileSummary
	logs   []string // logSummary
	opts   extractors.Options
	check  func(t *testing.T, r *run)
	// rawFiles: compare files by check only (binary contents).
	rawFiles bool
	seeds    int // random splits (default 4)
}

func runCases(t *testing.T, cases []scriptCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seeds := tc.seeds
			if seeds == 0 {
				seeds = 4
			}
			for _, sp := range splitters(seeds) {
				r := runScript(nil, tc.script, sp, tc.opts)
				if len(r.files.misuse) > 0 {
					t.Errorf("%s: sink misuse: %v", sp.name, r.files.misuse)
				}
				if !tc.rawFiles {
					diff(t, sp.name+" files", r.fileSummary(), tc.files)
				}
				diff(t, sp.name+" log", r.logSummary(), tc.logs)
				if tc.check != nil {
					tc.check(t, r)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

func TestParserFraming(t *testing.T) {
	chunked := rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked") +
		"5;name=value\r\nhello\r\n" + "1\r\n \r\n" + "5\r\nworld\r\n" + "0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n"
	cases := []scriptCase{
		{
			name:   "content-length",
			script: []ev{D(0, get("/a.txt")), D(1, ok("hello")), E(0, "fin"), E(1, "fin")},
			files:  []string{`a.txt complete "hello"`},
			logs:   []string{"1 GET /a.txt 200 complete"},
		},
		{
			name:   "keep-alive",
			script: []ev{D(0, get("/a")), D(1, ok("one")), D(0, get("/dir/")), D(1, ok("two"))},
			files:  []string{`a complete "one"`, `- complete "two"`},
			logs:   []string{"1 GET /a 200 complete", "2 GET /dir/ 200 complete"},
		},
		{
			// HTTP/1.1 200 OK
			// Transfer-Encoding: chunked
			//
			// 5;name=value
			// hello
			// ...
			// 0
			// X-Checksum: abc
			name:   "chunked-with-trailers",
			script: []ev{D(0, get("/c")), D(1, chunked+ok("after"))},
			files:  []string{`c complete "hello world"`, `- complete "after"`},
			logs:   []string{"1 GET /c 200 complete", "2 - - 200 unsolicited [unsolicited]"},
			check: func(t *testing.T, r *run) {
				if len(r.logs) > 0 && r.logs[0].ResponseBodyLen != 11 {
					t.Errorf("response_body_len = %d, want 11", r.logs[0].ResponseBodyLen)
				}
			},
		},
		{
			name: "pipelined",
			script: []ev{
				D(0, get("/1")+get("/2")+get("/3")),
				D(1, ok("first")+rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")+chunk("second", "", 2)+ok("third")),
			},
			files: []string{`1 complete "first"`, `2 complete "second"`, `3 complete "third"`},
			logs:  []string{"1 GET /1 200 complete", "2 GET /2 200 complete", "3 GET /3 200 complete"},
		},
		{
			// A response to HEAD announces a length but has no body: the
			// FIFO's request says so.
			name: "head",
			script: []ev{
				D(0, req("HEAD /f HTTP/1.1", "Host: h")+get("/g")),
				D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 100", "Transfer-Encoding: chunked")+ok("body")),
			},
			files: []string{`g complete "body"`},
			logs:  []string{"1 HEAD /f 200 complete [length-and-chunked]", "2 GET /g 200 complete"},
		},
		{
			name: "204-304",
			script: []ev{
				D(0, get("/x")+get("/y")+get("/z")),
				D(1, rsp("HTTP/1.1 204 No Content", "Content-Length: 3")+
					rsp("HTTP/1.1 304 Not Modified", "Content-Length: 10")+ok("zz")),
			},
			files: []string{`z complete "zz"`},
			logs:  []string{"1 GET /x 204 complete", "2 GET /y 304 complete", "3 GET /z 200 complete"},
		},
		{
			// POST /up HTTP/1.1 / Expect: 100-continue; HTTP/1.1 100 Continue
			name: "100-continue",
			script: []ev{
				D(0, req("POST /up HTTP/1.1", "Host: h", "Content-Length: 4", "Expect: 100-continue")),
				D(1, rsp("HTTP/1.1 100 Continue")),
				D(0, "data"),
				D(1, ok("done")),
			},
			files: []string{`up complete "data"`, `up complete "done"`},
			logs:  []string{"1 POST /up 200 complete"},
			check: func(t *testing.T, r *run) {
				l := r.logs[0]
				if l.InfoCode != 100 || l.InfoMsg != "Continue" || l.RequestBodyLen != 4 || len(l.OrigFUIDs) != 1 || len(l.RespFUIDs) != 1 {
					t.Errorf("log %+v", l)
				}
			},
		},
		{
			name:   "103-early-hints",
			script: []ev{D(0, get("/p")), D(1, rsp("HTTP/1.1 103 Early Hints", "Link: </s.css>; rel=preload")+ok("p"))},
			files:  []string{`p complete "p"`},
			logs:   []string{"1 GET /p 200 complete"},
		},
		{
			name:   "until-close-fin",
			script: []ev{D(0, req("GET /old HTTP/1.0")), D(1, rsp("HTTP/1.0 200 OK")+"all of it"), E(1, "fin"), E(0, "fin")},
			files:  []string{`old complete "all of it"`},
			logs:   []string{"1 GET /old 200 complete"},
		},
		{
			name:   "until-close-cut",
			script: []ev{D(0, req("GET /old HTTP/1.0")), D(1, rsp("HTTP/1.0 200 OK")+"part"), E(1, "end-of-input"), E(0, "end-of-input")},
			files:  []string{`old truncated/incomplete-end-of-input "part"`},
			logs:   []string{"1 GET /old 200 truncated [incomplete-end-of-input]"},
		},
		{
			name:   "length-cut",
			script: []ev{D(0, get("/l")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 10")+"0123"), E(1, "rst")},
			files:  []string{`l truncated/incomplete-rst "0123"`},
			logs:   []string{"1 GET /l 200 truncated [incomplete-rst]"},
		},
		{
			name:   "lower-case-status-line-and-folding",
			script: []ev{D(0, get("/f")), D(1, "http/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nok")},
			files:  []string{`f complete "ok"`},
			logs:   []string{"1 GET /f 200 complete"},
		},
		{
			name:   "leading-blank-lines",
			script: []ev{D(0, "\r\n\r\n"+get("/b")), D(1, ok("b"))},
			files:  []string{`b complete "b"`},
			logs:   []string{"1 GET /b 200 complete"},
		},
		{
			name: "content-disposition",
			script: []ev{D(0, get("/download?id=7")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 3",
				`Content-Disposition: attachment; filename="report.pdf"`)+"pdf")},
			files: []string{`report.pdf complete "pdf"`},
			logs:  []string{"1 GET /download?id=7 200 complete"},
		},
	}
	runCases(t, cases)
}

func TestParserPairing(t *testing.T) {
	cases := []scriptCase{
		{
			name:   "unsolicited",
			script: []ev{D(1, ok("surprise")), E(0, "fin"), E(1, "fin")},
			files:  []string{`- complete "surprise"`},
			logs:   []string{"1 - - 200 unsolicited [unsolicited]"},
		},
		{
			// The response is delivered first (its request waited behind
			// a hole): it is held until the request is parsed.
			name:   "response-before-request",
			script: []ev{D(1, ok("late")+ok("later")), D(0, get("/late.txt")+get("/later.txt"))},
			files:  []string{`late.txt complete "late"`, `later.txt complete "later"`},
			logs:   []string{"1 GET /late.txt 200 complete", "2 GET /later.txt 200 complete"},
		},
		{
			name:   "no-response",
			script: []ev{D(0, get("/n")), E(0, "fin"), E(1, "fin")},
			logs:   []string{"1 GET /n 0 no-response [no-response]"},
		},
		{
			name: "post-then-get-no-second-response",
			script: []ev{
				D(0, req("POST /form HTTP/1.1", "Host: h", "Content-Length: 3")+"a=1"+get("/x")),
				D(1, ok("thanks")),
			},
			files: []string{`form complete "a=1"`, `form complete "thanks"`},
			logs:  []string{"1 POST /form 200 complete", "2 GET /x 0 no-response [no-response]"},
		},
		{
			// GET/ HTTP/1.1 is no request line, but it is a request: the
			// 400 answers it and the next pair stays aligned.
			name:   "bad-request-line",
			script: []ev{D(0, "GET/ HTTP/1.1\r\nHost: x\r\n\r\n"+get("/ok")), D(1, rsp("HTTP/1.0 400 Bad Request", "Content-Length: 3")+"bad"+ok("fine"))},
			files:  []string{`- complete "bad"`, `ok complete "fine"`},
			logs:   []string{"1 - GET/ HTTP/1.1 400 complete [bad-request-line]", "2 GET /ok 200 complete"},
		},
		{
			name: "connect-tunnel",
			script: []ev{
				D(0, req("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443")),
				D(1, rsp("HTTP/1.1 200 Connection established")),
				D(0, "\x16\x03\x01\x00\x05hello"+get("/inside")),
				D(1, ok("not http")),
			},
			logs: []string{"1 CONNECT example.com:443 200 complete [tunnel]"},
		},
		{
			name: "websocket-upgrade",
			script: []ev{
				D(0, req("GET /chat HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: Upgrade")),
				D(1, rsp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade")),
				D(1, "\x81\x05hello"+ok("x")),
				D(0, "\x81\x85abcd"+get("/y")),
			},
			logs: []string{"1 GET /chat 101 complete [tunnel]"},
		},
		{
			name:   "connect-refused-stays-http",
			script: []ev{D(0, req("CONNECT a:443 HTTP/1.1", "Host: a:443")+get("/b")), D(1, rsp("HTTP/1.1 403 Forbidden", "Content-Length: 2")+"no"+ok("b"))},
			files:  []string{`- complete "no"`, `b complete "b"`},
			logs:   []string{"1 CONNECT a:443 403 complete", "2 GET /b 200 complete"},
		},
	}
	runCases(t, cases)
}

func TestParserGaps(t *testing.T) {
	cases := []scriptCase{
		{
			// A hole in a body of known length: the file keeps its true
			// offsets and is truncated; the next message is found.
			name:   "gap-in-length-body",
			script: []ev{D(0, get("/a")+get("/b")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 10")+"01234"), G(1, 3), D(1, "89"+ok("next"))},
			files:  []string{`a truncated/gap "01234\x00\x00\x0089"`, `b complete "next"`},
			logs:   []string{"1 GET /a 200 truncated [gap]", "2 GET /b 200 complete"},
		},
		{
			// The whole body missing (suricata's pipelined-files-with-gap).
			name:   "gap-is-whole-body",
			script: []ev{D(0, get("/a")+get("/b")), D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 4")), G(1, 4), D(1, ok("next"))},
			files:  []string{`a truncated/gap "\x00\x00\x00\x00"`, `b complete "next"`},
			logs:   []string{"1 GET /a 200 truncated [gap]", "2 GET /b 200 complete"},
		},
		{
			// The hole runs past the body into the next head: that
			// response is lost, the one after is paired with its own request.
			name: "gap-past-body-end",
			script: []ev{
				D(0, get("/a")+get("/b")+get("/c")),
				D(1, rsp("HTTP/1.1 200 OK", "Content-Length: 6")+"012"), G(1, 3+10),
				D(1, "0 OK\r\nContent-Length: 2\r\n\r\nbb"+ok("cc\n")),
			},
			files: []string{`a truncated/gap "012\x00\x00\x00"`, `c complete "cc\n"`},
			logs:  []string{"1 GET /a 200 truncated [gap]", "2 GET /b 0 response-lost [response-gap]", "3 GET /c 200 complete"},
		},
		{
			name: "gap-in-headers",
			script: []ev{
				D(0, get("/a")+get("/b")),
				D(1, "HTTP/1.1 200 OK\r\nContent-Le"), G(1, 5), D(1, "gth: 3\r\n\r\nab\n"+ok("bbb")),
			},
			files: []string{`b complete "bbb"`},
			logs:  []string{"1 GET /a 200 response-lost [response-gap]", "2 GET /b 200 complete"},
		},
		{
			name: "gap-in-request-headers",
			script: []ev{
				D(0, "GET /a HTTP/1.1\r\nHo"), G(0, 4), D(0, "h\r\n\r\n"+get("/b")),
				D(1, ok("aa\n")+ok("bb")),
			},
			files: []string{`a complete "aa\n"`, `b complete "bb"`},
			logs:  []string{"1 GET /a 200 request-lost [request-gap]", "2 GET /b 200 complete"},
		},
		{
			name: "gap-in-chunk-size-line",
			script: []ev{
				D(0, get("/a")+get("/b")),
				D(1, rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")+"4\r\nabcd\r\n1"), G(1, 2), D(1, "\r\n0123456789abcdef\r\n0\r\n\r\n"+ok("b")),
			},
			files: []string{`a truncated/gap "abcd"`, `b complete "b"`},
			logs:  []string{"1 GET /a 200 truncated [gap]", "2 GET /b 200 complete"},
		},
		{
			name: "gap-in-chunk-data",
			script: []ev{
				D(0, get("/a")+get("/b")),
				D(1, rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")+"8\r\nabc"), G(1, 2), D(1, "fgh\r\n2\r\nij\r\n0\r\n\r\n"+ok("b")),
			},
			files: []string{`a truncated/gap "abc\x00\x00fghij"`, `b complete "b"`},
			logs:  []string{"1 GET /a 200 truncated [gap]", "2 GET /b 200 complete"},
		},
		{
			// A gap between messages: the head after it is lost.
			name:   "gap-between-messages",
			script: []ev{D(0, get("/a")+get("/b")+get("/c")), D(1, ok("a")), G(1, 40), D(1, ok("c"))},
			files:  []string{`a complete "a"`, `c complete "c"`},
			logs:   []string{"1 GET /a 200 complete", "2 GET /b 0 response-lost [response-gap]", "3 GET /c 200 complete"},
		},
		{
			name:   "bad-chunk-size",
			script: []ev{D(0, get("/a")+get("/b")), D(1, rsp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")+"2\r\nab\r\nzz\r\n"+ok("b"))},
			files:  []string{`a truncated/bad-chunk-size "ab"`, `b complete "b"`},
			logs:   []string{"1 GET /a 200 truncated [bad-chunk-size]", "2 GET /b 200 complete"},
		},
	}
	runCases(t, cases)
}

func TestParserLimits(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", maxLine) + "\r\n"
	var many, big strings.Builder
	for i := range maxHeaderCount + 1 {
		fmt.Fprintf(&many, "X-H%d: v\r\n", i)
	}
	for i := range 20 {
		fmt.Fprintf(&big, "X-B%d: %s\r\n", i, strings.Repeat("b", 15<<10))
	}
	bad := func(name, headers, flag string) scriptCase {
		return scriptCase{
			name: name,
			script: []ev{
				D(0, "GET /a HTTP/1.1\r\nHost: h\r\n"+headers+"\r\n"+get("/b")),
				D(1, rsp("HTTP/1.1 431 Request Header Fields Too Large", "Content-Length: 0")+ok("b")),
			},
			files: []string{`b complete "b"`},
			logs:  []string{"1 GET /a 431 request-lost [request-" + flag + "," + flag + "]", "2 GET /b 200 complete"},
		}
	}
	cases := []scriptCase{
		bad("line-too-long", long, "header-line-too-long"),
		bad("too-many-lines", many.String(), "too-many-header-lines"),
		bad("block-too-large", big.String(), "header-too-large"),
		{
			// exactly at the limits: fine
			name: "at-limits",
			script: []ev{
				D(0, "GET /a HTTP/1.1\r\nX: "+strings.Repeat("a", maxLine-3)+"\r\n\r\n"),
				D(1, ok("a")),
			},
			files: []string{`a complete "a"`},
			logs:  []string{"1 GET /a 200 complete"},
		},
	}
	runCases(t, cases)
}

func TestParserStats(t *testing.T) {
	// Junk before the first request is skipped and counted.
	r := runScript(nil, []ev{D(1, "garbage\r\nmore\r\n"+ok("x")), D(0, get("/x"))}, splitters(0)[0], extractors.Options{})
	diff(t, "files", r.fileSummary(), []string{`x complete "x"`})
	if r.p.stats.JunkBytes != int64(len("garbage\r\nmore\r\n")) {
		t.Errorf("junk %d", r.p.stats.JunkBytes)
	}
}

func TestHoldBounds(t *testing.T) {
	// A response without its request is held up to maxHold bytes, then
	// goes on unsolicited; a request that comes later pairs with the next
	// response (still held, as it is small).
	big := strings.Repeat("x", maxHold+10)
	r := runScript(nil, []ev{D(1, ok(big)+ok("second")), D(0, get("/late"))}, splitters(0)[0], extractors.Options{})
	diff(t, "log", r.logSummary(), []string{"1 - - 200 unsolicited [unsolicited]", "2 GET /late 200 complete"})
	if r.p.heldBytes != 0 {
		t.Errorf("held bytes %d after close", r.p.heldBytes)
	}
	// The Protocol-wide bound: many connections holding at once.
	p := New()
	p.logTo = func(*record) error { return nil }
	var conns []*conn
	s := testSession()
	chunk := strings.Repeat("y", 512<<10)
	for i := 0; i < 200; i++ {
		c := p.newConn(s, &extractors.Env{}, &memFiles{})
		c.Data(s, 1, []byte(rsp("HTTP/1.1 200 OK", "Content-Length: 600000")), 0, time.Time{})
		c.Data(s, 1, []byte(chunk), 0, time.Time{})
		conns = append(conns, c)
		if p.heldBytes > maxHoldTotal {
			t.Fatalf("held %d > %d", p.heldBytes, maxHoldTotal)
		}
	}
	for _, c := range conns {
		c.Close(s)
	}
	if p.heldBytes != 0 {
		t.Errorf("held %d after close", p.heldBytes)
	}
}

func TestH2PriorKnowledge(t *testing.T) {
	r := runScript(nil, []ev{D(0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00"), D(1, "\x00\x00\x06\x04\x00\x00\x00\x00\x00"+ok("x"))}, splitters(0)[0], extractors.Options{})
	diff(t, "log", r.logSummary(), []string{"1 PRI * 0 no-response [tunnel,no-response]"})
	diff(t, "files", r.fileSummary(), nil)
}
