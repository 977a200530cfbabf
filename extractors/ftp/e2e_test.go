package ftp

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/internal/testcap"
	"github.com/streamx/streamx/manifest"
)

// realDir is the folder of shared public captures, or skips the test
// saying so.
func realDir(t *testing.T) string {
	t.Helper()
	return testcap.Shared(t, "FTP conformance on public captures")
}

// want is one row of an expected.tsv.
type want struct {
	command string // RETR, STOR, LIST...
	mode    string // "passive", "active" or "" (any)
	dir     string // "download", "upload" or "" (any)
	name    string // file name, server path, or "(LIST listing)"
	size    int64  // -1 unknown
	sha     string // "-" or "" unknown
	kind    string // file, listing, truncated, ascii, rest
	line    string
}

// loadShared reads expected/<capture>.tsv of the shared captures: a header
// row, then protocol ("ftp-data/RETR/active"), filename_or_url, size,
// sha256, source_of_truth, kind. Only ftp-data rows are kept.
func loadShared(t *testing.T, p string) []want {
	var out []want
	for i, f := range readTSV(t, p) {
		if i == 0 || !strings.HasPrefix(f[0], "ftp-data/") || len(f) < 6 {
			continue
		}
		pr := strings.Split(f[0], "/")
		w := want{command: pr[1], name: f[1], sha: f[3], kind: f[5], line: strings.Join(f, "\t")}
		if len(pr) > 2 {
			w.mode = pr[2]
		}
		w.size, _ = strconv.ParseInt(f[2], 10, 64)
		if strings.HasPrefix(w.name, "(") {
			w.kind = "listing"
		}
		out = append(out, w)
	}
	return out
}

// loadLocal reads the expected.tsv of a loopback recording: protocol,
// command, direction (c2s|s2c), server path, size, sha256, kind.
func loadLocal(t *testing.T, p string) []want {
	var out []want
	for _, f := range readTSV(t, p) {
		if len(f) < 7 || f[0] != "ftp" {
			continue
		}
		w := want{command: f[1], name: f[3], sha: f[5], kind: f[6], line: strings.Join(f, "\t")}
		w.size, _ = strconv.ParseInt(f[4], 10, 64)
		switch f[2] {
		case "s2c":
			w.dir = "download"
		case "c2s":
			w.dir = "upload"
		}
		out = append(out, w)
	}
	return out
}

func readTSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

// nameMatches: a listing row matches any listing of the command; a file
// row matches the wire name or the server path (a relative server path is
// relative to the login directory, "/" on these servers); STOU matches the
// server's name or the client's suggestion.
func nameMatches(e manifest.Entry, w want) bool {
	if w.kind == "listing" && strings.HasPrefix(w.name, "(") {
		return e.Extra["listing"] == true
	}
	sp := e.ServerPath
	if sp != "" && !strings.HasPrefix(sp, "/") {
		sp = "/" + sp
	}
	if strings.HasPrefix(w.name, "/") {
		if sp == path.Clean(w.name) {
			return true
		}
		if e.Extra["listing"] == true {
			return false
		}
	}
	base := path.Base(w.name)
	if e.Filename == base || path.Base(sp) == base {
		return true
	}
	return e.Command == "STOU" && (strings.HasPrefix(e.Filename, base) || extraString(e, "stou_arg") == base)
}

