package httpx

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// This file holds the pure wire-format functions: each takes one line or
// one header value, exactly as it came off the wire, and returns what it
// means. None of them keeps its argument.

// field is one header line: the name as sent, the value without the
// surrounding whitespace.
type field struct{ name, value string }

// header is a message's header (or trailer) fields in wire order.
type header []field

// get returns the first value of name (case-insensitive), or "".
func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// values returns every value of name, in order.
func (h header) values(name string) []string {
	var v []string
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			v = append(v, f.value)
		}
	}
	return v
}

// list returns the comma-separated elements of every name field, in order,
// trimmed and lower-cased, empty elements dropped:
//
//	Content-Encoding: gzip, deflate
//	Content-Encoding: br
//
// gives [gzip deflate br].
func (h header) list(name string) []string {
	var out []string
	for _, v := range h.values(name) {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !isTchar(c) {
			return false
		}
	}
	return true
}

// knownMethods are the methods a request line of one word may carry
// ("OPTIONS" alone), and the ones resynchronisation accepts.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "CONNECT": true,
	"OPTIONS": true, "TRACE": true, "PATCH": true, "PROPFIND": true, "PROPPATCH": true,
	"MKCOL": true, "COPY": true, "MOVE": true, "LOCK": true, "UNLOCK": true, "SEARCH": true,
	"REPORT": true, "CCM_POST": true, "SUBSCRIBE": true, "NOTIFY": true, "UNSUBSCRIBE": true,
	"M-SEARCH": true, "MKCALENDAR": true, "ACL": true, "BIND": true, "PURGE": true,
}

// isVersion reports whether s is an HTTP-version, in any case: "HTTP/1.1".
func isVersion(s []byte) bool {
	return len(s) >= 5 && bytes.EqualFold(s[:5], []byte("HTTP/"))
}

// splitWS splits a line on runs of spaces and tabs, and returns the
// fields with their start offsets in line.
func splitWS(line []byte) ([][]byte, []int) {
	var f [][]byte
	var at []int
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			f = append(f, line[i:j])
			at = append(at, i)
		}
		i = j
	}
	return f, at
}

// requestLine is a parsed request line.
type requestLine struct {
	method, target, proto string
	noVersion             bool // "GET /" (HTTP/0.9 form, or a client's mistake)
}

// parseRequestLine parses a request line without its line ending. It is
// lenient the way servers are: runs of blanks separate the parts, a target
// containing blanks is kept whole, the version is optional.
//
//	GET /index.html HTTP/1.1
//	OPTIONS * HTTP/1.1
//	GET /HTTP/1.1            (no version: method GET, target "/HTTP/1.1")
//	OPTIONS                  (a known method alone)
//
// strict (used while resynchronising after a gap) accepts only a known
// method, a target and an HTTP/1.x version, so that body bytes are not
// taken for a request.
func parseRequestLine(line []byte, strict bool) (requestLine, bool) {
	f, at := splitWS(line)
	if len(f) == 0 || !isToken(f[0]) || len(f[0]) > 32 {
		return requestLine{}, false
	}
	rl := requestLine{method: string(f[0])}
	if strict {
		if len(f) != 3 || !knownMethods[rl.method] || !bytes.HasPrefix(f[2], []byte("HTTP/1.")) {
			return requestLine{}, false
		}
		rl.target, rl.proto = string(f[1]), string(f[2])
		return rl, true
	}
	switch n := len(f); {
	case n == 1:
		if !knownMethods[strings.ToUpper(rl.method)] {
			return requestLine{}, false
		}
		rl.noVersion = true
	case n == 2:
		rl.target, rl.noVersion = string(f[1]), true
	case isVersion(f[n-1]):
		rl.proto = string(f[n-1])
		// The target is everything between the method and the version.
		start, end := at[1], at[n-1]
		rl.target = string(bytes.TrimRight(line[start:end], " \t"))
	default:
		return requestLine{}, false
	}
	return rl, true
}

// statusLine is a parsed status line.
type statusLine struct {
	proto  string
	code   int
	reason string
}

// parseStatusLine parses a status line without its line ending. The
// version is matched in any case ("http/1.1 200 OK" is seen in the wild);
// the reason phrase may be missing.
//
//	HTTP/1.1 200 OK
//	HTTP/1.0 404 Not Found
//	HTTP/1.1 204
func parseStatusLine(line []byte, strict bool) (statusLine, bool) {
	if !isVersion(line) {
		return statusLine{}, false
	}
	sp := bytes.IndexAny(line, " \t")
	if sp < 0 || sp > 16 {
		return statusLine{}, false
	}
	sl := statusLine{proto: string(line[:sp])}
	if strict && !strings.HasPrefix(sl.proto, "HTTP/1.") {
		return statusLine{}, false
	}
	rest := bytes.TrimLeft(line[sp:], " \t")
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) ||
		(len(rest) > 3 && rest[3] != ' ' && rest[3] != '\t') {
		return statusLine{}, false
	}
	sl.code = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	sl.reason = string(bytes.TrimSpace(rest[3:]))
	return sl, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseField parses one header line without its line ending:
//
//	Content-Type: text/html; charset=UTF-8
//	X-Empty:
//
// The value loses its surrounding blanks. A line without a colon, or with
// an empty name, is not a field.
func parseField(line []byte) (field, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return field{}, false
	}
	name := bytes.TrimRight(line[:i], " \t") // "Name : v" is tolerated
	if len(name) == 0 || bytes.ContainsAny(name, " \t") {
		return field{}, false
	}
	return field{name: string(name), value: string(bytes.Trim(line[i+1:], " \t"))}, true
}

