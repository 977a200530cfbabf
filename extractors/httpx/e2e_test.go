package httpx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/internal/testcap"
	"github.com/streamx/streamx/manifest"
	"github.com/streamx/streamx/sink"
)

// extraction is what the real pipeline (engine, Mux, this extractor, the
// sink and its manifest) wrote for some captures.
type extraction struct {
	dir     string
	entries []manifest.Entry
	logs    []record
	bySHA   map[string]manifest.Entry // complete files
	stats   Stats
}

// extract runs the pipeline as `streamx extract` does, in-process, into a
// temporary folder.
func extract(t *testing.T, opts extractors.Options, captures ...string) *extraction {
	t.Helper()
	dir := t.TempDir()
	man, err := manifest.NewWriter(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sink.New(dir, sink.Options{Manifest: man})
	if err != nil {
		t.Fatal(err)
	}
	logs := extractors.NewLogs(dir)
	env := &extractors.Env{Sink: sk, Logs: logs, Expect: &extractors.Expectations{}, Options: opts}
	p := New()
	p.HoldRanges = true
	mux := extractors.NewMux(env, p)
	cfg := engine.Config{Inputs: captures, NewHandler: mux.NewHandler}
	if _, err := engine.Run(context.Background(), cfg); err != nil {
		t.Fatalf("engine.Run: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	logs.Close()
	man.Close()
	x := &extraction{dir: dir, bySHA: map[string]manifest.Entry{}, stats: p.Stats()}
	readJSONL(t, filepath.Join(dir, "manifest.jsonl"), func(b []byte) {
		var e manifest.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("manifest line %s: %v", b, err)
		}
		x.entries = append(x.entries, e)
		if e.State == manifest.StateComplete {
			x.bySHA[e.SHA256] = e
		}
	})
	readJSONL(t, filepath.Join(dir, "http.jsonl"), func(b []byte) {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("http.jsonl line %s: %v", b, err)
		}
		x.logs = append(x.logs, r)
	})
	return x
}

func readJSONL(t *testing.T, path string, each func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		each(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func (x *extraction) read(t *testing.T, e manifest.Entry) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(x.dir, filepath.FromSlash(e.Extracted)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (x *extraction) byFUID(fuid string) (manifest.Entry, bool) {
	for _, e := range x.entries {
		if e.FUID == fuid {
			return e, true
		}
	}
	return manifest.Entry{}, false
}

// sliceHashes are the SHA-256 of every 206 piece, cut from the assembled
// files at the Content-Range each response announced: how a piece tshark
// exports on its own is found in streamx's stitched file.
func (x *extraction) sliceHashes(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, r := range x.logs {
		cr, ok := parseContentRange(r.ContentRange)
		if !ok || len(r.RespFUIDs) == 0 {
			continue
		}
		e, ok := x.byFUID(r.RespFUIDs[0])
		if !ok {
			continue
		}
		b := x.read(t, e)
		if cr.last >= int64(len(b)) {
			continue
		}
		out[shaHex(b[cr.first:cr.last+1])] = r.ContentRange + " of " + e.Extracted
	}
	return out
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// publicDir is the folder of shared public captures, or a skip.
func publicDir(t *testing.T) string {
	t.Helper()
	return testcap.Shared(t, "public HTTP capture conformance")
}

func publicCaptures(t *testing.T) []string {
	dir := publicDir(t)
	var out []string
	for _, pat := range []string{"sv-http-*", "zeek-http-*", "tcpflow-http-*", "tcpflow-ipv6-*"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no HTTP captures in %s", dir)
	}
	return out
}

func captureBase(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// expectedRow is a row of the public captures' expected/<capture>.tsv.
type expectedRow struct {
	proto, name string
	size        int64
	sha, kind   string
}

func readExpected(t *testing.T, path string) []expectedRow {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var rows []expectedRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 6 {
			continue // header
		}
		n, _ := strconv.ParseInt(f[2], 10, 64)
		rows = append(rows, expectedRow{proto: f[0], name: f[1], size: n, sha: f[3], kind: f[5]})
	}
	return rows
}

// noObjects are public captures that carry no HTTP body at all (the
// MANIFEST says why): streamx must carve nothing from them.
var noObjects = map[string]string{
	"sv-http-head-chunked":              "HEAD response announcing chunked, no body",
	"sv-http-onesided-nosyn-3jpg":       "requests only, no response bytes",
	"zeek-http-304-keepalive-wikipedia": "only 304 responses",
	"zeek-http-nonstandard-port-1234":   "headers announce chunked+gzip, no body bytes in the capture",
	"zeek-http-get-nsec":                "GET answered by an SSH banner",
}

// TestPublicCaptures: every `file` row of expected/<capture>.tsv is
// recovered byte-exact, `truncated` rows are truncated, tool-specific
// rows are explained.
func TestPublicCaptures(t *testing.T) {
	caps := publicCaptures(t)
	dir := publicDir(t)
	for _, pc := range caps {
		base := captureBase(pc)
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			x := extract(t, extractors.Options{MaxDecodedSize: 1 << 30}, pc)
			if why, ok := noObjects[base]; ok {
				for _, e := range x.entries {
					t.Errorf("%s: carved %s (%d bytes) but the capture has no body: %s", base, e.Extracted, e.SeenBytes, why)
				}
			}
			rows := readExpected(t, filepath.Join(dir, "expected", base+".tsv"))
			slices := x.sliceHashes(t)
			var want, direct, sliced, heads int
			var tobjs map[string][]byte // tshark's objects by SHA-256, if needed
			for _, r := range rows {
				if !strings.HasPrefix(r.proto, "http") {
					continue // tcp-stream rows are the transcripts' business
				}
				url, _, _ := strings.Cut(r.name, " [")
				switch r.kind {
				case "file":
					want++
					if e, ok := x.bySHA[r.sha]; ok {
						direct++
						if e.SeenBytes != r.size {
							t.Errorf("%s: size %d, want %d", r.name, e.SeenBytes, r.size)
						}
					} else if where, ok := slices[r.sha]; ok {
						sliced++ // a 206 piece: in the stitched file
						t.Logf("%s: 206 piece found as %s", r.name, where)
					} else if tsharkOnlyHeads[base] && strings.HasPrefix(r.name, "tshark-name:") {
						// tshark's only: check it is a malformed request's head.
						if tobjs == nil {
							tobjs = tsharkObjects(t, pc)
						}
						if b, ok := tobjs[r.sha]; !ok {
							if _, err := exec.LookPath("tshark"); err == nil {
								t.Errorf("%s: not recovered, and tshark exports no such object", r.name)
							} else {
								t.Logf("%s: tshark-only row not checked (no tshark)", r.name)
							}
						} else if !x.badRequestHead(b) {
							t.Errorf("%s (%d bytes): not recovered, and not a malformed request head: %q", r.name, r.size, b)
						} else {
							heads++
						}
					} else {
						t.Errorf("%s (%d bytes, sha256 %.16s): not recovered", r.name, r.size, r.sha)
					}
				case "truncated":
					want++
					found := false
					for _, e := range x.entries {
						if e.ServerPath == url && e.State == manifest.StateTruncated {
							found = true
							direct++
						}
					}
					if !found {
						t.Errorf("%s: no truncated file for %s", r.name, url)
					}
				case "tool-specific":
					// suricata's hash of a file with holes skips the holes:
					// the same bytes must be ours with the holes cut out.
					for _, e := range x.entries {
						if e.ServerPath != url {
							continue
						}
						if e.State != manifest.StateTruncated || len(e.Holes) == 0 {
							t.Errorf("%s: %s, want truncated with holes", r.name, e.State)
							continue
						}
						b := x.read(t, e)
						var kept []byte
						at := int64(0)
						for _, h := range e.Holes {
							kept = append(kept, b[at:h.Offset]...)
							at = h.Offset + h.Length
						}
						kept = append(kept, b[at:]...)
						if int64(len(kept)) >= r.size && shaHex(kept[:r.size]) == r.sha {
							t.Logf("%s: tool-specific hash reproduced (holes at true offsets: %v)", r.name, e.Holes)
						} else {
							t.Errorf("%s: tool-specific hash not reproduced from our bytes", r.name)
						}
					}
				}
			}
			t.Logf("%s: %d expected objects: %d recovered (%d as 206 pieces of a stitched file), %d tshark-only malformed request heads; %d files carved, %d log lines",
				base, want, direct+sliced, sliced, heads, len(x.entries), len(x.logs))
		})
	}
}

// tsharkOnlyHeads are public captures whose expected.tsv (from tshark
// alone) lists the heads of malformed requests as objects: tshark exports
// what it cannot parse. streamx logs those requests (bad-request-line) and
// carves no file, since they have no body.
var tsharkOnlyHeads = map[string]bool{"zeek-http-methods-head-options-put": true}

// tsharkObjects returns the objects tshark exports from capture, by
// SHA-256 (empty when tshark is not installed).
func tsharkObjects(t *testing.T, capture string) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		return objs
	}
	out := filepath.Join(t.TempDir(), "objects")
	if b, err := exec.Command(tshark, "-n", "-r", capture, "-Q", "--export-objects", "http,"+out).CombinedOutput(); err != nil {
		t.Fatalf("tshark: %v: %s", err, b)
	}
	ents, _ := os.ReadDir(out)
	for _, o := range ents {
		b, _ := os.ReadFile(filepath.Join(out, o.Name()))
		objs[shaHex(b)] = b
	}
	return objs
}

// tsharkArtefacts are objects tshark exports that are not bodies, each
// with its reason (they are checked to be what the reason says).
var tsharkArtefacts = map[string]string{
	// MANIFEST: "tshark wrongly exports the 818 B header block as 'index.html'"
	"zeek-http-nonstandard-port-1234/c7a3acfc1bf0f45f": "the response header block (no body bytes in the capture)",
	// Only two server segments, no request and no response head.
	"tcpflow-http-out-of-order/4357994fe27c216e": "a 65-byte fragment of a response body without its head",
}

// TestTsharkExport: streamx recovers every object `tshark --export-objects
// http` exports, byte for byte (tshark exports decoded bodies). What tshark
// exports and streamx deliberately does differently is accounted for
// object by object: a multipart body (streamx splits it: each part must be
// there), a 206 piece (streamx stitches it: the piece must be in the
// stitched file at its range), a malformed request's head (streamx logs
// it as bad-request-line), and two known tshark artefacts.
func TestTsharkExport(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("SKIP: tshark not installed: tshark --export-objects comparison not run")
	}
	caps := publicCaptures(t)
	caps = append(caps, loopbackCaptures(t)...)
	// tshark mostly waits while it starts: run the exports eight at a time.
	root := t.TempDir()
	errs := make([]error, len(caps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, pc := range caps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command(tshark, "-n", "-r", pc, "-Q", "--export-objects", "http,"+filepath.Join(root, strconv.Itoa(i)))
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("tshark: %v: %s", err, b)
			}
		}()
	}
	wg.Wait()
	for i, pc := range caps {
		base := captureBase(pc)
		if base == "capture" {
			base = filepath.Base(filepath.Dir(pc))
		}
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			out := filepath.Join(root, strconv.Itoa(i))
			objs, _ := os.ReadDir(out)
			x := extract(t, extractors.Options{MaxDecodedSize: 1 << 30}, pc)
			slices := x.sliceHashes(t)
			var same, split, stitched, bad, artefacts int
			for _, o := range objs {
				b, err := os.ReadFile(filepath.Join(out, o.Name()))
				if err != nil {
					t.Fatal(err)
				}
				sum := shaHex(b)
				switch {
				case x.bySHA[sum].FUID != "":
					same++
				case slices[sum] != "":
					stitched++
				case x.multipartSplit(t, b):
					split++
				case x.badRequestHead(b):
					bad++
				case tsharkArtefacts[base+"/"+sum[:16]] != "":
					artefacts++
					t.Logf("tshark %s (%d bytes): not an object: %s", o.Name(), len(b), tsharkArtefacts[base+"/"+sum[:16]])
				default:
					t.Errorf("tshark exports %s (%d bytes, sha256 %.16s); streamx has no identical file", o.Name(), len(b), sum)
				}
			}
			t.Logf("%s: tshark %d objects: %d identical, %d multipart bodies split into their parts, %d 206 pieces stitched, %d malformed request heads, %d artefacts; streamx %d files",
				base, len(objs), same, split, stitched, bad, artefacts, len(x.entries))
		})
	}
}