// check matches every expected row against the manifest, each entry used
// once, and returns how many rows were recovered.
func check(t *testing.T, r *result, wants []want) int {
	t.Helper()
	files := r.files()
	used := make([]bool, len(files))
	recovered := 0
	for _, w := range wants {
		found := -1
		for i, e := range files {
			if used[i] || e.Command != w.command || !nameMatches(e, w) {
				continue
			}
			if w.mode != "" && extraString(e, "data_channel") != w.mode {
				continue
			}
			if w.dir != "" && extraString(e, "direction") != w.dir {
				continue
			}
			ok := false
			switch w.kind {
			case "file", "listing":
				ok = e.State == manifest.StateComplete && e.SHA256 == w.sha && e.SeenBytes == w.size
			case "ascii":
				ok = e.State == manifest.StateComplete && e.SHA256 == w.sha && extraString(e, "transfer_type") == "ascii"
			case "rest":
				// The piece starts at the REST offset; the bytes before it
				// are a hole. The row hashes the piece.
				rest := e.MissingBytes
				b := r.read(t, e)
				sum := sha256.Sum256(b[min(int64(len(b)), rest):])
				ok = e.State == manifest.StateTruncated && strings.Contains(e.Reason, "REST") &&
					len(e.Holes) == 1 && e.Holes[0].Offset == 0 && hex.EncodeToString(sum[:]) == w.sha
			case "truncated":
				ok = e.State == manifest.StateTruncated && e.SHA256 == ""
			default:
				t.Logf("row of kind %q not checked: %s", w.kind, w.line)
				ok = true
			}
			if ok {
				found = i
				break
			}
		}
		if found < 0 {
			t.Errorf("not recovered: %s", w.line)
			continue
		}
		used[found] = true
		recovered++
		e := files[found]
		if w.kind == "truncated" {
			t.Logf("truncated as expected: %s %s, %d bytes seen, %d missing, reason %q", e.Command, e.ServerPath, e.SeenBytes, e.MissingBytes, e.Reason)
		}
	}
	return recovered
}

// consistent checks what must hold for every run: each carved file has its
// ftp.jsonl line (same fuid, command, direction, user, hash), everything is
// inside the output folder, each control connection has its transcript.
func consistent(t *testing.T, r *result) {
	t.Helper()
	byFUID := map[string]Log{}
	for _, l := range r.logs {
		if l.FUID != "" {
			if _, dup := byFUID[l.FUID]; dup {
				t.Errorf("two ftp.jsonl lines for %s", l.FUID)
			}
			byFUID[l.FUID] = l
		}
	}
	for _, e := range r.files() {
		l, ok := byFUID[e.FUID]
		if !ok {
			t.Errorf("%s (%s %s) has no ftp.jsonl line", e.FUID, e.Command, e.Extracted)
			continue
		}
		if e.Command != "" && (l.Command != e.Command || l.Direction != extraString(e, "direction") ||
			l.SHA256 != e.SHA256 || l.User != extraString(e, "user") || l.Extracted != e.Extracted || l.State != e.State) {
			t.Errorf("%s: manifest %s/%s/%s/%s vs ftp.jsonl %s/%s/%s/%s", e.FUID, e.Command, extraString(e, "direction"),
				extraString(e, "user"), e.State, l.Command, l.Direction, l.User, l.State)
		}
		// The originator sends in a passive upload and an active download.
		senderIsOrig := (extraString(e, "direction") == "upload") == (extraString(e, "data_channel") == "passive")
		if e.Command != "" && e.IsOrig != senderIsOrig {
			t.Errorf("%s: is_orig %v for a %s %s transfer", e.FUID, e.IsOrig, extraString(e, "data_channel"), extraString(e, "direction"))
		}
	}
	for _, e := range r.manifest {
		rel, err := filepath.Rel(r.dir, filepath.Join(r.dir, filepath.FromSlash(e.Extracted)))
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(e.Extracted) {
			t.Errorf("%s outside the output folder", e.Extracted)
		}
		st, err := os.Lstat(filepath.Join(r.dir, filepath.FromSlash(e.Extracted)))
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: %v", e.Extracted, err)
		}
	}
	ctl := map[string]bool{}
	for _, l := range r.logs {
		ctl[l.UID] = true
	}
	sessions := map[string]bool{}
	for _, e := range r.sessions() {
		sessions[e.UID] = true
	}
	for uid := range ctl {
		if !sessions[uid] {
			t.Errorf("control connection %s has no session transcript", uid)
		}
	}
}