// parseContentLength reads the Content-Length values of a message:
//
//	Content-Length: 4705
//	Content-Length: 42, 42     (a list of one repeated value is accepted)
//
// ok is false when there is none; valid is false when the values are not
// all the same non-negative decimal number (a message whose framing cannot
// be trusted).
func parseContentLength(vals []string) (n int64, ok, valid bool) {
	if len(vals) == 0 {
		return 0, false, true
	}
	n = -1
	for _, v := range vals {
		for e := range strings.SplitSeq(v, ",") {
			e = strings.TrimSpace(e)
			if e == "" || len(e) > 18 {
				return 0, true, false
			}
			for i := 0; i < len(e); i++ {
				if !isDigit(e[i]) {
					return 0, true, false
				}
			}
			x, _ := strconv.ParseInt(e, 10, 64)
			if n >= 0 && x != n {
				return 0, true, false
			}
			n = x
		}
	}
	return n, true, true
}

// parseChunkSize parses a chunk-size line without its line ending:
//
//	1a3f
//	1a3f;name=value
//	0
//
// Blanks around the size are tolerated; at most 15 hex digits.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.Trim(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// contentRange is one byte range of a 206 response.
type contentRange struct {
	first, last int64 // inclusive
	total       int64 // -1: "*" (unknown)
}

// parseContentRange parses a Content-Range value:
//
//	bytes 0-32767/555523
//	bytes 500-999/*
func parseContentRange(v string) (contentRange, bool) {
	v = strings.TrimSpace(v)
	unit, rest, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return contentRange{}, false
	}
	rng, total, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return contentRange{}, false
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return contentRange{}, false
	}
	cr := contentRange{total: -1}
	var err error
	if cr.first, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil || cr.first < 0 {
		return contentRange{}, false
	}
	if cr.last, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil || cr.last < cr.first {
		return contentRange{}, false
	}
	if t := strings.TrimSpace(total); t != "*" {
		if cr.total, err = strconv.ParseInt(t, 10, 64); err != nil || cr.total <= cr.last {
			return contentRange{}, false
		}
	}
	return cr, true
}

// dispositionFilename returns the file name a Content-Disposition value
// carries, filename* (RFC 6266/5987) first, and the form field name:
//
//	attachment; filename="eicar.txt"
//	attachment; filename*=UTF-8''%e2%82%ac%20rates.pdf
//	form-data; name="upload1"; filename="toto.txt"
//
// Values mime.ParseMediaType rejects (unquoted blanks, stray semicolons)
// are scanned by hand for a filename= parameter.
func dispositionFilename(v string) (filename, name string) {
	if v == "" {
		return "", ""
	}
	if _, params, err := mime.ParseMediaType(v); err == nil {
		return params["filename"], params["name"]
	}
	lv := asciiLower(v) // same length as v: indices carry over
	pick := func(key string) string {
		i := strings.Index(lv, key+"=")
		for i > 0 && !strings.ContainsRune("; \t", rune(lv[i-1])) {
			j := strings.Index(lv[i+1:], key+"=")
			if j < 0 {
				return ""
			}
			i += 1 + j
		}
		if i < 0 {
			return ""
		}
		s := strings.TrimSpace(v[i+len(key)+1:])
		if strings.HasPrefix(s, `"`) {
			if j := strings.IndexByte(s[1:], '"'); j >= 0 {
				return s[1 : 1+j]
			}
			return s[1:]
		}
		if j := strings.IndexByte(s, ';'); j >= 0 {
			s = s[:j]
		}
		return strings.TrimSpace(s)
	}
	return pick("filename"), pick("name")
}

// mediaType returns the lower-cased media type of a Content-Type value
// and its parameters: "multipart/form-data; boundary=x" gives
// "multipart/form-data", {boundary: x}.
func mediaType(v string) (string, map[string]string) {
	if v == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		mt, _, _ = strings.Cut(v, ";")
		return strings.ToLower(strings.TrimSpace(mt)), nil
	}
	return mt, params
}

// basicAuth decodes an Authorization header of the Basic scheme:
//
//	Authorization: Basic dXNlcjpwYXNz      (user "user", password "pass")
func basicAuth(v string) (user, pass string, ok bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", "", false
		}
	}
	user, pass, _ = strings.Cut(string(raw), ":")
	return user, pass, true
}

// urlBasename is the last element of a request target's path,
// percent-decoded, or "" for a directory ("/", "/docs/") or no path:
//
//	/download/CHANGES.bro-aux.txt?x=1   -> CHANGES.bro-aux.txt
//	http://host/a/b%20c.pdf             -> b c.pdf
func urlBasename(target string) string {
	p := target
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if i := strings.Index(p, "://"); i >= 0 {
		rest := p[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		p = rest[j:]
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		// "*", an authority ("example.com:443"), a directory
		return ""
	}
	base := p[strings.LastIndexByte(p, '/')+1:]
	if u, err := url.PathUnescape(base); err == nil {
		base = u
	}
	return base
}

// urlPath is a target's path without query or fragment, for matching the
// pieces of one object (206): "/a/b.pdf?x" gives "/a/b.pdf".
func urlPath(target string) string {
	p := target
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if i := strings.Index(p, "://"); i >= 0 {
		rest := p[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			p = rest[j:]
		} else {
			p = "/"
		}
	}
	return path.Clean("/" + p)
}

// asciiLower lower-cases A-Z only, so that byte offsets stay those of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
