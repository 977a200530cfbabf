package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamx/streamx/internal/pcapgen"
)

// The report is checked the way a person sees it: in a real browser.
//
// The test starts Debian's chromium headless with a fresh profile and
// drives it over the DevTools protocol (a websocket; the minimal RFC 6455
// client and CDP calls are below, standard library only). It loads
// report.html from file://, records every console message, script
// exception, log entry (CSP violations, files that fail to load), network
// request and JavaScript dialog, clicks connection rows with real mouse
// events, and reads the DOM back. Without chromium it skips, saying so.

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("SKIP: chromium not installed (no chromium or /usr/bin/chromium); the browser checks of report.html did not run. .ci/run installs it: apt-get install chromium")
	return ""
}

// browser is a headless chromium with one page, driven over CDP.
type browser struct {
	t      *testing.T
	cmd    *exec.Cmd
	ws     *wsConn
	mu     sync.Mutex
	nextID int
	calls  map[int]chan cdpMsg
	events []cdpMsg
}

type cdpMsg struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startBrowser(t *testing.T) *browser {
	bin := chromiumPath(t)
	// Not t.TempDir: Chromium's helper processes may still be writing the
	// profile when the test ends, and a failed removal would fail the test.
	profile, err := os.MkdirTemp("", "streamx-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 10 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--disable-extensions", "--user-data-dir="+profile, "--remote-debugging-port=0", "--window-size=1400,1000", "about:blank")
	// its own process group, so that closing it ends its helpers too
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, cmd: cmd, calls: map[int]chan cdpMsg{}}
	t.Cleanup(b.close)
	// "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := regexp.MustCompile(`DevTools listening on (ws://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools port in 30s")
	}
	u, _ := url.Parse(wsURL)
	// the page target
	var targets []struct{ Type, WebSocketDebuggerURL string }
	for range 50 {
		resp, err := http.Get("http://" + u.Host + "/json/list")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		if len(targets) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var pageURL string
	for _, tg := range targets {
		if tg.Type == "page" {
			pageURL = tg.WebSocketDebuggerURL
		}
	}
	if pageURL == "" {
		t.Fatalf("no page target in %+v", targets)
	}
	b.ws, err = wsDial(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	go b.readLoop()
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		b.call(m, nil)
	}
	return b
}

// shot saves a screenshot of the viewport to $STREAMX_REPORT_SHOTS/name.png
// when that variable names a folder (for looking at the page by eye).
func (b *browser) shot(name string) {
	dir := os.Getenv("STREAMX_REPORT_SHOTS")
	if dir == "" {
		return
	}
	var r struct{ Data []byte }
	json.Unmarshal(b.call("Page.captureScreenshot", map[string]any{"format": "png"}), &r)
	os.WriteFile(filepath.Join(dir, name+".png"), r.Data, 0o644)
}

func (b *browser) eventCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

func (b *browser) close() {
	if b.ws != nil {
		b.ws.c.Close()
	}
	if b.cmd.Process != nil {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
}

func (b *browser) readLoop() {
	for {
		raw, err := b.ws.read()
		if err != nil {
			return
		}
		var m cdpMsg
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.calls[m.ID]; ch != nil {
				ch <- m
				delete(b.calls, m.ID)
			}
		} else {
			b.events = append(b.events, m)
		}
		b.mu.Unlock()
		if m.Method == "Page.javascriptDialogOpening" {
			// dismiss it (recorded as a problem above), without waiting
			msg, _ := json.Marshal(map[string]any{"id": 1 << 30, "method": "Page.handleJavaScriptDialog", "params": map[string]any{"accept": true}})
			b.ws.writeText(msg)
		}
	}
}

func (b *browser) call(method string, params any) json.RawMessage {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMsg, 1)
	b.calls[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := b.ws.writeText(msg); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		return m.Result
	case <-time.After(30 * time.Second):
		b.t.Fatalf("%s: no answer in 30s", method)
	}
	return nil
}

// eval runs a JavaScript expression (promises awaited) and decodes its
// value into v.
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	res := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	json.Unmarshal(res, &r)
	if r.ExceptionDetails != nil {
		b.t.Fatalf("evaluating %.80q: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if v != nil {
		if err := json.Unmarshal(r.Result.Value, v); err != nil {
			b.t.Fatalf("evaluating %.80q: %v (%s)", expr, err, r.Result.Value)
		}
	}
}

