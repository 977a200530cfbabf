package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/analysis"
	"github.com/streamx/streamx/extractors/tls"
)

// wantNotice is one finding a capture must give: its note, first
// connection, server port and count, and evidence fields (a subset of the
// notice's, compared as JSON).
type wantNotice struct {
	note string
	uid  string
	p    uint16
	n    int
	ev   map[string]any
}

// analysisCases are the loopback recordings of testdata/analysis (see
// record/record.sh and each README) and the findings each must give: every
// one exactly once, and nothing else.
var analysisCases = []struct {
	dir  string
	want []wantNotice
}{
	{"../../testdata/analysis/ftp-login", []wantNotice{
		{analysis.NoteFailedLogin, "C000001", 2121, 1, map[string]any{"user": "alice", "password": "guess", "reply_code": 530, "login": "failure"}},
		{analysis.NotePlaintextCredentials, "C000001", 2121, 1, map[string]any{"user": "alice", "password": "guess", "outcomes": []string{"refused"}}},
		{analysis.NotePlaintextCredentials, "C000015", 2121, 1, map[string]any{"user": "alice", "password": "s3cret", "outcomes": []string{"accepted"}, "reply_code": 230}},
	}},
	{"../../testdata/analysis/ftp-brute-force", []wantNotice{
		{analysis.NoteBruteForce, "C000001", 2121, 10, map[string]any{"failures": 10, "users": []string{"root", "admin", "alice", "test"},
			"then_logged_in": map[string]any{"uid": "C000141", "user": "alice"}}},
		{analysis.NotePlaintextCredentials, "C000141", 2121, 1, map[string]any{"user": "alice", "password": "s3cret", "outcomes": []string{"accepted"}}},
	}},
	{"../../testdata/analysis/http-auth", []wantNotice{
		{analysis.NoteNonstandardPort, "C000001", 8081, 6, map[string]any{"service": "http", "port_hint": "none"}},
		{analysis.NotePlaintextCredentials, "C000001", 8081, 1, map[string]any{"username": "alice", "password": "s3cret", "status_code": 200, "outcomes": []string{"accepted"}}},
		{analysis.NoteFailedLogin, "C000011", 8081, 1, map[string]any{"username": "alice", "password": "wrong", "status_code": 401, "uri": "/private/secret.txt"}},
		{analysis.NotePlaintextCredentials, "C000011", 8081, 1, map[string]any{"username": "alice", "password": "wrong", "outcomes": []string{"refused"}}},
		{analysis.NotePlaintextCredentials, "C000021", 8081, 1, map[string]any{"username": "bob", "password": "hunter2", "status_code": 200, "trans_depth": 2}},
		{analysis.NoteHTTPError, "C000033", 8081, 1, map[string]any{"status_code": 404, "uri": "/missing.html", "method": "GET"}},
		{analysis.NoteAccessDenied, "C000043", 8081, 1, map[string]any{"status_code": 403, "uri": "/forbidden/x.txt"}},
		{analysis.NoteAccessDenied, "C000053", 8081, 1, map[string]any{"status_code": 401, "uri": "/private/secret.txt"}},
		{analysis.NotePlaintextUsual, "C000063", 443, 1, map[string]any{"service": "http", "port_hint": "tls"}},
	}},
	{"../../testdata/analysis/tls-sni", []wantNotice{
		{analysis.NoteNonstandardPort, "C000019", 4433, 1, map[string]any{"service": "tls", "port_hint": "none"}},
	}},
	{"../../testdata/analysis/tcp-failures", []wantNotice{
		{analysis.NoteRejected, "C000001", 9, 1, map[string]any{"conn_state": "REJ", "history": "Sr"}},
		{analysis.NoteNoAnswer, "C000003", 9999, 1, map[string]any{"syns": 3, "conn_states": []string{"S0"}, "history": "S"}},
	}},
	{"../../testdata/analysis/http-cut", []wantNotice{
		{analysis.NoteResetMidTransfer, "C000001", 8000, 1, map[string]any{"uri": "/reset", "status_code": 200, "response_body_len": 10000, "conn_state": "RSTR", "state": "truncated"}},
		{analysis.NoteTruncatedTransfer, "C000009", 8000, 1, map[string]any{"uri": "/short", "status_code": 200, "response_body_len": 10000, "conn_state": "SF", "state": "truncated"}},
	}},
	{"../../testdata/analysis/scan", []wantNotice{
		{analysis.NoteScan, "C000001", 0, 20, map[string]any{"kind": "port scan", "attempts": 20, "conn_states": map[string]any{"REJ": 20},
			"ports": []int{20001, 20002, 20003, 20004, 20005, 20006, 20007, 20008, 20009, 20010, 20011, 20012, 20013, 20014, 20015, 20016, 20017, 20018, 20019, 20020}}},
	}},
	// the README's sample: a failed FTP login, FTP logins in clear, HTTP on 8081
	{"../../testdata/real/sample", []wantNotice{
		{analysis.NoteFailedLogin, "C000001", 2121, 1, map[string]any{"user": "alice", "reply_code": 530}},
		{analysis.NotePlaintextCredentials, "C000001", 2121, 1, map[string]any{"user": "alice", "password": "guess"}},
		{analysis.NotePlaintextCredentials, "C000015", 2121, 2, map[string]any{"user": "alice", "password": "s3cret"}},
		{analysis.NoteNonstandardPort, "C000102", 8081, 1, map[string]any{"service": "http"}},
	}},
}

func readJSONLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Text())
		}
		out = append(out, v)
	}
	return out
}

// subset reports whether got has want's value: equal JSON, or for an
// object, every key of want with a subset value.
func subset(got, want any) bool {
	if wm, ok := want.(map[string]any); ok {
		gm, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range wm {
			if !subset(gm[k], v) {
				return false
			}
		}
		return true
	}
	return jsonOf(got) == jsonOf(want)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAnalysisFindings: on each loopback recording, `extract` writes every
// expected finding to notices.jsonl exactly once, with its evidence, and
// nothing else; `stats --json` reports the same notices; both match the
// golden files in want/ (go test -update rewrites them).
func TestAnalysisFindings(t *testing.T) {
	for _, tc := range analysisCases {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			pc := filepath.Join(tc.dir, "capture.pcap")
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := runCLI(t, time.Minute, "extract", "--no-transcripts", pc, "-o", out)
			if code != exitOK {
				t.Fatalf("extract: exit %d: %s", code, stderr)
			}
			notices := readJSONLines[analysis.Notice](t, filepath.Join(out, "notices.jsonl"))
			used := make([]bool, len(notices))
			for _, w := range tc.want {
				found := -1
				for i, n := range notices {
					if n.Note == w.note && n.UID == w.uid && n.P == w.p {
						if found >= 0 {
							t.Errorf("%s on %s port %d: reported twice", w.note, w.uid, w.p)
						}
						found = i
					}
				}
				if found < 0 {
					t.Errorf("missing: %s on %s port %d", w.note, w.uid, w.p)
					continue
				}
				used[found] = true
				n := notices[found]
				if n.N != w.n {
					t.Errorf("%s on %s: n = %d, want %d", w.note, w.uid, n.N, w.n)
				}
				if n.Msg == "" || n.Log == "" || n.TS.IsZero() {
					t.Errorf("%s on %s: msg %q log %q ts %v", w.note, w.uid, n.Msg, n.Log, n.TS)
				}
				for k, v := range w.ev {
					if !subset(n.Evidence[k], v) {
						t.Errorf("%s on %s: evidence %s = %s, want %s", w.note, w.uid, k, jsonOf(n.Evidence[k]), jsonOf(v))
					}
				}
			}
			for i, n := range notices {
				if !used[i] {
					t.Errorf("not expected: %s", jsonOf(n))
				}
			}
			// stats gives the very same notices
			r := statsJSON(t, pc)
			if got, want := jsonOf(r.Notices), jsonOf(notices); got != want {
				t.Errorf("stats notices differ from notices.jsonl:\n%s\n%s", got, want)
			}
			if strings.Contains(tc.dir, "testdata/analysis") {
				golden(t, filepath.Join(tc.dir, "want"), out, "notices.jsonl", "tls.jsonl")
			}
		})
	}
}

// golden compares files of out with want/, or rewrites want/ with -update.
func golden(t *testing.T, want, out string, names ...string) {
	t.Helper()
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(out, name))
		if os.IsNotExist(err) {
			got = nil
		} else if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(want, name)
		if *update {
			if len(got) == 0 {
				os.Remove(path)
				continue
			}
			if err := os.MkdirAll(want, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		exp, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			exp = nil
		} else if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("%s differs from %s (run go test ./cmd/streamx -run TestAnalysisFindings -update and review the diff):\n got: %s\nwant: %s", name, path, got, exp)
		}
	}
}