// knownGaps are captures whose shortfall is outside this package.
var knownGaps = map[string]string{
	"zeek-ftp-midstream-list-retr-rfc1001.pcap": "the control connection starts mid-session (PASV first, no 220 greeting, no USER): " +
		"package detect does not name it ftp, so the Mux never hands it to this extractor and no expectation is announced",
}

func TestSharedCaptures(t *testing.T) {
	dir := realDir(t)
	var caps []string
	for _, pat := range []string{"sv-ftp-*.pcap", "zeek-ftp-*.pcap"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		caps = append(caps, m...)
	}
	if len(caps) == 0 {
		t.Fatalf("no sv-ftp-* or zeek-ftp-* captures in %s", dir)
	}
	for _, c := range caps {
		name := filepath.Base(c)
		t.Run(strings.TrimSuffix(name, ".pcap"), func(t *testing.T) {
			r := runExtract(t, extractors.Options{}, c)
			wants := loadShared(t, filepath.Join(dir, "expected", strings.TrimSuffix(name, ".pcap")+".tsv"))
			consistent(t, r)
			if why, ok := knownGaps[name]; ok && len(r.files()) == 0 {
				t.Logf("KNOWN GAP: 0/%d expected files recovered: %s", len(wants), why)
				return
			}
			n := check(t, r, wants)
			t.Logf("%s: %d/%d expected files recovered; %d FTP_DATA files, %d ftp.jsonl lines", name, n, len(wants), len(r.files()), len(r.logs))
		})
	}
}

// The capture holds only the control channel (ProFTPD, EPSV): nothing can
// be carved, and the log says why.
func TestControlOnlyCapture(t *testing.T) {
	c := filepath.Join(realDir(t), "sv-ftp-epsv-list-retr-stor.pcap")
	r := runExtract(t, extractors.Options{}, c)
	if len(r.files()) != 0 {
		t.Errorf("%d files from a control-only capture", len(r.files()))
	}
	var ports []uint16
	notSeen := map[string]bool{}
	for _, l := range r.logs {
		if l.Command == "EPSV" && strings.HasPrefix(l.Note, "unmatched") {
			ports = append(ports, l.DataChannel.RespP)
		}
		if strings.Contains(l.Note, "not in the capture") {
			notSeen[l.Command+" "+l.Arg] = true
		}
	}
	has := false
	for _, p := range ports {
		has = has || p == 58612 // suricata-verify: EPSV dynamic_port 58612
	}
	if !has || !notSeen["RETR /resume.doc"] || !notSeen["STOR /uploads/README"] {
		t.Errorf("unmatched EPSV ports %v, transfers without data %v", ports, notSeen)
	}
}

// localCaptures are the loopback recordings: testdata/real/ftp-* (another
// helper's) and testdata/ftp/* (this package's).
func localCaptures(t *testing.T) []string {
	var dirs []string
	for _, pat := range []string{"../../testdata/real/ftp-*", "../../testdata/ftp/*"} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			if _, err := os.Stat(filepath.Join(d, "capture.pcap")); err == nil {
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) == 0 {
		t.Skip("SKIP: no loopback FTP captures under testdata/")
	}
	return dirs
}

func TestLoopbackCaptures(t *testing.T) {
	for _, d := range localCaptures(t) {
		t.Run(filepath.Base(d), func(t *testing.T) {
			r := runExtract(t, extractors.Options{}, filepath.Join(d, "capture.pcap"))
			wants := loadLocal(t, filepath.Join(d, "expected.tsv"))
			consistent(t, r)
			n := check(t, r, wants)
			t.Logf("%s: %d/%d expected files recovered", filepath.Base(d), n, len(wants))
			// Every file of a logged-in session carries its user.
			for _, e := range r.files() {
				if e.Command != "" && extraString(e, "user") == "" {
					t.Errorf("%s %s: no user", e.Command, e.ServerPath)
				}
			}
			// Every failed login is in ftp.jsonl.
			if strings.Contains(readREADME(d), "failed login") {
				failed := 0
				for _, l := range r.logs {
					if l.Login == "failure" && l.ReplyCode == 530 {
						failed++
					}
				}
				if failed == 0 {
					t.Error("no failed login in ftp.jsonl")
				}
			}
		})
	}
}