// open loads a page and waits for it to finish loading.
func (b *browser) open(path string) {
	b.t.Helper()
	abs, _ := filepath.Abs(path)
	b.mu.Lock()
	b.events = nil
	b.mu.Unlock()
	b.call("Page.navigate", map[string]any{"url": (&url.URL{Scheme: "file", Path: abs}).String()})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		b.eval(`document.readyState + (document.getElementById("conn-table") ? "+" : "")`, &state)
		if state == "complete+" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s did not load in 30s (%s)", path, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click presses the mouse in the middle of the element selected.
func (b *browser) click(selector string) {
	b.t.Helper()
	var r struct{ X, Y float64 }
	b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect(); return {X: r.left + Math.min(r.width / 2, 20), Y: r.top + r.height / 2}; })()`, selector), &r)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": r.X, "y": r.Y, "button": "left", "clickCount": 1})
	}
}

// problems lists what a person would call broken: script errors, console
// errors, log errors (CSP violations, files that do not load), dialogs,
// requests that leave the disk.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		switch e.Method {
		case "Runtime.exceptionThrown":
			out = append(out, "exception: "+string(e.Params))
		case "Runtime.consoleAPICalled":
			var p struct{ Type string }
			json.Unmarshal(e.Params, &p)
			if p.Type == "error" || p.Type == "assert" || p.Type == "warning" {
				out = append(out, "console "+p.Type+": "+string(e.Params))
			}
		case "Log.entryAdded":
			var p struct {
				Entry struct{ Level, Text, URL string }
			}
			json.Unmarshal(e.Params, &p)
			if p.Entry.Level == "error" || p.Entry.Level == "warning" {
				out = append(out, "log "+p.Entry.Level+": "+p.Entry.Text+" "+p.Entry.URL)
			}
		case "Page.javascriptDialogOpening":
			out = append(out, "dialog: "+string(e.Params))
		case "Network.requestWillBeSent":
			var p struct{ Request struct{ URL string } }
			json.Unmarshal(e.Params, &p)
			if !strings.HasPrefix(p.Request.URL, "file:") && !strings.HasPrefix(p.Request.URL, "data:") {
				out = append(out, "network request: "+p.Request.URL)
			}
		}
	}
	return out
}

// pageFacts is what the checks read back from the DOM.
type pageFacts struct {
	Rows    int      `json:"rows"`
	Charts  int      `json:"charts"`
	Links   []string `json:"links"`
	Images  []bool   `json:"images"`
	Scripts int      `json:"scripts"`
	Handler int      `json:"handlers"`
	Text    string   `json:"text"`
}

const factsJS = `(async () => {
	const imgs = [...document.querySelectorAll("img")];
	const loaded = await Promise.all(imgs.map(i => { i.loading = "eager"; return i.decode().then(() => i.naturalWidth > 0, () => false); }));
	let handlers = 0;
	for (const e of document.querySelectorAll("*")) for (const a of e.attributes) if (/^on/i.test(a.name)) handlers++;
	return {
		rows: document.querySelectorAll("#conn-table tbody tr[data-uid]").length,
		charts: document.querySelectorAll("#charts svg rect, #charts svg line").length,
		links: [...document.querySelectorAll("a[href], img[src]")].map(a => a.href || a.src).filter(h => !h.includes("#")),
		images: loaded,
		scripts: document.querySelectorAll("script:not([type='application/json'])").length,
		handlers: handlers,
		text: document.body.innerText,
	};
})()`

// checkLinks: every link and image of the page is a file inside dir that
// exists.
func checkLinks(t *testing.T, dir string, links []string) {
	t.Helper()
	realDir, _ := filepath.EvalSymlinks(dir)
	for _, l := range links {
		u, err := url.Parse(l)
		if err != nil || u.Scheme != "file" {
			t.Errorf("link %q is not a file", l)
			continue
		}
		p, err := filepath.EvalSymlinks(u.Path)
		if err != nil {
			t.Errorf("link %q does not resolve: %v", l, err)
			continue
		}
		if rel, err := filepath.Rel(realDir, p); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("link %q leaves the output folder", l)
		}
	}
}

func extractForTest(t *testing.T, pcap string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	var stderr bytes.Buffer
	if code := runWith([]string{"extract", pcap, "-o", out}, io.Discard, &stderr); code != 0 {
		t.Fatalf("extract %s: exit %d: %s", pcap, code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Fatalf("extract wrote no report.html: %v", err)
	}
	return out
}

func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: the headless chromium checks of report.html did not run")
	}
	b := startBrowser(t)

	t.Run("sample", func(t *testing.T) {
		b.t = t
		out := extractForTest(t, "../../testdata/real/sample/capture.pcap")
		b.open(filepath.Join(out, "report.html"))
		var f pageFacts
		b.eval(factsJS, &f)
		if f.Rows != 9 {
			t.Errorf("%d connection rows, want 9", f.Rows)
		}
		if f.Charts < 10 {
			t.Errorf("charts have %d elements", f.Charts)
		}
		if len(f.Links) < 20 {
			t.Errorf("only %d links", len(f.Links))
		}
		checkLinks(t, out, f.Links)
		if len(f.Images) == 0 {
			t.Errorf("no image preview (the sample carries image.png)")
		}
		for i, ok := range f.Images {
			if !ok {
				t.Errorf("image %d did not load", i)
			}
		}
		for _, want := range []string{"capture.pcap", "image.png", "report.pdf", "USER alice", "Login successful.", "/data.json"} {
			if !strings.Contains(f.Text, want) {
				t.Errorf("page text lacks %q", want)
			}
		}
		// A click on the HTTP connection's row opens its conversation.
		var uid string
		b.eval(`[...document.querySelectorAll("#conn-table tbody tr[data-uid]")].find(r => r.cells[4].textContent === "http").dataset.uid`, &uid)
		b.click(fmt.Sprintf(`#conn-table tr[data-uid=%q] td:nth-child(3)`, uid))
		var conv struct {
			Text         string
			Orig, Resp   int
			Hex, Charted int
		}
		b.eval(fmt.Sprintf(`(() => { const r = document.querySelector('#conn-table tr[data-uid=%q]').nextElementSibling;
			return r && r.classList.contains("conv-row") ? {Text: r.textContent, Orig: r.querySelectorAll(".blk.d0").length,
			Resp: r.querySelectorAll(".blk.d1").length, Hex: r.querySelectorAll("pre.hex").length} : {Text: ""}; })()`, uid), &conv)
		b.shot("sample-conversation")
		if !strings.Contains(conv.Text, "GET /index.html HTTP/1.1") || !strings.Contains(conv.Text, "HTTP/1.1 200 OK") {
			t.Errorf("the opened conversation lacks the request and response: %.300q", conv.Text)
		}
		if conv.Orig == 0 || conv.Resp == 0 || conv.Hex == 0 {
			t.Errorf("conversation: %d originator blocks, %d responder blocks, %d hex views", conv.Orig, conv.Resp, conv.Hex)
		}
		// A second click closes it.
		b.click(fmt.Sprintf(`#conn-table tr[data-uid=%q] td:nth-child(3)`, uid))
		var open int
		b.eval(`document.querySelectorAll("#conn-table tr.conv-row").length`, &open)
		if open != 0 {
			t.Errorf("the conversation did not close")
		}
		// Sorting by bytes and filtering work.
		var first string
		b.click(`#conn-table th[data-k="9"]`)
		b.eval(`document.querySelector("#conn-table tbody tr").cells[7].textContent`, &first)
		if first != "8491" && first != "6606" && first == "0" {
			t.Errorf("after sorting by bytes received the first row has %s", first)
		}
		b.eval(`(() => { const i = document.getElementById("conn-filter"); i.value = "tls"; i.dispatchEvent(new Event("input")); return document.querySelectorAll("#conn-table tbody tr[data-uid]").length; })()`, &open)
		if open != 1 {
			t.Errorf("filter tls: %d rows, want 1", open)
		}
		if p := b.problems(); len(p) > 0 {
			t.Errorf("the browser reported:\n%s", strings.Join(p, "\n"))
		}
		t.Logf("sample: %d rows, %d chart elements, %d links and images (all inside the folder), %d images loaded, conversation of %s opened (%d+%d blocks, %d hex views), %d browser events, no problems",
			f.Rows, f.Charts, len(f.Links), len(f.Images), uid, conv.Orig, conv.Resp, conv.Hex, b.eventCount())
		// The harness hears what it listens for.
		b.eval(`console.error("harness check"); setTimeout(() => { throw new Error("harness check") }, 0); setTimeout(() => alert("harness check"), 0); new Promise(r => setTimeout(r, 300))`, nil)
		if p := b.problems(); len(p) != 3 {
			t.Errorf("the harness did not hear a console error, an exception and a dialog: %q", p)
		}
	})

	t.Run("hostile", func(t *testing.T) {
		b.t = t
		pcap := filepath.Join(t.TempDir(), "hostile.pcap")
		writeHostile(t, pcap)
		out := extractForTest(t, pcap)
		// and the same folder with one HTML row: the other conversations
		// are built by the script from JSON
		if code := runWith([]string{"report", out, "-o", filepath.Join(out, "report-rows1.html"), "--rows", "1"}, io.Discard, io.Discard); code != 0 {
			t.Fatalf("report: exit %d", code)
		}
		for _, page := range []string{"report.html", "report-rows1.html"} {
			b.open(filepath.Join(out, page))
			// open every conversation
			var uids []string
			b.eval(`[...document.querySelectorAll("#conn-table tbody tr[data-uid]")].map(r => r.dataset.uid)`, &uids)
			for _, u := range uids {
				b.click(fmt.Sprintf(`#conn-table tr[data-uid=%q] td:nth-child(3)`, u))
			}
			b.shot("hostile-" + strings.TrimSuffix(page, ".html"))
			var convText string
			b.eval(`[...document.querySelectorAll("#conn-table tr.conv-row")].map(r => r.textContent).join("\n")`, &convText)
			var f pageFacts
			b.eval(factsJS, &f)
			if f.Scripts != 1 {
				t.Errorf("%s: %d script elements run, want the report's 1", page, f.Scripts)
			}
			if f.Handler != 0 {
				t.Errorf("%s: %d event handler attributes in the DOM", page, f.Handler)
			}
			checkLinks(t, out, f.Links)
			for _, want := range []string{"<script>alert(1)</script>", "<img src=x onerror=alert(6)>", "RETR <script>alert(8)</script>.txt", "<U+202E>"} {
				if !strings.Contains(f.Text, want) {
					t.Errorf("%s: the page does not show %q as text", page, want)
				}
			}
			for _, want := range []string{"<script>alert(1)</script>", "<img src=x onerror=alert(6)>", "file <script>alert(9)</script>"} {
				if !strings.Contains(convText, want) {
					t.Errorf("%s: the opened conversations do not show %q as text", page, want)
				}
			}
			if p := b.problems(); len(p) > 0 {
				t.Errorf("%s: the browser reported:\n%s", page, strings.Join(p, "\n"))
			}
			t.Logf("hostile %s: %d rows, %d conversations opened (%d bytes of text), %d links and images inside the folder, 1 script, no event handlers, no dialog, no problems",
				page, f.Rows, len(uids), len(convText), len(f.Links))
		}
	})
}

