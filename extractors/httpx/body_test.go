package httpx

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/streamx/streamx/extractors"
)

// multipartBody builds a multipart/form-data body: parts are
// (field, filename, content); an empty filename is a plain field.
func multipartBody(t *testing.T, boundary string, parts ...[3]string) string {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p[0])
		if p[1] != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p[1])
			h.Set("Content-Type", "application/octet-stream")
		}
		h.Set("Content-Disposition", cd)
		pw, _ := w.CreatePart(h)
		pw.Write([]byte(p[2]))
	}
	w.Close()
	return b.String()
}

func post(path, ctype, body string) string {
	return req("POST "+path+" HTTP/1.1", "Host: h", "Content-Type: "+ctype, clen(body)) + body
}

func TestBodies(t *testing.T) {
	mp := multipartBody(t, "XyZ", [3]string{"a", "toto.txt", "toto\n"}, [3]string{"b", `..\..\evil.bin`, "\x00\x01"}, [3]string{"note", "", "two files"})
	mpChunked := req("POST /up HTTP/1.1", "Host: h", "Content-Type: multipart/form-data; boundary=XyZ", "Transfer-Encoding: chunked") + chunk(mp, "", 10, 33)
	byteranges := "--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-3/10\r\n\r\n0123\r\n" +
		"--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 4-9/10\r\n\r\n456789\r\n--SEP--\r\n"
	cases := []scriptCase{
		{
			name:   "post-body",
			script: []ev{D(0, post("/submit.php", "application/x-www-form-urlencoded", "a=1&b=2")), D(1, ok("thanks"))},
			files:  []string{`submit.php complete "a=1&b=2"`, `submit.php complete "thanks"`},
			logs:   []string{"1 POST /submit.php 200 complete"},
		},
		{
			name:   "put-chunked-body",
			script: []ev{D(0, req("PUT /f.bin HTTP/1.1", "Host: h", "Transfer-Encoding: chunked")+chunk("payload", "", 3)), D(1, rsp("HTTP/1.1 201 Created", "Content-Length: 0"))},
			files:  []string{`f.bin complete "payload"`},
			logs:   []string{"1 PUT /f.bin 201 complete"},
		},
		{
			// Each part is its own file, named by its filename; the plain
			// field too (Zeek does the same), unnamed.
			name:   "multipart-form-data",
			script: []ev{D(0, post("/up", "multipart/form-data; boundary=XyZ", mp)), D(1, ok("ok"))},
			files:  []string{`toto.txt complete "toto\n"`, `..\..\evil.bin complete "\x00\x01"`, `- complete "two files"`, `up complete "ok"`},
			logs:   []string{"1 POST /up 200 complete"},
			check: func(t *testing.T, r *run) {
				f := r.files.files[2]
				if f.meta.Extra["form_field"] != "note" || f.meta.Extra["part"] != 3 {
					t.Errorf("extra %v", f.meta.Extra)
				}
				if l := r.logs[0]; len(l.OrigFUIDs) != 3 || l.OrigFilenames[0] != "toto.txt" {
					t.Errorf("log %v %v", l.OrigFUIDs, l.OrigFilenames)
				}
			},
		},
		{
			name:   "multipart-chunked",
			script: []ev{D(0, mpChunked), D(1, ok("ok"))},
			files:  []string{`toto.txt complete "toto\n"`, `..\..\evil.bin complete "\x00\x01"`, `- complete "two files"`, `up complete "ok"`},
			logs:   []string{"1 POST /up 200 complete"},
		},
		{
			// No closing boundary: kept whole.
			name:   "multipart-broken",
			script: []ev{D(0, post("/up", "multipart/form-data; boundary=XyZ", "--XyZ\r\n\r\nabc")), D(1, ok("ok"))},
			files:  []string{`up complete "--XyZ\r\n\r\nabc"`, `up complete "ok"`},
			logs:   []string{"1 POST /up 200 complete [multipart-unsplit]"},
		},
		{
			// A hole in a multipart body: kept whole, with the hole.
			name: "multipart-gap",
			script: []ev{D(0, req("POST /up HTTP/1.1", "Host: h", "Content-Type: multipart/form-data; boundary=XyZ", clen(mp))+mp[:20]),
				G(0, 5), D(0, mp[25:]), D(1, ok("ok"))},
			files: []string{fmt.Sprintf(`up truncated/gap %q`, mp[:20]+"\x00\x00\x00\x00\x00"+mp[25:]), `up complete "ok"`},
			logs:  []string{"1 POST /up 200 truncated [gap]"},
		},
		{
			name: "206-same-connection",
			script: []ev{
				D(0, get("/f.txt")), D(1, rsp("HTTP/1.1 206 Partial Content", "Content-Range: bytes 5-9/10", "Content-Length: 5")+"56789"),
				D(0, get("/f.txt")), D(1, rsp("HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-5/10", "Content-Length: 6")+"012345"),
			},
			files: []string{`f.txt complete "0123456789"`},
			logs:  []string{"1 GET /f.txt 206 complete", "2 GET /f.txt 206 complete"},
			check: func(t *testing.T, r *run) {
				if l := r.logs[1]; l.RespFUIDs[0] != "F000001" || l.RespStates[0] != "complete" || l.RespSHA256[0] == "" {
					t.Errorf("log %+v", l)
				}
			},
		},
		{
			name: "206-incomplete",
			script: []ev{
				D(0, get("/f.txt")), D(1, rsp("HTTP/1.1 206 Partial Content", "Content-Range: bytes 5-9/10", "Content-Length: 5")+"56789"),
			},
			files: []string{`f.txt truncated/ranges-missing "\x00\x00\x00\x00\x0056789"`},
			logs:  []string{"1 GET /f.txt 206 complete"},
		},
		{
			name: "206-multipart-byteranges",
			script: []ev{D(0, get("/r.txt")),
				D(1, rsp("HTTP/1.1 206 Partial Content", "Content-Type: multipart/byteranges; boundary=SEP", clen(byteranges))+byteranges)},
			files: []string{`r.txt complete "0123456789"`},
			logs:  []string{"1 GET /r.txt 206 complete"},
		},
		{
			name: "basic-auth",
			script: []ev{D(0, req("GET /private/ HTTP/1.1", "Host: h", "Authorization: Basic Ym9iOmh1bnRlcjI=")),
				D(1, rsp("HTTP/1.1 204 No Content"))},
			logs: []string{"1 GET /private/ 204 complete"},
			check: func(t *testing.T, r *run) {
				if l := r.logs[0]; l.Username != "bob" || l.Password != "hunter2" {
					t.Errorf("credentials %q %q", l.Username, l.Password)
				}
			},
		},
		{
			name: "basic-auth-redacted",
			script: []ev{D(0, req("GET / HTTP/1.1", "Host: h", "Authorization: Basic Ym9iOmh1bnRlcjI=")),
				D(1, rsp("HTTP/1.1 204 No Content"))},
			opts: extractors.Options{RedactPasswords: true},
			logs: []string{"1 GET / 204 complete"},
			check: func(t *testing.T, r *run) {
				if l := r.logs[0]; l.Username != "bob" || l.Password != redacted {
					t.Errorf("credentials %q %q", l.Username, l.Password)
				}
			},
		},
	}
	runCases(t, cases)
}