func readREADME(d string) string {
	b, _ := os.ReadFile(filepath.Join(d, "README.md"))
	return string(b)
}

// The edge-case recording (testdata/ftp/edge, see its README): hostile
// names, NAT, REST, ASCII mode, a failed login, an aborted transfer, AUTH
// TLS, LPSV, a refused RETR.
func TestEdgeCapture(t *testing.T) {
	capture := "../../testdata/ftp/edge/capture.pcap"
	if _, err := os.Stat(capture); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	r := runExtract(t, extractors.Options{}, capture)
	consistent(t, r)
	byArg := map[string][]Log{}
	for _, l := range r.logs {
		byArg[l.Command+" "+l.RawArg] = append(byArg[l.Command+" "+l.RawArg], l)
	}
	entry := func(fuid string) manifest.Entry {
		for _, e := range r.manifest {
			if e.FUID == fuid {
				return e
			}
		}
		t.Fatalf("no manifest entry %s", fuid)
		return manifest.Entry{}
	}

	// Failed login, then success on the same connection.
	var fail, ok bool
	for _, l := range r.logs {
		fail = fail || (l.Command == "PASS" && l.User == "mallory" && l.Login == "failure" && l.ReplyCode == 530 && l.Password == "letmein")
		ok = ok || (l.Command == "PASS" && l.User == "alice" && l.Login == "success")
	}
	if !fail || !ok {
		t.Errorf("login attempts not recorded (failure %v, success %v)", fail, ok)
	}

	// Hostile names stay inside the output folder, under a sanitised name.
	for raw, want := range map[string]struct{ path, file string }{
		"RETR ../../etc/passwd":                     {"/etc/passwd", "files/ftp/passwd"},
		"RETR /odd dir/evil<>:|?*.txt":              {"/odd dir/evil<>:|?*.txt", "files/ftp/evil"},
		"RETR CON.txt":                              {"/CON.txt", "files/ftp/_CON.txt"},
		"STOR ../../../tmp/evil-up.txt":             {"/tmp/evil-up.txt", "files/ftp/evil-up.txt"},
		"RETR " + strings.Repeat("L", 230) + ".txt": {"/" + strings.Repeat("L", 230) + ".txt", "files/ftp/LLLL"},
	} {
		ls := byArg[raw]
		if len(ls) != 1 {
			t.Errorf("%q: %d log lines", raw, len(ls))
			continue
		}
		l := ls[0]
		e := entry(l.FUID)
		// names start with the data connection's UID: files/ftp/C<n>-<name>
		uidName := e.UID + "-" + strings.TrimPrefix(want.file, "files/ftp/")
		if l.Arg != want.path || e.ServerPath != want.path || !strings.HasPrefix(e.Extracted, "files/ftp/"+uidName) ||
			e.State != manifest.StateComplete || len(path.Base(e.Extracted)) > 200 || strings.ContainsAny(path.Base(e.Extracted), `<>:|?*\`) {
			t.Errorf("%q: arg %q, server path %q, extracted %q, %s", raw, l.Arg, e.ServerPath, e.Extracted, e.State)
		}
	}
	if _, err := os.Lstat(filepath.Join(r.dir, "etc")); err == nil {
		t.Error("an etc/ folder was created in the output")
	}
	// Two downloads of the same name: two files.
	blobs := byArg["RETR blob.bin"]
	if len(blobs) != 3 || blobs[0].Extracted == blobs[1].Extracted {
		t.Errorf("RETR blob.bin: %+v", blobs)
	}
	// NAT: the server announced 10.9.8.7; the data connections went to
	// 127.0.0.1 and were still matched.
	nat := 0
	for _, l := range r.logs {
		if l.Command == "PASV" && strings.Contains(l.Note, "10.9.8.7, not its own address") {
			nat++
		}
		if l.Command == "PASV" && strings.HasPrefix(l.Note, "unmatched") {
			t.Errorf("unmatched PASV: %+v %s", l, l.Note)
		}
	}
	if nat < 10 {
		t.Errorf("%d PASV lines noted as NAT", nat)
	}
	// ASCII mode and REST.
	if l := byArg["RETR text.txt"]; len(l) != 1 || l[0].TransferType != "ascii" || l[0].State != "complete" {
		t.Errorf("TYPE A: %+v", l)
	}
	rest := 0
	for _, l := range blobs {
		if l.Rest == 1000 && l.State == "truncated" && strings.Contains(l.Reason, "REST") {
			rest++
		}
	}
	if rest != 1 {
		t.Errorf("REST: %+v", blobs)
	}
	// The refused RETR: no file, reply kept.
	if l := byArg["RETR missing.bin"]; len(l) != 1 || l[0].ReplyCode != 550 || l[0].FUID != "" {
		t.Errorf("RETR missing.bin: %+v", l)
	}
	// LPSV is reported unsupported.
	if l := byArg["LPSV "]; len(l) != 1 || !strings.Contains(l[0].Note, "unsupported") {
		t.Errorf("LPSV: %+v", l)
	}
	// The aborted download is truncated with the reason.
	if l := byArg["RETR big-abort.bin"]; len(l) != 1 || l[0].State != "truncated" || !strings.Contains(l[0].Reason, "ABOR") ||
		!strings.Contains(l[0].Reason, "426") || *l[0].FileSize == 0 || l[0].SHA256 != "" {
		t.Errorf("ABOR: %+v", l)
	}
	// AUTH TLS: the session is marked encrypted and nothing of it is carved.
	var tlsUID string
	for _, l := range r.logs {
		if l.Command == "AUTH" && l.ReplyCode == 234 && strings.Contains(l.Note, "encrypted") {
			tlsUID = l.UID
		}
	}
	if tlsUID == "" {
		t.Error("AUTH TLS not noted")
	}
	for _, e := range r.files() {
		if extraString(e, "control_uid") == tlsUID {
			t.Errorf("carved from the encrypted session: %s", e.Extracted)
		}
	}
	// Multi-line replies are whole in the log.
	if l := byArg["FEAT "]; len(l) != 1 || l[0].ReplyCode != 211 || !strings.Contains(l[0].ReplyMsg, "\n EPSV\n") {
		t.Errorf("FEAT: %+v", l)
	}
	// The transcript is annotated.
	var text string
	for _, e := range r.sessions() {
		b := r.read(t, e)
		text += string(b)
	}
	for _, s := range []string{
		`login FAILED: user "mallory" (530 Authentication failed.)`,
		"** RETR /etc/passwd → 81 bytes, complete, sha256 5d6ed2f4",
		"** RETR /big-abort.bin → ",
		"** LIST / → 9 entries",
		"AUTH TLS accepted: the rest of the session is encrypted",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("transcript lacks %q", s)
		}
	}
}

// --redact-passwords: no password anywhere in what the extractor writes.
func TestRedactPasswordsEndToEnd(t *testing.T) {
	capture := "../../testdata/ftp/edge/capture.pcap"
	if _, err := os.Stat(capture); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	r := runExtract(t, extractors.Options{RedactPasswords: true}, capture)
	b, err := os.ReadFile(filepath.Join(r.dir, "ftp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, e := range r.sessions() {
		out += string(r.read(t, e))
	}
	for _, pw := range []string{"s3cret", "letmein"} {
		if strings.Contains(out, pw) {
			t.Errorf("password %q written with RedactPasswords", pw)
		}
	}
	if !strings.Contains(out, `"password":"<redacted>"`) || !strings.Contains(out, "C> PASS <redacted>") {
		t.Error("redaction marker missing")
	}
}