// multipartSplit reports whether b is a multipart/form-data body of a
// logged request whose every non-empty part streamx carved identically.
func (x *extraction) multipartSplit(t *testing.T, b []byte) bool {
	for _, r := range x.logs {
		mt, params, err := mime.ParseMediaType(r.RequestContentType)
		if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
			continue
		}
		mr := multipart.NewReader(bytes.NewReader(b), params["boundary"])
		n := 0
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				n = -1
				break
			}
			data, _ := io.ReadAll(part)
			if len(data) > 0 && x.bySHA[shaHex(data)].FUID == "" {
				t.Errorf("multipart part %q (%d bytes) not carved", part.FileName(), len(data))
				return true
			}
			n++
		}
		if n > 0 {
			return true
		}
	}
	return false
}

// badRequestHead reports whether b is the head of a request whose line
// did not parse, logged as such ("OPTIONSHTTP/1.1", "GET/ HTTP/1.1"...).
func (x *extraction) badRequestHead(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	for _, r := range x.logs {
		if contains(r.Flags, "bad-request-line") && r.URI == string(line) {
			return true
		}
	}
	return false
}

// loopbackCaptures are the real loopback HTTP captures of testdata/real
// and testdata/http.
func loopbackCaptures(t *testing.T) []string {
	m, _ := filepath.Glob("../../testdata/real/http-*/capture.pcap")
	own, _ := filepath.Glob("../../testdata/http/*/capture.pcap")
	m = append(m, own...)
	if s := "../../testdata/real/sample/capture.pcap"; fileExists(s) {
		m = append(m, s)
	}
	sort.Strings(m)
	return m
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestLoopbackCaptures: the real nginx / python http.server / curl / wget
// captures of testdata/real: every HTTP row of expected.tsv (hashes of
// the original files) is recovered byte-exact, in the right direction.
func TestLoopbackCaptures(t *testing.T) {
	caps := loopbackCaptures(t)
	if len(caps) == 0 {
		t.Skip("SKIP: no testdata/real/http-* captures")
	}
	for _, pc := range caps {
		name := filepath.Base(filepath.Dir(pc))
		t.Run(name, func(t *testing.T) {
			x := extract(t, extractors.Options{MaxDecodedSize: 1 << 30}, pc)
			b, err := os.ReadFile(filepath.Join(filepath.Dir(pc), "expected.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			slices := x.sliceHashes(t)
			var want, got int
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) < 7 || f[0] != "http" || f[6] != "file" {
					continue
				}
				want++
				method, dir, url, sum := f[1], f[2], f[3], f[5]
				if _, ok := x.bySHA[sum]; ok {
					// the same bytes may come several times: one of them
					// must be this URL's, in this direction
					found := false
					for _, e := range x.entries {
						if e.SHA256 == sum && e.Command == method && e.ServerPath == url && e.IsOrig == (dir == "c2s") {
							found = true
						}
					}
					if found {
						got++
					} else {
						t.Errorf("%s %s %s: bytes carved, but not as this request's", method, dir, url)
					}
				} else if where := slices[sum]; where != "" {
					got++
					t.Logf("%s %s: 206 piece in %s", method, url, where)
				} else {
					t.Errorf("%s %s %s (%s bytes): not recovered", method, dir, url, f[4])
				}
			}
			t.Logf("%s: %d/%d expected objects recovered; %d files, %d log lines", name, got, want, len(x.entries), len(x.logs))
			if check := loopbackChecks[name]; check != nil {
				check(t, x)
			}
		})
	}
}

// loopbackChecks are what each capture's README says beyond its
// expected.tsv.
var loopbackChecks = map[string]func(t *testing.T, x *extraction){
	"http-nginx": func(t *testing.T, x *extraction) {
		status := map[string][]record{}
		for _, r := range x.logs {
			status[r.Method+" "+strconv.Itoa(r.StatusCode)] = append(status[r.Method+" "+strconv.Itoa(r.StatusCode)], r)
		}
		for _, want := range []struct {
			key  string
			n    int
			body bool
		}{{"HEAD 200", 1, false}, {"GET 304", 2, false}, {"GET 204", 1, false}, {"GET 404", 1, true}, {"GET 401", 1, true}, {"GET 206", 2, true}} {
			rs := status[want.key]
			if len(rs) != want.n {
				t.Errorf("%s: %d pairs, want %d", want.key, len(rs), want.n)
			}
			for _, r := range rs {
				if (len(r.RespFUIDs) > 0) != want.body || r.State != "complete" {
					t.Errorf("%s %s: files %v, state %s", want.key, r.URI, r.RespFUIDs, r.State)
				}
			}
		}
		// the error pages, hashed in the README
		for _, sum := range []string{"533a1ca5d6595793725bca7641d9461a0f00dd1732dded3e4281196f5dd21736", "a2105be4129677c7c10198153bda6d835c493242782717272e2c94b1c85d2169"} {
			if x.bySHA[sum].FUID == "" {
				t.Errorf("error page %.16s not carved", sum)
			}
		}
		// four objects on the first keep-alive connection
		if r := x.logs[3]; r.UID != x.logs[0].UID || r.TransDepth != 4 {
			t.Errorf("keep-alive: 4th pair on %s depth %d", r.UID, r.TransDepth)
		}
		var auth []string
		for _, r := range x.logs {
			if r.Username != "" {
				auth = append(auth, r.Username+":"+r.Password)
			}
		}
		if strings.Join(auth, " ") != "bob:wrong bob:hunter2" {
			t.Errorf("credentials %v", auth)
		}
	},
	"codings-upgrade-connect": func(t *testing.T, x *extraction) {
		tunnels := map[string]string{}
		for _, r := range x.logs {
			if contains(r.Flags, "tunnel") {
				tunnels[r.Method+" "+r.URI] = r.UID
				if len(r.RespFUIDs)+len(r.OrigFUIDs) > 0 {
					t.Errorf("%s %s: files carved from a tunnel", r.Method, r.URI)
				}
			}
		}
		if len(tunnels) != 2 || tunnels["CONNECT 127.0.0.1:8093"] == "" || tunnels["GET /ws"] == "" {
			t.Errorf("tunnels %v, want the CONNECT and the WebSocket upgrade", tunnels)
		}
		for _, r := range x.logs {
			if (r.UID == tunnels["CONNECT 127.0.0.1:8093"] || r.UID == tunnels["GET /ws"]) && r.TransDepth > 1 {
				t.Errorf("HTTP parsed inside a tunnel: %s %s", r.Method, r.URI)
			}
		}
		if len(x.entries) != 10 {
			t.Errorf("%d files, want the 10 bodies", len(x.entries))
		}
	},
	"http-python-upload": func(t *testing.T, x *extraction) {
		var put, pipelined []record
		for _, r := range x.logs {
			if r.Method == "PUT" {
				put = append(put, r)
			}
			if strings.HasPrefix(r.URI, "/files/") {
				pipelined = append(pipelined, r)
			}
		}
		if len(put) != 1 || put[0].InfoCode != 100 || put[0].StatusCode != 201 {
			t.Errorf("PUT with 100 Continue: %+v", put)
		}
		if len(pipelined) != 3 || pipelined[0].UID != pipelined[2].UID || pipelined[2].TransDepth != 3 {
			t.Errorf("pipelined GETs: %d", len(pipelined))
		}
		var names []string
		for _, e := range x.entries {
			if e.IsOrig && e.Command == "POST" && strings.HasSuffix(e.ServerPath, "/upload") {
				names = append(names, e.Filename)
			}
		}
		if strings.Join(names, " ") != "up-multipart.txt up-multipart.bin " {
			t.Errorf("multipart part names %q", names)
		}
	},
}