// TestRangesAcrossConnections: pieces of one object on two connections
// are stitched by the Protocol.
func TestRangesAcrossConnections(t *testing.T) {
	piece := func(first, last int, body string) []ev {
		return []ev{D(0, req("GET /doc.pdf?session=1 HTTP/1.1", "Host: Example.com")),
			D(1, rsp("HTTP/1.1 206 Partial Content", fmt.Sprintf("Content-Range: bytes %d-%d/10", first, last), clen(body))+body)}
	}
	whole := splitters(0)[0]
	for _, hold := range []bool{false, true} {
		p := New()
		p.HoldRanges = hold
		r1 := runScript(p, piece(0, 3, "0123"), whole, extractors.Options{})
		r2 := runScript(p, piece(4, 9, "456789"), whole, extractors.Options{})
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		all := append(r1.fileSummary(), r2.fileSummary()...)
		want := []string{`doc.pdf truncated/ranges-missing "0123"`, `doc.pdf truncated/ranges-missing "\x00\x00\x00\x00456789"`}
		if hold {
			want = []string{`doc.pdf complete "0123456789"`}
		}
		diff(t, fmt.Sprintf("hold=%v", hold), all, want)
	}
	// Without the second piece, Close ends the assembly.
	p := New()
	p.HoldRanges = true
	r := runScript(p, piece(0, 3, "0123"), whole, extractors.Options{})
	if r.files.files[0].closed {
		t.Fatal("closed before Close")
	}
	p.Close()
	diff(t, "closed by Close", r.fileSummary(), []string{`doc.pdf truncated/ranges-missing "0123"`})
}

func TestNames(t *testing.T) {
	r := runScript(nil, []ev{
		D(0, get("/a/b%20c.txt?x=1")+get("/")+get("http://proxy.example/x/y.gif")+req("GET /n HTTP/1.0")),
		D(1, ok("1")+ok("2")+ok("3")+ok("4")),
	}, splitters(0)[0], extractors.Options{})
	var got []string
	for _, f := range r.files.files {
		got = append(got, f.meta.Name+" "+f.meta.ServerPath)
	}
	diff(t, "names", got, []string{
		"b c.txt http://h/a/b%20c.txt?x=1",
		" http://h/",
		"y.gif http://proxy.example/x/y.gif",
		"n http://10.0.0.2/n", // HTTP/1.0 without Host: the server's address
	})
	if !strings.HasPrefix(r.logs[0].Version, "1.1") {
		t.Errorf("version %q", r.logs[0].Version)
	}
}