// TestTLSLog: the TLS handshakes of tls-sni, as openssl made them.
func TestTLSLog(t *testing.T) {
	dir := "../../testdata/analysis/tls-sni"
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCLI(t, time.Minute, "extract", "-q", "--no-transcripts", filepath.Join(dir, "capture.pcap"), "-o", out); code != exitOK {
		t.Fatalf("extract: exit %d: %s", code, stderr)
	}
	fp, err := os.ReadFile(filepath.Join(dir, "cert-sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	recs := readJSONLines[tls.Record](t, filepath.Join(out, "tls.jsonl"))
	if len(recs) != 2 {
		t.Fatalf("%d tls.jsonl lines, want 2", len(recs))
	}
	r13, r12 := recs[0], recs[1]
	for _, c := range []struct{ what, got, want string }{
		{"8443 port", fmt.Sprint(r13.RespP), "8443"},
		{"8443 version", r13.Version, "TLSv13"},
		{"8443 server_name", r13.ServerName, "example.test"},
		{"8443 established", fmt.Sprint(r13.Established), "true"},
		{"8443 cert_chain_fps", strings.Join(r13.CertChainFps, ","), ""},
		{"4433 port", fmt.Sprint(r12.RespP), "4433"},
		{"4433 version", r12.Version, "TLSv12"},
		{"4433 server_name", r12.ServerName, "example.test"},
		{"4433 next_protocol", r12.NextProtocol, "http/1.1"},
		{"4433 alpn", strings.Join(r12.ALPN, ","), "h2,http/1.1"},
		{"4433 cert_chain_fps", strings.Join(r12.CertChainFps, ","), strings.TrimSpace(string(fp))},
		{"4433 subject", r12.Subject, "CN=example.test"},
		{"4433 issuer", r12.Issuer, "CN=example.test"},
		{"4433 self_signed", fmt.Sprint(r12.SelfSigned), "true"},
		{"4433 sni_matches_cert", fmt.Sprint(r12.SNIMatchesCert != nil && *r12.SNIMatchesCert), "true"},
		{"4433 established", fmt.Sprint(r12.Established), "true"},
		{"4433 validity", fmt.Sprint(r12.NotValidAfter.Sub(r12.NotValidBefore.Time)), fmt.Sprint(30 * 24 * time.Hour)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !strings.HasPrefix(r12.Cipher, "TLS_ECDHE_ECDSA_WITH_") || !strings.HasPrefix(r13.Cipher, "TLS_AES_") && !strings.HasPrefix(r13.Cipher, "TLS_CHACHA20") {
		t.Errorf("ciphers %q %q", r12.Cipher, r13.Cipher)
	}
	// the encryption summary marks both connections encrypted
	r := statsJSON(t, "--connections", filepath.Join(dir, "capture.pcap"))
	if r.Encryption.Classes[analysis.ClassEncrypted] != 2 || len(r.Connections) != 2 || r.Connections[1].How != "TLS TLSv12" {
		t.Errorf("encryption %+v connections %+v", r.Encryption, r.Connections)
	}
	if len(r.TLSServers) != 2 {
		t.Errorf("tls servers %+v", r.TLSServers)
	}
}

// TestBaselineCommands: build a baseline from one capture, diff it with
// itself (nothing) and with another (what is new and gone).
func TestBaselineCommands(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.json")
	httpCap := "../../testdata/analysis/http-auth/capture.pcap"
	tlsCap := "../../testdata/analysis/tls-sni/capture.pcap"
	if code, _, stderr := runCLI(t, time.Minute, "baseline", "build", httpCap, "-o", base); code != exitOK {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	if code, _, _ := runCLI(t, time.Minute, "baseline", "build", httpCap, "-o", base); code != exitUsage {
		t.Errorf("build over an existing file: exit %d, want %d", code, exitUsage)
	}
	code, out, stderr := runCLI(t, time.Minute, "baseline", "diff", base, httpCap)
	if code != exitOK || !strings.Contains(out, "no differences") {
		t.Errorf("self diff: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, time.Minute, "baseline", "diff", "--json", base, tlsCap)
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	var d analysis.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"protocol new": 1, "protocol gone": 1, "port new": 2, "port gone": 2, "service new": 2, "service gone": 2}
	if jsonOf(d.Counts) != jsonOf(want) {
		t.Errorf("counts %v, want %v\n%s", d.Counts, want, out)
	}
	// loopback talks to itself in both: the host pair is not new
	for _, c := range d.Changes {
		if c.Kind == "host_pair" {
			t.Errorf("unexpected %s", c.Msg)
		}
	}
	if code, _, _ := runCLI(t, time.Minute, "baseline", "diff", httpCap, tlsCap); code != exitUsage {
		t.Errorf("diff with a capture as the baseline: exit %d, want %d", code, exitUsage)
	}
}

// TestStatsText: the text report has every section, the filter applies,
// and broadcast is left out unless asked.
func TestStatsText(t *testing.T) {
	pc := "../../testdata/analysis/http-auth/capture.pcap"
	code, out, stderr := runCLI(t, time.Minute, "stats", "-f", "port 443", pc)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"CAPTURE", "HOSTS", "CONVERSATIONS (1,", "SERVICES", "TCP HEALTH", "ENCRYPTION", "TLS SERVERS (0)",
		"FINDINGS (1)", "Plaintext_Where_Encryption_Usual", "plaintext http on 127.0.0.1:443"} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in:\n%s", s, out)
		}
	}
	if strings.Contains(out, "8081") {
		t.Errorf("the filter let port 8081 through:\n%s", out)
	}
}