// TestReportPublicCapturesInChromium opens the report of every public
// capture in ../shared/pcaps/real, opens its first conversations and
// checks the browser reports nothing (no script error, no CSP violation, no
// file that fails to load) and every link stays in the folder.
func TestReportPublicCapturesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: the headless chromium checks of report.html did not run")
	}
	caps, _ := filepath.Glob("../../../shared/pcaps/real/*.pcap*")
	if len(caps) == 0 {
		t.Skip("SKIP: ../shared/pcaps/real is absent: the reports of the public captures were not checked in chromium")
	}
	b := startBrowser(t)
	for _, pc := range caps {
		t.Run(filepath.Base(pc), func(t *testing.T) {
			b.t = t
			out := filepath.Join(t.TempDir(), "out")
			if code := runWith([]string{"extract", "-q", pc, "-o", out}, io.Discard, io.Discard); code != 0 && code != 1 {
				t.Fatalf("extract: exit %d", code)
			}
			b.open(filepath.Join(out, "report.html"))
			var opened int
			b.eval(`(() => { const rows = [...document.querySelectorAll("#conn-table tbody tr[data-uid]")].slice(0, 10);
				rows.forEach(r => r.cells[2].click()); return document.querySelectorAll("#conn-table tr.conv-row").length; })()`, &opened)
			var f pageFacts
			b.eval(factsJS, &f)
			if f.Rows > 0 && opened == 0 {
				t.Errorf("no conversation opened")
			}
			checkLinks(t, out, f.Links)
			for i, ok := range f.Images {
				if !ok {
					t.Errorf("image %d did not load", i)
				}
			}
			if p := b.problems(); len(p) > 0 {
				t.Errorf("the browser reported:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// writeHostile writes a capture whose payloads and names are markup and
// script: an HTTP exchange and an FTP session with a passive download.
func writeHostile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgen.NewWriter(f, pcapgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := netip.MustParseAddr("192.0.2.10")
	server := netip.MustParseAddr("198.51.100.20")
	body := "<html><script>alert(5)</script><img src=x onerror=alert(6)></html>\n"
	h := w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(client, 40000), Server: netip.AddrPortFrom(server, 80), ClientISN: 1000, ServerISN: 2000})
	h.Handshake()
	h.Send(true, []byte("GET /<script>alert(1)</script>?q=\"'javascript:alert(2)</style>\u202egpj.exe HTTP/1.1\r\nHost: evil.example\r\nUser-Agent: <script>alert(3)</script>\r\n\r\n"))
	h.Send(false, []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"<img src=x onerror=alert(4)>.html\"\r\nContent-Length: %d\r\n\r\n%s", len(body), body)))
	h.Close()

	c := w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(client, 40001), Server: netip.AddrPortFrom(server, 21), ClientISN: 3000, ServerISN: 4000})
	c.Handshake()
	for _, x := range []struct {
		client bool
		line   string
	}{
		{false, "220 <script>alert(7)</script> ready"},
		{true, "USER <b>bob</b>"}, {false, "331 ok"},
		{true, "PASS x"}, {false, "230 ok"},
		{true, "TYPE I"}, {false, "200 ok"},
		{true, "PASV"}, {false, "227 Entering Passive Mode (198,51,100,20,117,48)"},
		{true, "RETR <script>alert(8)</script>.txt"}, {false, "150 here it comes"},
	} {
		c.Send(x.client, []byte(x.line+"\r\n"))
	}
	d := w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(client, 40002), Server: netip.AddrPortFrom(server, 30000), ClientISN: 5000, ServerISN: 6000})
	d.Handshake()
	d.Send(false, []byte("file <script>alert(9)</script>\n"))
	d.Close()
	c.Send(false, []byte("226 done\r\n"))
	c.Send(true, []byte("QUIT\r\n"))
	c.Send(false, []byte("221 bye\r\n"))
	c.Close()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// wsConn is a minimal RFC 6455 websocket client: text frames out (masked,
