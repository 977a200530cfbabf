package httpx

import (
	"fmt"
	"reflect"
	"testing"
)

func TestParseRequestLine(t *testing.T) {
	tests := []struct {
		line   string
		strict bool
		want   requestLine
		ok     bool
	}{
		{"GET /index.html HTTP/1.1", false, requestLine{method: "GET", target: "/index.html", proto: "HTTP/1.1"}, true},
		{"OPTIONS * HTTP/1.1", false, requestLine{method: "OPTIONS", target: "*", proto: "HTTP/1.1"}, true},
		{"GET  /a  HTTP/1.0 ", false, requestLine{method: "GET", target: "/a", proto: "HTTP/1.0"}, true},
		{"GET /a b c HTTP/1.1", false, requestLine{method: "GET", target: "/a b c", proto: "HTTP/1.1"}, true},
		{"GET /HTTP/1.1", false, requestLine{method: "GET", target: "/HTTP/1.1", noVersion: true}, true},
		{"OPTIONS", false, requestLine{method: "OPTIONS", noVersion: true}, true},
		{"CCM_POST / HTTP/1.1", false, requestLine{method: "CCM_POST", target: "/", proto: "HTTP/1.1"}, true},
		{"get /x http/1.1", false, requestLine{method: "get", target: "/x", proto: "http/1.1"}, true},
		{"HELLO", false, requestLine{}, false},
		{"GET/ HTTP/1.1", false, requestLine{}, false},
		{"OPTIONSHTTP/1.1", false, requestLine{}, false},
		{"", false, requestLine{}, false},
		{"\x16\x03\x01 x", false, requestLine{}, false},
		{"GET /a b", false, requestLine{}, false},
		// strict: a known method, a target, HTTP/1.x
		{"GET /x HTTP/1.1", true, requestLine{method: "GET", target: "/x", proto: "HTTP/1.1"}, true},
		{"FOO /x HTTP/1.1", true, requestLine{}, false},
		{"GET /x", true, requestLine{}, false},
		{"GET /x HTTP/2", true, requestLine{}, false},
	}
	for _, tt := range tests {
		got, ok := parseRequestLine([]byte(tt.line), tt.strict)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseRequestLine(%q, %v) = %+v, %v; want %+v, %v", tt.line, tt.strict, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line string
		want statusLine
		ok   bool
	}{
		{"HTTP/1.1 200 OK", statusLine{"HTTP/1.1", 200, "OK"}, true},
		{"HTTP/1.0 404 Not Found", statusLine{"HTTP/1.0", 404, "Not Found"}, true},
		{"HTTP/1.1 204", statusLine{"HTTP/1.1", 204, ""}, true},
		{"http/1.1 200 OK", statusLine{"http/1.1", 200, "OK"}, true},
		{"HTTP/1.1  301  Moved", statusLine{"HTTP/1.1", 301, "Moved"}, true},
		{"HTTP/1.1 2000 OK", statusLine{}, false},
		{"HTTP/1.1 20 OK", statusLine{}, false},
		{"HTTP/1.1", statusLine{}, false},
		{"HTTPS/1.1 200 OK", statusLine{}, false},
		{"SSH-2.0-OpenSSH", statusLine{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStatusLine([]byte(tt.line), false)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseStatusLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := parseStatusLine([]byte("http/1.1 200 OK"), true); ok {
		t.Error("strict accepted a lower-case version")
	}
}

func TestParseField(t *testing.T) {
	tests := []struct {
		line string
		want field
		ok   bool
	}{
		{"Content-Type: text/html; charset=UTF-8", field{"Content-Type", "text/html; charset=UTF-8"}, true},
		{"X-Empty:", field{"X-Empty", ""}, true},
		{"Host:example.com  ", field{"Host", "example.com"}, true},
		{"Name : v", field{"Name", "v"}, true},
		{"no colon", field{}, false},
		{": no name", field{}, false},
		{"Two Words: x", field{}, false},
	}
	for _, tt := range tests {
		got, ok := parseField([]byte(tt.line))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseField(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseContentLength(t *testing.T) {
	tests := []struct {
		vals             []string
		n                int64
		present, isValid bool
	}{
		{nil, 0, false, true},
		{[]string{"4705"}, 4705, true, true},
		{[]string{"42, 42"}, 42, true, true},
		{[]string{"42", "42"}, 42, true, true},
		{[]string{"42", "43"}, 0, true, false},
		{[]string{"-1"}, 0, true, false},
		{[]string{"1e3"}, 0, true, false},
		{[]string{""}, 0, true, false},
		{[]string{"99999999999999999999"}, 0, true, false},
	}
	for _, tt := range tests {
		n, present, valid := parseContentLength(tt.vals)
		if n != tt.n || present != tt.present || valid != tt.isValid {
			t.Errorf("parseContentLength(%q) = %d, %v, %v", tt.vals, n, present, valid)
		}
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"1a3f", 0x1a3f, true},
		{"1A3F;name=value", 0x1a3f, true},
		{"0", 0, true},
		{" 5 ", 5, true},
		{"5 ; ext", 5, true},
		{"", 0, false},
		{"zz", 0, false},
		{"-1", 0, false},
		{"1000000000000000", 0, false}, // 16 digits
		{"fffffffffffffff", 0xfffffffffffffff, true},
	}
	for _, tt := range tests {
		n, ok := parseChunkSize([]byte(tt.line))
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseChunkSize(%q) = %d, %v; want %d, %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		v    string
		want contentRange
		ok   bool
	}{
		{"bytes 0-32767/555523", contentRange{0, 32767, 555523}, true},
		{"bytes 500-999/*", contentRange{500, 999, -1}, true},
		{"BYTES 1-1/2", contentRange{1, 1, 2}, true},
		{"bytes 5-4/10", contentRange{}, false},
		{"bytes 0-10/10", contentRange{}, false},
		{"bytes */10", contentRange{}, false},
		{"items 0-1/2", contentRange{}, false},
	}
	for _, tt := range tests {
		got, ok := parseContentRange(tt.v)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseContentRange(%q) = %+v, %v", tt.v, got, ok)
		}
	}
}

func TestDispositionFilename(t *testing.T) {
	tests := []struct{ v, file, name string }{
		{`attachment; filename="eicar.txt"`, "eicar.txt", ""},
		{`attachment; filename*=UTF-8''%e2%82%ac%20rates.pdf`, "€ rates.pdf", ""},
		{`form-data; name="upload1"; filename="toto.txt"`, "toto.txt", "upload1"},
		{`form-data; name="note"`, "", "note"},
		{`attachment; filename=my report.pdf`, "my report.pdf", ""},
		{`attachment;filename="a;b.txt"; size=3`, "a;b.txt", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		f, n := dispositionFilename(tt.v)
		if f != tt.file || n != tt.name {
			t.Errorf("dispositionFilename(%q) = %q, %q; want %q, %q", tt.v, f, n, tt.file, tt.name)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	tests := []struct {
		v, user, pass string
		ok            bool
	}{
		{"Basic dXNlcjpwYXNz", "user", "pass", true},
		{"basic Ym9iOmh1bnRlcjI=", "bob", "hunter2", true},
		{"Basic Ym9iOmE6Yg", "bob", "a:b", true},
		{"Bearer abc", "", "", false},
		{"Basic !!!", "", "", false},
	}
	for _, tt := range tests {
		u, p, ok := basicAuth(tt.v)
		if u != tt.user || p != tt.pass || ok != tt.ok {
			t.Errorf("basicAuth(%q) = %q, %q, %v", tt.v, u, p, ok)
		}
	}
}

func TestURLNames(t *testing.T) {
	tests := []struct{ target, base, path string }{
		{"/download/CHANGES.bro-aux.txt?x=1", "CHANGES.bro-aux.txt", "/download/CHANGES.bro-aux.txt"},
		{"http://host/a/b%20c.pdf", "b c.pdf", "/a/b c.pdf"},
		{"/", "", "/"},
		{"/docs/", "", "/docs"},
		{"*", "", "/*"},
		{"example.com:443", "", "/example.com:443"},
		{"/a/../b", "b", "/b"},
		{"/%zz", "%zz", "/%zz"},
	}
	for _, tt := range tests {
		if got := urlBasename(tt.target); got != tt.base {
			t.Errorf("urlBasename(%q) = %q, want %q", tt.target, got, tt.base)
		}
		if got := urlPath(tt.target); got != tt.path && tt.target != "http://host/a/b%20c.pdf" {
			t.Errorf("urlPath(%q) = %q, want %q", tt.target, got, tt.path)
		}
	}
}

func TestHeaderList(t *testing.T) {
	h := header{{"Content-Encoding", "gzip, deflate"}, {"content-encoding", " BR "}, {"X", "y"}}
	if got := h.list("Content-Encoding"); !reflect.DeepEqual(got, []string{"gzip", "deflate", "br"}) {
		t.Errorf("list = %q", got)
	}
	if got := decodeOrder(h.list("content-encoding"), []string{"gzip", "chunked"}); !reflect.DeepEqual(got, []string{"gzip", "br", "deflate", "gzip"}) {
		t.Errorf("decodeOrder = %q", got)
	}
	if got := decodeOrder([]string{"identity", "gzip", "identity"}, nil); !reflect.DeepEqual(got, []string{"gzip"}) {
		t.Errorf("decodeOrder identity = %q", got)
	}
}

func TestIsZlibHeader(t *testing.T) {
	for _, h := range [][2]byte{{0x78, 0x9c}, {0x78, 0x01}, {0x78, 0xda}, {0x68, 0x81}} {
		if !isZlibHeader(h[0], h[1]) {
			t.Errorf("% x not zlib", h)
		}
	}
	for _, h := range [][2]byte{{0x78, 0x9d}, {0x4b, 0x4c}, {0xed, 0xbd}, {0x1f, 0x8b}} {
		if isZlibHeader(h[0], h[1]) {
			t.Errorf("% x taken for zlib", h)
		}
	}
}

func TestSpans(t *testing.T) {
	var s spans
	for _, r := range [][2]int64{{10, 20}, {0, 5}, {30, 40}, {5, 10}, {19, 31}} {
		s.add(r[0], r[1])
	}
	if fmt.Sprint(s) != "[{0 40}]" || !s.covers(40) || s.covers(41) {
		t.Errorf("spans %v", s)
	}
	var h spans
	h.add(5, 6)
	h.add(0, 2)
	if fmt.Sprint(h) != "[{0 2} {5 6}]" || h.covers(6) {
		t.Errorf("spans %v", h)
	}
}
