package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/analysis"
	"github.com/streamx/streamx/extractors/content"
	"github.com/streamx/streamx/internal/pcapgen"
	"github.com/streamx/streamx/internal/testcap"
)

// syntheticPE is a minimal PE: DOS header with e_lfanew, "PE\0\0" and an
// i386 COFF header, padded to 512 bytes.
func syntheticPE() []byte {
	b := make([]byte, 512)
	copy(b, "MZ\x90\x00")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x40:], "This program cannot be run in DOS mode.\r\r\n$")
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], 0x14c) // Machine: i386
	return b
}

// writeDisguisedEXE writes a capture of an HTTP download of a PE served as
// cat.jpg, Content-Type image/jpeg, plus an ordinary HTML page.
func writeDisguisedEXE(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgen.NewWriter(f, pcapgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := w.NewConn(pcapgen.ConnConfig{Client: netip.MustParseAddrPort("192.0.2.10:49152"),
		Server: netip.MustParseAddrPort("198.51.100.20:80"), ClientISN: 1000000, ServerISN: 2000000})
	c.Handshake()
	page := []byte("<html><body><img src=\"/cat.jpg\"></body></html>\n")
	c.Send(true, []byte("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"))
	c.Send(false, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(page), page))
	pe := syntheticPE()
	c.Send(true, []byte("GET /cat.jpg HTTP/1.1\r\nHost: example.test\r\n\r\n"))
	c.Send(false, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s", len(pe), pe))
	c.Close()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// contentNotices runs extract on pcap and returns its content findings.
func contentNotices(t *testing.T, pcap string) []analysis.Notice {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCLI(t, 2*time.Minute, "extract", "-q", "--no-report", pcap, "-o", out); code != exitOK && code != exitDamaged {
		t.Fatalf("extract %s: exit %d: %s", pcap, code, stderr)
	}
	f, err := os.Open(filepath.Join(out, "notices.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var res []analysis.Notice
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var n analysis.Notice
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatal(err)
		}
		switch n.Note {
		case content.NoteDisguised, content.NoteExecutable, content.NoteArchiveWithExec, content.NoteScript:
			res = append(res, n)
		}
	}
	return res
}

func TestContentDisguisedEXE(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "cat.pcap")
	writeDisguisedEXE(t, pcap)
	ns := contentNotices(t, pcap)
	if len(ns) != 1 {
		t.Fatalf("%d content notices, want 1: %+v", len(ns), ns)
	}
	n := ns[0]
	ev := n.Evidence
	if n.Note != content.NoteDisguised || n.UID != "C000001" || ev["filename"] != "cat.jpg" || ev["declared_mime_type"] != "image/jpeg" ||
		ev["kind"] != "PE" || !strings.HasPrefix(ev["magic"].(string), "4d5a9000") || ev["fuid"] == "" || !strings.HasPrefix(ev["extracted"].(string), "files/http/") ||
		n.Src != netip.MustParseAddr("198.51.100.20") || n.Service != "http" {
		t.Fatalf("notice %+v", n)
	}
	if !strings.Contains(n.Msg, `named "cat.jpg"`) || !strings.Contains(n.Msg, "declared as image/jpeg") {
		t.Fatalf("msg %q", n.Msg)
	}
}

// TestContentBrowsing: ordinary browsing gives no content finding; the
// public FTP capture carrying notepad.exe gives exactly its two transfers.
func TestContentBrowsing(t *testing.T) {
	for _, p := range []string{"../../testdata/real/http-nginx/capture.pcap", "../../testdata/real/sample/capture.pcap",
		"../../testdata/real/http-python-upload/capture.pcap", grepLoopback} {
		if ns := contentNotices(t, p); len(ns) != 0 {
			t.Errorf("%s: %d content notices: %+v", p, len(ns), ns)
		}
	}
	dir := testcap.Shared(t, "content findings on public HTTP captures")
	caps, _ := filepath.Glob(filepath.Join(dir, "sv-http-*.pcap"))
	for _, p := range caps {
		for _, n := range contentNotices(t, p) {
			// suricata-verify's decode-sll2-02 downloads an ELF binary
			// named "testing": a true finding.
			if filepath.Base(p) == "sv-http-sll2-2mb-download.pcap" && n.Note == content.NoteExecutable && n.Evidence["kind"] == "ELF" {
				continue
			}
			t.Errorf("%s: %s %s", filepath.Base(p), n.Note, n.Msg)
		}
	}
	ns := contentNotices(t, filepath.Join(dir, "sv-ftp-active-stor-retr-pdf-exe.pcap"))
	if len(ns) != 2 {
		t.Fatalf("notepad.exe capture: %d notices: %+v", len(ns), ns)
	}
	for _, n := range ns {
		if n.Note != content.NoteExecutable || n.Evidence["filename"] != "notepad.exe" || n.Evidence["kind"] != "PE" {
			t.Errorf("notepad.exe: %+v", n)
		}
	}
}