// as a client must), text/continuation/ping/close frames in.
type wsConn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex
}

func wsDial(rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	return &wsConn{c: c, r: r}, nil
}

func (w *wsConn) writeFrame(op byte, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	hdr := []byte{0x80 | op}
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	buf := make([]byte, len(p))
	for i := range p {
		buf[i] = p[i] ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, buf...))
	return err
}

func (w *wsConn) writeText(p []byte) error { return w.writeFrame(0x1, p) }

// read returns the next whole text message.
func (w *wsConn) read() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		var mask [4]byte
		masked := h[1]&0x80 != 0
		if masked {
			if _, err := io.ReadFull(w.r, mask[:]); err != nil {
				return nil, err
			}
		}
		if n > 256<<20 {
			return nil, errors.New("websocket: frame too large")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.r, p); err != nil {
			return nil, err
		}
		if masked {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, io.EOF
		case 0x9:
			w.writeFrame(0xA, p)
			continue
		case 0xA:
			continue
		}
		msg = append(msg, p...)
		if fin {
			return msg, nil
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"65536", 65536, true}, {"64KiB", 64 << 10, true}, {"64k", 64 << 10, true}, {"1MiB", 1 << 20, true},
		{"2 GiB", 2 << 30, true}, {"10B", 10, true}, {"", 0, false}, {"-1", 0, false}, {"1.5MiB", 0, false}, {"lots", 0, false},
	} {
		got, err := parseByteSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseByteSize(%q) = %d, %v", c.in, got, err)
		}
	}
}

// streamx report DIR -o FILE elsewhere: the page's links lead back into DIR.
func TestReportElsewhere(t *testing.T) {
	out := extractForTest(t, "../../testdata/real/http-nginx/capture.pcap")
	page := filepath.Join(t.TempDir(), "sub", "case.html")
	os.MkdirAll(filepath.Dir(page), 0o755)
	var stderr bytes.Buffer
	if code := runWith([]string{"report", out, "-o", page}, io.Discard, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(page)
	links := regexp.MustCompile(`(?:href|src)="(\.\.?/[^"#]*)"`).FindAllStringSubmatch(string(b), -1)
	if len(links) < 5 {
		t.Fatalf("only %d links", len(links))
	}
	var abs []string
	for _, l := range links {
		p, _ := url.PathUnescape(l[1])
		abs = append(abs, (&url.URL{Scheme: "file", Path: filepath.Join(filepath.Dir(page), filepath.FromSlash(p))}).String())
	}
	checkLinks(t, out, abs)
	// not an output folder
	if code := runWith([]string{"report", t.TempDir()}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("report of an empty folder: exit %d, want %d", code, exitUsage)
	}
}
