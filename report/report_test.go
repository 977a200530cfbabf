package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// folder is a hand-made output folder for the tests.
type folder struct {
	t   *testing.T
	dir string
}

func newFolder(t *testing.T) *folder {
	return &folder{t: t, dir: t.TempDir()}
}

func (f *folder) write(rel string, b []byte) {
	p := filepath.Join(f.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *folder) jsonl(rel string, recs ...any) {
	var b bytes.Buffer
	for _, r := range recs {
		if s, ok := r.(string); ok {
			b.WriteString(s + "\n")
			continue
		}
		j, err := json.Marshal(r)
		if err != nil {
			f.t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	f.write(rel, b.Bytes())
}

type block struct {
	dir  int
	data string
	gap  int // bytes missing before data
}

// conn writes a connection's flow line and transcript files the way
// `streamx extract` does (raw .orig/.resp, .txt with block headers).
func (f *folder) conn(stream int, orig, resp string, service string, blocks []block) map[string]any {
	uid := fmt.Sprintf("C%06d", stream)
	base := fmt.Sprintf("transcripts/%s_%s-%s", uid, strings.ReplaceAll(orig, ":", "."), strings.ReplaceAll(resp, ":", "."))
	var raw [2]bytes.Buffer
	var txt bytes.Buffer
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprintf(&txt, "# streamx transcript of %s (tcp.stream %d)\n", uid, stream)
	last := -1
	for i, b := range blocks {
		eps := [2]string{orig + " -> " + resp, resp + " -> " + orig}
		stamp := ts.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000000Z")
		if b.gap > 0 {
			if last != -1 {
				txt.WriteByte('\n')
			}
			fmt.Fprintf(&txt, "!!! %s  %s  %d BYTES MISSING at offset %d (not in the capture)\n", stamp, eps[b.dir], b.gap, raw[b.dir].Len())
			raw[b.dir].Write(make([]byte, b.gap))
			last = -2
		}
		if b.dir != last {
			if last != -1 {
				txt.WriteByte('\n')
			}
			mark := ">>>"
			if b.dir == 1 {
				mark = "<<<"
			}
			fmt.Fprintf(&txt, "%s %s  %s  offset %d\n", mark, stamp, eps[b.dir], raw[b.dir].Len())
			last = b.dir
		}
		raw[b.dir].WriteString(b.data)
		txt.WriteString(asciiOf(b.data))
	}
	f.write(base+".orig", raw[0].Bytes())
	f.write(base+".resp", raw[1].Bytes())
	f.write(base+".txt", txt.Bytes())
	oh, op, _ := strings.Cut(orig, ":")
	rh, rp, _ := strings.Cut(resp, ":")
	var opn, rpn int
	fmt.Sscan(op, &opn)
	fmt.Sscan(rp, &rpn)
	return map[string]any{"ts": json.Number(fmt.Sprintf("%d.000000", ts.Unix()+int64(stream))), "uid": uid,
		"id.orig_h": oh, "id.orig_p": opn, "id.resp_h": rh, "id.resp_p": rpn, "proto": "tcp", "service": service,
		"orig_bytes": raw[0].Len(), "resp_bytes": raw[1].Len(), "conn_state": "SF", "history": "ShADadFf",
		"stream": stream, "last_ts": json.Number(fmt.Sprintf("%d.500000", ts.Unix()+int64(stream))), "state": "CLOSED",
		"transcript": base + ".txt"}
}

// asciiOf renders like package transcript's ascii format.
func asciiOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
		case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f):
			b.WriteByte(c)
		case c == '\r':
			b.WriteString(`\r`)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

func render(t *testing.T, dir string, opts Options) string {
	t.Helper()
	fo, err := Load(dir, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := fo.Render(&b, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const hostile = "<script>alert(1)</script>\"'javascript:alert(2)</style><style>body{display:none}</style>\u202egpj.exe <img src=x onerror=alert(3)>"

var (
	reTag  = regexp.MustCompile(`(?i)<(script|style)\b[^>]*>`)
	reHref = regexp.MustCompile(`(?i)\b(href|src)="([^"]*)"`)
)

// checkSafe fails if the page holds markup that did not come from the
// report itself: a script or style element other than its own, an
// attribute that runs script, a link that is not relative, a raw bidi
// control.
func checkSafe(t *testing.T, page string, lazy int) {
	t.Helper()
	var scripts, styles int
	for _, m := range reTag.FindAllStringSubmatch(page, -1) {
		switch strings.ToLower(m[1]) {
		case "script":
			scripts++
		case "style":
			styles++
		}
	}
	// the page's script, the connections' data and one data block per lazy conversation
	if want := 2 + lazy; scripts != want {
		t.Errorf("%d <script> elements, want %d", scripts, want)
	}
	if styles != 1 {
		t.Errorf("%d <style> elements, want 1", styles)
	}
	if m := regexp.MustCompile(`(?i)<[a-z]+\b[^>]*\son[a-z]+=`).FindString(page); m != "" {
		t.Errorf("page holds an event handler attribute: %q", m)
	}
	for _, m := range reHref.FindAllStringSubmatch(page, -1) {
		v := m[2]
		if !(strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") || strings.HasPrefix(v, "#")) {
			t.Errorf("%s=%q is not a relative link", m[1], v)
		}
	}
	if strings.ContainsRune(page, '\u202e') {
		t.Errorf("page holds a raw U+202E")
	}
	// the data blocks must not be closable from inside
	for _, blk := range regexp.MustCompile(`(?s)<script type="application/json"[^>]*>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(strings.ToLower(blk[1]), "<") {
			t.Errorf("a JSON data block holds '<': %.80q", blk[1])
		}
		var v any
		if err := json.Unmarshal([]byte(blk[1]), &v); err != nil {
			t.Errorf("a JSON data block does not parse: %v", err)
		}
	}
}

func TestHostileTextShowsAsText(t *testing.T) {
	f := newFolder(t)
	flows := []any{
		f.conn(0, "192.0.2.1:40000", "198.51.100.1:80", "http", []block{
			{dir: 0, data: "GET /" + hostile + " HTTP/1.1\r\nHost: x\r\n\r\n"},
			{dir: 1, data: "HTTP/1.1 200 OK\r\n\r\n" + hostile + "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15"},
		}),
		f.conn(1, "192.0.2.1:40001", "198.51.100.1:80", hostile, []block{{dir: 0, data: hostile}}),
	}
	f.jsonl("flows.jsonl", flows...)
	f.write("files/http/evil.html", []byte(hostile))
	f.write("files/http/javascript:alert(1)", []byte("x"))
	f.jsonl("manifest.jsonl",
		map[string]any{"fuid": "F000001", "uid": "C000000", "source": "HTTP", "filename": hostile, "server_path": "javascript:alert(1)//" + hostile,
			"command": "GET", "mime_type": "text/html", "extracted": "files/http/evil.html", "seen_bytes": len(hostile), "state": "complete", "sha256": "ab"},
		map[string]any{"fuid": "F000002", "uid": "C000000", "source": "HTTP", "filename": "javascript:alert(1)",
			"mime_type": "image/png", "extracted": "files/http/javascript:alert(1)", "state": "complete"})
	f.jsonl("http.jsonl", map[string]any{"ts": json.Number("1704067200.000000"), "uid": "C000000", "method": "GET", "uri": "/" + hostile,
		"user_agent": hostile, "resp_extracted": []string{"files/http/evil.html", "javascript:alert(1)"}})
	f.jsonl("ftp.jsonl", map[string]any{"ts": json.Number("1704067200.000000"), "uid": "C000000", "command": "RETR", "arg": hostile, "reply_code": 550, "reply_msg": hostile})
	f.jsonl("notices.jsonl", map[string]any{"ts": json.Number("1704067200.000000"), "uid": "C000000", "note": hostile, "msg": hostile})
	f.jsonl(hostile[:8]+".jsonl", map[string]any{hostile: hostile})

	for _, rows := range []int{100, 1} { // conversations as HTML, then as JSON for the script
		page := render(t, f.dir, Options{Rows: rows})
		lazy := 0
		if rows == 1 {
			lazy = 1
		}
		checkSafe(t, page, lazy)
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("rows=%d: the hostile text is not on the page as text", rows)
		}
		if !strings.Contains(page, "&lt;U&#43;202E&gt;") && !strings.Contains(page, `\u003cU+202E\u003e`) {
			t.Errorf("rows=%d: U+202E is not shown as an escape", rows)
		}
		if !strings.Contains(page, `href="./files/http/javascript%3Aalert%281%29"`) && !strings.Contains(page, `href="./files/http/javascript%3Aalert%281%29`) {
			t.Errorf("rows=%d: the file named javascript:… is not linked as a relative path:\n%s", rows, grep(page, "javascript%3A"))
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestLinksStayInsideTheFolder(t *testing.T) {
	f := newFolder(t)
	f.write("files/http/a b#?.txt", []byte("x"))
	f.write("files/ok.txt", []byte("x"))
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	if err := os.Symlink(outside, filepath.Join(f.dir, "files", "link")); err != nil {
		t.Fatal(err)
	}
	lk, err := newLinker(f.dir, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rel, want string }{
		{"files/ok.txt", "./files/ok.txt"},
		{"files/http/a b#?.txt", "./files/http/a%20b%23%3F.txt"},
		{"files/./http/../ok.txt", "./files/ok.txt"},
		{"../secret", ""},
		{"files/../../secret", ""},
		{outside, ""},
		{"/etc/passwd", ""},
		{"files/link", ""},    // a symlink out of the folder
		{"files", ""},         // a directory
		{"files/nope", ""},    // not there
		{"files\\ok.txt", ""}, // backslashes are not separators here
		{"", ""},
		{"javascript:alert(1)", ""},
	} {
		if got := lk.href(c.rel); got != c.want {
			t.Errorf("href(%q) = %q, want %q", c.rel, got, c.want)
		}
	}
	// A report written elsewhere links back into the folder.
	other := t.TempDir()
	lk2, err := newLinker(f.dir, other)
	if err != nil {
		t.Fatal(err)
	}
	got := lk2.href("files/ok.txt")
	if !strings.HasPrefix(got, "../") || !strings.HasSuffix(got, "/files/ok.txt") {
		t.Errorf("href from another folder = %q", got)
	}
	if p, _ := filepath.Abs(filepath.Join(other, filepath.FromSlash(got))); !sameFile(p, filepath.Join(f.dir, "files", "ok.txt")) {
		t.Errorf("%q from %s does not reach the file", got, other)
	}
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func TestUnknownLogsShowAsTables(t *testing.T) {
	f := newFolder(t)
	f.jsonl("flows.jsonl")
	f.jsonl("dns-over-tcp.jsonl",
		`{"ts":1704067200.250000,"uid":"C000007","query":"example.org","answers":["192.0.2.1","192.0.2.2"]}`,
		`{"ts":1704067201.000000,"uid":"C000008","query":"b.example","rcode":3,"extra":{"a":1}}`,
		"not json",
		`[1,2,3]`)
	fo, err := Load(f.dir, f.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lg := fo.Logs["dns-over-tcp.jsonl"]
	if lg == nil || lg.Lines != 4 || lg.Bad != 2 || len(lg.Records) != 2 {
		t.Fatalf("log = %+v", lg)
	}
	v := fo.logTable(lg, lg.Name, "x", nil, Options{}.withDefaults())
	if got, want := strings.Join(v.Heads, ","), "ts,uid,query,answers,rcode,extra"; got != want {
		t.Errorf("heads %s, want %s", got, want)
	}
	if c := v.Rows[0][0]; c.Text != "2024-01-01 00:00:00.250000" {
		t.Errorf("ts cell %+v", c)
	}
	if c := v.Rows[0][1]; len(c.Links) != 1 || c.Links[0].Href != "#c-C000007" {
		t.Errorf("uid cell %+v", c)
	}
	if c := v.Rows[0][3]; c.Text != `["192.0.2.1","192.0.2.2"]` {
		t.Errorf("answers cell %+v", c)
	}
	if c := v.Rows[1][5]; c.Text != "a=1" {
		t.Errorf("extra cell %+v", c)
	}
	page := render(t, f.dir, Options{})
	for _, want := range []string{`id="log-0"`, "dns-over-tcp.jsonl", "b.example", "2 lines are not JSON objects"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestConversationFollowsTheTranscript(t *testing.T) {
	f := newFolder(t)
	fl := f.conn(3, "192.0.2.1:40000", "198.51.100.1:21", "ftp", []block{
		{dir: 1, data: "220 ready\r\n"},
		{dir: 0, data: "USER alice\r\n"},
		{dir: 1, data: "331 ok\r\n"},
		{dir: 0, data: "PASS x\r\n", gap: 100},
		// a payload line that looks like a block header must stay payload
		{dir: 1, data: "230 in\r\n>>> 2024-01-01T00:00:00.000000Z  192.0.2.1:40000 -> 198.51.100.1:21  offset 2\r\nmore\r\n"},
	})
	f.jsonl("flows.jsonl", fl)
	fo, err := Load(f.dir, f.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var c *Conversation
	fo.eachFlow(0, 1, func(_ int, fl *Flow) error { c = fo.loadConversation(fl, 1<<20); return nil })
	var got []string
	for _, b := range c.Blocks {
		s := fmt.Sprintf("%s%d@%d", b.Kind, b.Dir, b.Off)
		if b.Kind == "data" {
			s += ":" + strings.Join(b.Pieces[0].Text, "")
		}
		got = append(got, s)
	}
	want := []string{"data1@0:220 ready\n", "data0@0:USER alice\n", "data1@11:331 ok\n", "gap0@12",
		"data0@112:PASS x\n", "data1@19:230 in\n>>> 2024-01-01T00:00:00.000000Z  192.0.2.1:40000 -> 198.51.100.1:21  offset 2\nmore\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("blocks\n got %q\nwant %q\nnotes %q", got, want, c.Notes)
	}

	// The budget cuts and says so.
	fo.eachFlow(0, 1, func(_ int, fl *Flow) error { c = fo.loadConversation(fl, 15); return nil })
	if c.Shown != 15 || c.Blocks[len(c.Blocks)-1].Kind != "cut" || len(c.Links) != 3 {
		t.Errorf("cut conversation: shown %d, blocks %+v, links %+v", c.Shown, c.Blocks, c.Links)
	}
}

func TestForgedHeaderIsPayload(t *testing.T) {
	f := newFolder(t)
	fl := f.conn(0, "192.0.2.1:40000", "198.51.100.1:80", "", []block{
		{dir: 0, data: "hello\n"},
		{dir: 1, data: "world\n>>> 2024-01-01T00:00:00.000000Z  192.0.2.1:40000 -> 198.51.100.1:80  offset 3\nforged\n"},
	})
	f.jsonl("flows.jsonl", fl)
	fo, _ := Load(f.dir, f.dir, Options{})
	var c *Conversation
	fo.eachFlow(0, 1, func(_ int, fl *Flow) error { c = fo.loadConversation(fl, 1<<20); return nil })
	if len(c.Notes) != 0 || len(c.Blocks) != 2 || c.Blocks[1].Len != int64(len("world\n>>> 2024-01-01T00:00:00.000000Z  192.0.2.1:40000 -> 198.51.100.1:80  offset 3\nforged\n")) {
		t.Errorf("forged header: notes %q blocks %+v", c.Notes, c.Blocks)
	}

	// Without the .txt the sides are shown one after the other, and the
	// page says why.
	os.Remove(filepath.Join(f.dir, fl["transcript"].(string)))
	fo, _ = Load(f.dir, f.dir, Options{})
	fo.eachFlow(0, 1, func(_ int, fl *Flow) error { c = fo.loadConversation(fl, 1<<20); return nil })
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "each side is shown on its own") || len(c.Blocks) != 2 {
		t.Errorf("no .txt: notes %q blocks %+v", c.Notes, c.Blocks)
	}
}

func TestTextRunsAndHex(t *testing.T) {
	runs := textRuns([]byte("a\r\nb\x00c\u202ed\xff"))
	if got := strings.Join(runs, "|"); got != `a`+"\n"+`b|\x00|c|<U+202E>|d|\xff` {
		t.Errorf("runs %q", runs)
	}
	p := pieces(append([]byte("HTTP/1.1 200 OK\r\n\r\n"), bytes.Repeat([]byte{0x1f, 0x8b, 0, 1, 2, 0xff}, 20)...), 0)
	if len(p) != 2 || p[0].Text == nil || !strings.HasPrefix(p[1].Hex, "00000013  1f 8b 00 01 02 ff") {
		t.Errorf("pieces %+v", p)
	}
}

// TestLargeFolder renders a synthetic folder of 100 000 connections (one
// in ten with a transcript) and checks the time and size stay bounded.
func TestLargeFolder(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	f := newFolder(t)
	start := time.Now()
	var fl bytes.Buffer
	for i := range n {
		orig := fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 1024+i%60000)
		resp := fmt.Sprintf("198.51.100.%d:%d", i%7, []int{80, 443, 21, 8080}[i%4])
		var rec map[string]any
		if i%10 == 0 {
			rec = f.conn(i, orig, resp, "http", []block{
				{dir: 0, data: fmt.Sprintf("GET /item/%d HTTP/1.1\r\nHost: example\r\n\r\n", i)},
				{dir: 1, data: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
			})
		} else {
			oh, op, _ := strings.Cut(orig, ":")
			rh, rp, _ := strings.Cut(resp, ":")
			rec = map[string]any{"ts": json.Number(fmt.Sprintf("%d.%06d", 1704067200+i/1000, i%1000*1000)), "uid": fmt.Sprintf("C%06d", i),
				"id.orig_h": oh, "id.orig_p": json.Number(op), "id.resp_h": rh, "id.resp_p": json.Number(rp), "proto": "tcp",
				"orig_bytes": 0, "resp_bytes": 0, "conn_state": "S0", "history": "S", "stream": i, "state": "SYN-SENT",
				"last_ts": json.Number(fmt.Sprintf("%d.%06d", 1704067200+i/1000, i%1000*1000))}
		}
		j, _ := json.Marshal(rec)
		fl.Write(j)
		fl.WriteByte('\n')
	}
	f.write("flows.jsonl", fl.Bytes())
	t.Logf("made a folder of %d connections in %v", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	out := filepath.Join(f.dir, "report.html")
	if err := WriteFile(f.dir, out, false, Options{}); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report of %d connections: %.1f MiB in %v", n, float64(st.Size())/(1<<20), el.Round(time.Millisecond))
	if limit := int64(n) * 600; st.Size() > limit {
		t.Errorf("report is %d bytes, over %d", st.Size(), limit)
	}
	if el > 60*time.Second {
		t.Errorf("report took %v", el)
	}
	b, _ := os.ReadFile(out)
	page := string(b)
	if got := strings.Count(page, `<tr data-uid=`); got != DefaultRows {
		t.Errorf("%d HTML rows, want %d", got, DefaultRows)
	}
	if !strings.Contains(page, fmt.Sprintf(`"C%06d"`, n-1)) {
		t.Errorf("the last connection is not in the data")
	}
	if !strings.Contains(page, fmt.Sprintf(`id="t-C%06d"`, n-10)) {
		t.Errorf("the last conversation is not inlined")
	}
	if err := WriteFile(f.dir, out, false, Options{}); err == nil {
		t.Errorf("an existing report was overwritten")
	}
}
