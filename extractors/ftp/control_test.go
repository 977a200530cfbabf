package ftp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/streamx/streamx/sink"
)

func TestLoginAttemptsAndRedaction(t *testing.T) {
	for _, redact := range []bool{false, true} {
		v := newConv(t, redact)
		v.server("220 ready")
		v.client("USER mallory")
		v.server("331 Password required")
		v.client("PASS letmein")
		v.server("530 Login incorrect.")
		v.client("USER alice")
		v.server("331 Password required")
		v.client("PASS s3cret")
		v.server("230 Login successful.")
		v.client("QUIT")
		v.server("221 Bye")
		v.close()

		pass := v.o.find("PASS")
		if len(pass) != 2 {
			t.Fatalf("PASS lines: %s", v.dumpLogs())
		}
		if pass[0].Login != "failure" || pass[0].User != "mallory" || pass[0].ReplyCode != 530 ||
			pass[1].Login != "success" || pass[1].User != "alice" || pass[1].ReplyCode != 230 {
			t.Errorf("login outcomes: %s", v.dumpLogs())
		}
		wantPw := []string{"letmein", "s3cret"}
		if redact {
			wantPw = []string{Redacted, Redacted}
		}
		for i, l := range pass {
			if l.Password != wantPw[i] || l.Arg != wantPw[i] {
				t.Errorf("redact=%v: PASS line %d has password %q arg %q", redact, i, l.Password, l.Arg)
			}
		}
		if q := v.mustLog("QUIT"); q.Password != wantPw[1] {
			t.Errorf("QUIT line password %q", q.Password)
		}
		text := v.o.text()
		if redact == strings.Contains(text, "s3cret") || redact == strings.Contains(text, "letmein") {
			t.Errorf("redact=%v, transcript:\n%s", redact, text)
		}
		if !strings.Contains(text, `login FAILED: user "mallory" (530 Login incorrect.)`) ||
			!strings.Contains(text, `login success: user "alice"`) {
			t.Errorf("transcript:\n%s", text)
		}
		if g := v.mustLog("<greeting>"); g.ReplyCode != 220 {
			t.Errorf("greeting %+v", g)
		}
	}
	// 230 straight after USER, 530 after USER (anonymous-only servers).
	v := newConv(t, false)
	v.server("220 ready")
	v.client("USER anonymous")
	v.server("230 Login successful.")
	v.client("USER alice")
	v.server("530 This FTP server is anonymous only.")
	v.close()
	if u := v.o.find("USER"); len(u) != 2 || u[0].Login != "success" || u[1].Login != "failure" {
		t.Errorf("USER outcomes: %s", v.dumpLogs())
	}
}

func TestWorkingDirectory(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("USER u", "PASS p")
	v.server("331 ok", "230 ok")
	v.client("SIZE early.txt") // cwd not known yet: stays relative
	v.server("213 5")
	v.client("PWD")
	v.server(`257 "/home/u" is the current directory`)
	v.client("CWD pub")
	v.server("250 Directory successfully changed.")
	v.client("SIZE report.pdf")
	v.server("213 409112")
	v.client("CWD nope")
	v.server("550 Failed to change directory.")
	v.client("CDUP")
	v.server("250 ok")
	v.client("CWD sub")
	v.server(`250 "/srv/real/sub" is the current directory.`) // server says where
	v.client("MKD ../new")
	v.server(`257 "/srv/real/new" created`)
	v.client("DELE ../../etc/passwd")
	v.server("550 no")
	v.client("CWD /")
	v.server("250 ok")
	v.client("CDUP")
	v.server("250 ok")
	v.client("SIZE x")
	v.server("213 1")
	v.close()
	sizes := v.o.find("SIZE")
	want := []string{"early.txt", "/home/u/pub/report.pdf", "/x"}
	for i, l := range sizes {
		if l.Arg != want[i] {
			t.Errorf("SIZE %d arg %q, want %q", i, l.Arg, want[i])
		}
	}
	if *sizes[1].FileSize != 409112 {
		t.Errorf("SIZE reply: %+v", sizes[1])
	}
	cwds := v.o.find("CWD")
	for i, w := range []string{"/home/u/pub", "/home/u/pub/nope", "/srv/real/sub", "/"} {
		if cwds[i].Arg != w {
			t.Errorf("CWD %d arg %q, want %q", i, cwds[i].Arg, w)
		}
	}
	if l := v.mustLog("MKD"); l.Arg != "/srv/real/new" || l.RawArg != "../new" {
		t.Errorf("MKD %+v", l)
	}
	if l := v.mustLog("DELE"); l.Arg != "/srv/etc/passwd" {
		t.Errorf("DELE %+v", l)
	}
	if l := v.mustLog("PWD"); l.Arg != "/home/u" {
		t.Errorf("PWD %+v", l)
	}
}

// A passive download whose data arrives before the RETR command is parsed,
// with the size from SIZE and from 150.
func TestPassiveDownload(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("USER u", "PASS p")
	v.server("331 ok", "230 ok")
	v.client("PWD")
	v.server(`257 "/pub"`)
	v.client("TYPE I")
	v.server("200 Switching to Binary mode.")
	v.client("PASV")
	v.server("227 Entering Passive Mode (198,51,100,20,234,200).")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:60104"))
	if d == nil {
		t.Fatal("data connection not matched")
	}
	v.feed(d, s, 1, "hello ") // before RETR is parsed: held
	if len(v.o.dataFiles()) != 0 {
		t.Fatal("file created before the command")
	}
	v.client("RETR report.pdf")
	v.server("150 Opening BINARY mode data connection for report.pdf (11 bytes).")
	v.feed(d, s, 1, "world")
	v.server("226 Transfer complete.")
	if len(v.o.find("RETR")) != 0 {
		t.Fatal("RETR logged before its data connection closed")
	}
	v.finish(d, s)
	l := v.mustLog("RETR")
	if l.State != "complete" || *l.FileSize != 11 || *l.ExpectedSize != 11 || l.Arg != "/pub/report.pdf" ||
		l.Direction != "download" || l.DataUID != s.Conn.UID || l.DataChannel == nil || !l.DataChannel.Passive ||
		l.SHA256 == "" || l.FUID == "" {
		t.Errorf("RETR line %+v", l)
	}
	f := v.o.dataFiles()[0]
	if string(f.data) != "hello world" || f.meta.IsOrig || f.meta.Name != "report.pdf" ||
		f.meta.ServerPath != "/pub/report.pdf" || f.meta.Command != "RETR" || f.meta.ExpectedSize != 11 ||
		f.meta.Extra["direction"] != "download" || f.meta.Extra["user"] != "u" {
		t.Errorf("file %+v %q", f.meta, f.data)
	}
	v.close()
	if !strings.Contains(v.o.text(), "** RETR /pub/report.pdf → 11 bytes, complete, sha256 ") {
		t.Errorf("transcript:\n%s", v.o.text())
	}
}

// Active mode: the server connects to the client's announced endpoint, so
// the data connection's originator is the server: a RETR flows in
// direction 0, a STOR in direction 1.
func TestActiveModeDirections(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PORT 192,0,2,10,195,80")
	v.server("200 PORT command successful.")
	d, s := v.connect(netip.MustParseAddrPort("198.51.100.20:20"), netip.MustParseAddrPort("192.0.2.10:50000"))
	if d == nil {
		t.Fatal("active data connection not matched")
	}
	v.client("RETR a.bin")
	v.server("150 Opening")
	v.feed(d, s, 0, "downloaded")
	v.feed(d, s, 1, "junk") // the receiver sends nothing in stream mode; counted
	v.server("226 ok")
	v.finish(d, s)
	v.client("EPRT |1|192.0.2.10|50001|")
	v.server("200 EPRT command successful.")
	d2, s2 := v.connect(netip.MustParseAddrPort("198.51.100.20:20"), netip.MustParseAddrPort("192.0.2.10:50001"))
	v.client("STOR b.bin")
	v.server("150 Ok to send data.")
	v.feed(d2, s2, 1, "uploaded")
	v.server("226 ok")
	v.finish(d2, s2)
	v.close()
	files := v.o.dataFiles()
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	if string(files[0].data) != "downloaded" || !files[0].meta.IsOrig || files[0].meta.Extra["direction"] != "download" ||
		files[0].meta.Extra["data_channel"] != "active" {
		t.Errorf("RETR file %+v %q", files[0].meta, files[0].data)
	}
	if string(files[1].data) != "uploaded" || files[1].meta.IsOrig || files[1].meta.Extra["direction"] != "upload" {
		t.Errorf("STOR file %+v %q", files[1].meta, files[1].data)
	}
	r := v.mustLog("RETR")
	if !strings.Contains(r.Note, "4 bytes sent the other way") || r.DataChannel.Passive ||
		r.DataChannel.OrigH != srvAddr || r.DataChannel.RespP != 50000 {
		t.Errorf("RETR line %+v", r)
	}
}

// EPSV gives only a port: the address is the control connection's server.
// EPRT carries IPv6.
func TestIPv6EPSVAndEPRT(t *testing.T) {
	cli, srv := netip.MustParseAddrPort("[2001:db8::10]:50000"), netip.MustParseAddrPort("[2001:db8::20]:21")
	v := newConvAt(t, false, cli, srv)
	v.server("220 ready")
	v.client("EPSV")
	v.server("229 Entering Extended Passive Mode (|||6446|)")
	d, s := v.connect(netip.MustParseAddrPort("[2001:db8::10]:40000"), netip.MustParseAddrPort("[2001:db8::20]:6446"))
	if d == nil {
		t.Fatal("EPSV connection not matched")
	}
	v.client("LIST -la")
	v.server("150 Here comes the directory listing.")
	v.feed(d, s, 1, "total 2\r\n-rw-r--r-- 1 ftp ftp 5 Mar 01 12:00 a\r\ndrwxr-xr-x 2 ftp ftp 6 Mar 01 12:00 b\r\n")
	v.server("226 Directory send OK.")
	v.finish(d, s)
	v.client("EPRT |2|2001:db8::10|50001|")
	v.server("200 EPRT command successful.")
	d2, s2 := v.connect(netip.MustParseAddrPort("[2001:db8::20]:20"), netip.MustParseAddrPort("[2001:db8::10]:50001"))
	if d2 == nil {
		t.Fatal("EPRT connection not matched")
	}
	v.client("RETR x")
	v.server("150 go")
	v.feed(d2, s2, 0, "x")
	v.server("226 ok")
	v.finish(d2, s2)
	v.close()
	l := v.mustLog("LIST")
	if l.Entries == nil || *l.Entries != 2 || l.DataChannel.RespH != srv.Addr() || l.DataChannel.RespP != 6446 {
		t.Errorf("LIST line %+v", l)
	}
	files := v.o.dataFiles()
	if len(files) != 2 || files[0].meta.Name != "listing-C000001-1.txt" || !files[0].meta.Extra["listing"].(bool) ||
		string(files[1].data) != "x" {
		t.Errorf("files %+v", files)
	}
	if !strings.Contains(v.o.text(), "   | -rw-r--r-- 1 ftp ftp 5 Mar 01 12:00 a") {
		t.Errorf("listing not in transcript:\n%s", v.o.text())
	}
}

// A server behind NAT announces its private address; the client connects
// to the public one (the control connection's server). Peers match it.
func TestNATAnnouncement(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 Entering Passive Mode (10,9,8,7,238,89).")
	if !strings.Contains(v.mustLog("PASV").Note, "10.9.8.7, not its own address") {
		t.Errorf("PASV note: %s", v.dumpLogs())
	}
	d, _ := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:61017"))
	if d == nil {
		t.Fatal("NAT'd data connection not matched")
	}
	// 0.0.0.0 means the server's own address.
	v.client("PASV")
	v.server("227 Entering Passive Mode (0,0,0,0,4,1).")
	if d, _ := v.connect(netip.MustParseAddrPort("192.0.2.10:40001"), netip.MustParseAddrPort("198.51.100.20:1025")); d == nil {
		t.Fatal("0.0.0.0 announcement not matched")
	}
	// A third host is not a peer.
	v.client("PASV")
	v.server("227 Entering Passive Mode (10,9,8,7,4,2).")
	if d, _ := v.connect(netip.MustParseAddrPort("203.0.113.99:40000"), netip.MustParseAddrPort("198.51.100.20:1026")); d != nil {
		t.Fatal("a stranger matched")
	}
}

// Pipelined: RETR is parsed before the 227 that announces its endpoint.
func TestPipelinedPASV(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV", "RETR a")
	v.server("227 Entering Passive Mode (198,51,100,20,4,1).")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.server("150 go")
	v.feed(d, s, 1, "aaa")
	v.server("226 ok")
	v.finish(d, s)
	v.close()
	if l := v.mustLog("RETR"); l.State != "complete" || *l.FileSize != 3 {
		t.Errorf("RETR %s", v.dumpLogs())
	}
}

func TestRestAndSizeMismatch(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("TYPE I", "SIZE big.bin")
	v.server("200 ok", "213 10")
	v.client("REST 4")
	v.server("350 Restarting at 4.")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("RETR big.bin")
	v.server("150 go")
	v.feed(d, s, 1, "456789")
	v.server("226 ok")
	v.finish(d, s)
	// Short: 150 says 8 bytes, 5 arrive.
	v.client("PASV")
	v.server("227 (198,51,100,20,4,2)")
	d, s = v.connect(netip.MustParseAddrPort("192.0.2.10:40001"), netip.MustParseAddrPort("198.51.100.20:1026"))
	v.client("RETR short.bin")
	v.server("150 Opening BINARY mode data connection for short.bin (8 bytes).")
	v.feed(d, s, 1, "12345")
	v.server("226 ok")
	v.finish(d, s)
	// ASCII mode: the announced size is not the wire size.
	v.client("TYPE A", "PASV")
	v.server("200 ok", "227 (198,51,100,20,4,3)")
	d, s = v.connect(netip.MustParseAddrPort("192.0.2.10:40002"), netip.MustParseAddrPort("198.51.100.20:1027"))
	v.client("RETR text.txt")
	v.server("150 Opening ASCII mode data connection for text.txt (4 bytes).")
	v.feed(d, s, 1, "a\r\nb\r\n")
	v.server("226 ok")
	v.finish(d, s)
	v.close()
	r := v.o.find("RETR")
	if len(r) != 3 {
		t.Fatal(v.dumpLogs())
	}
	f := v.o.dataFiles()
	if r[0].Rest != 4 || r[0].State != "truncated" || !strings.Contains(r[0].Reason, "REST") ||
		f[0].holes != 4 || f[0].size != 10 || string(f[0].data[4:]) != "456789" || f[0].meta.ExpectedSize != 10 {
		t.Errorf("REST: %+v, file holes %d size %d", r[0], f[0].holes, f[0].size)
	}
	if r[1].State != "truncated" || !strings.HasPrefix(r[1].Reason, "short") || *r[1].ExpectedSize != 8 {
		t.Errorf("short: %+v", r[1])
	}
	if r[2].State != "complete" || r[2].TransferType != "ascii" || f[2].meta.ExpectedSize != -1 {
		t.Errorf("ascii: %+v", r[2])
	}
}

func TestAbortedTransfer(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("RETR big")
	v.server("150 go")
	v.feed(d, s, 1, strings.Repeat("x", 1000))
	v.client("\xff\xf4\xff\xf2ABOR") // Telnet IP + Synch, as some clients send it
	v.server("426 Transfer aborted.", "226 ABOR command successful.")
	v.finish(d, s, "rst", "rst")
	v.close()
	l := v.mustLog("RETR")
	if l.State != "truncated" || !strings.Contains(l.Reason, "ABOR") || !strings.Contains(l.Reason, "426") || l.ReplyCode != 426 {
		t.Errorf("RETR %+v", l)
	}
	if a := v.mustLog("ABOR"); a.ReplyCode != 226 {
		t.Errorf("ABOR %+v", a)
	}
	// A transfer cut without any final reply: reset data connection.
	v = newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s = v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("STOR up")
	v.server("150 go")
	v.feed(d, s, 0, "partial")
	v.finish(d, s, "rst", "fin")
	v.close()
	if l := v.mustLog("STOR"); l.State != "truncated" || !strings.Contains(l.Reason, "connection reset") || !strings.Contains(l.Note, "no final reply") {
		t.Errorf("STOR %+v", l)
	}
}

func TestAuthTLSStopsParsing(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("AUTH TLS")
	v.server("234 Proceed with negotiation.")
	v.c.Data(v.es, 0, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfcRETR secret\r\n"), v.off[0], v.tick())
	v.server("\x17\x03\x03 PASV 227 (1,2,3,4,5,6)")
	v.close()
	if l := v.mustLog("AUTH"); !strings.Contains(l.Note, "encrypted") || l.ReplyCode != 234 {
		t.Errorf("AUTH %+v", l)
	}
	if len(v.o.logs) != 2 || v.o.expect.Pending() != 0 {
		t.Errorf("parsed after AUTH: %s", v.dumpLogs())
	}
	if !strings.Contains(v.o.text(), "encrypted after AUTH") {
		t.Errorf("transcript:\n%s", v.o.text())
	}
}

func TestUnsupportedAndUnmatched(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("LPRT 6,16,32,1,13,184,8,0,0,0,0,0,0,0,0,1,2,24,7")
	v.server("500 LPRT not understood")
	v.client("PORT 1,2,3")
	v.server("501 Illegal PORT command.")
	v.client("PASV")
	v.server("227 Entering Passive Mode (198,51,100,20,4,1).")
	v.client("RETR x")
	v.server("425 Can't open data connection.")
	v.client("PASV")
	v.server("227 Entering Passive Mode (198,51,100,20,4,2).")
	v.close()
	if l := v.mustLog("LPRT"); !strings.Contains(l.Note, "unsupported") {
		t.Errorf("LPRT %+v", l)
	}
	if l := v.mustLog("PORT"); !strings.Contains(l.Note, "malformed") {
		t.Errorf("PORT %+v", l)
	}
	if l := v.mustLog("RETR"); l.ReplyCode != 425 || !strings.Contains(l.Note, "not in the capture") {
		t.Errorf("RETR %+v", l)
	}
	var unmatched int
	for _, l := range v.o.find("PASV") {
		if strings.HasPrefix(l.Note, "unmatched") {
			unmatched++
		}
	}
	if unmatched != 2 {
		t.Errorf("unmatched: %s", v.dumpLogs())
	}
}

// Data that no transfer command claims: held, then saved under a generic
// name when a new announcement supersedes its endpoint; past maxHold it
// spills to a file at once, and a late command still gets that file.
func TestUnclaimedAndSpilledData(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.feed(d, s, 1, "orphan bytes")
	v.finish(d, s)
	v.client("PASV")
	v.server("227 (198,51,100,20,4,2)") // supersedes the first endpoint
	files := v.o.dataFiles()
	if len(files) != 1 || string(files[0].data) != "orphan bytes" || files[0].meta.Command != "" || !files[0].closed {
		t.Fatalf("orphan: %+v", files)
	}
	d, s = v.connect(netip.MustParseAddrPort("192.0.2.10:40001"), netip.MustParseAddrPort("198.51.100.20:1026"))
	big := strings.Repeat("y", maxHold+10)
	v.feed(d, s, 1, big)
	if n := len(v.o.dataFiles()); n != 2 {
		t.Fatalf("no spill: %d files", n)
	}
	if d.heldBytes > maxHold {
		t.Fatalf("held %d", d.heldBytes)
	}
	v.client("RETR late.bin")
	v.server("150 go", "226 ok")
	v.feed(d, s, 1, "z")
	v.finish(d, s)
	v.close()
	l := v.mustLog("RETR")
	f := v.o.dataFiles()[1]
	if l.FUID != f.fuid || l.State != "complete" || string(f.data) != big+"z" {
		t.Errorf("late RETR %+v; file %s %d bytes", l, f.fuid, len(f.data))
	}
	var orphanLogged bool
	for _, l := range v.o.logs {
		if strings.Contains(l.Note, "no transfer command claimed") && l.FUID == files[0].fuid {
			orphanLogged = true
		}
	}
	if !orphanLogged {
		t.Errorf("orphan not logged: %s", v.dumpLogs())
	}
}

// A gap in the control channel: the broken line is dropped, the fragment
// after the gap is not taken for a command, and pairing carries on.
func TestControlGap(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.c.Data(v.es, 0, []byte("RETR fi"), v.off[0], v.tick())
	v.c.Gap(v.es, 0, 7, 10, v.tick())
	v.c.Data(v.es, 0, []byte("le.txt\r\nNOOP\r\n"), v.off[0]+17, v.tick())
	v.server("200 NOOP ok")
	v.close()
	if len(v.o.find("RETR")) != 0 || v.mustLog("NOOP").ReplyCode != 200 {
		t.Errorf("after gap: %s", v.dumpLogs())
	}
	if !strings.Contains(v.o.text(), "10 bytes missing") || !strings.Contains(v.o.text(), "fragment after a gap") {
		t.Errorf("transcript:\n%s", v.o.text())
	}
}

// Commands that never get a reply stay bounded and are logged.
func TestPendingBounded(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	for i := 0; i < 1000; i++ {
		v.client("NOOP")
		if len(v.c.fifo) > maxPending {
			t.Fatalf("fifo %d", len(v.c.fifo))
		}
	}
	for i := 0; i < 200; i++ {
		v.client("PASV")
		v.server("227 (198,51,100,20,4,1)")
		if len(v.c.chans) > maxChannels {
			t.Fatalf("channels %d", len(v.c.chans))
		}
	}
	v.close()
	var noReply int
	for _, l := range v.o.find("NOOP") {
		if strings.Contains(l.Note, "no reply") {
			noReply++
		}
	}
	if noReply < 1000-maxPending {
		t.Errorf("%d NOOP lines without reply", noReply)
	}
}

// The session transcript is closed only after the last transfer of the
// session, even when a data connection closes after the control one.
func TestTranscriptWaitsForTransfers(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("RETR a")
	v.server("150 go")
	v.feed(d, s, 1, "abc")
	v.server("226 ok")
	v.close()
	var text *memFile
	for _, f := range v.o.files {
		if f.meta.Source == "FTP_SESSION" {
			text = f
		}
	}
	if text == nil || text.closed {
		t.Fatal("transcript closed before the transfer finished")
	}
	v.finish(d, s)
	if !text.closed || !strings.Contains(string(text.data), "** RETR a → 3 bytes, complete") {
		t.Errorf("transcript:\n%s", text.data)
	}
	if text.meta.Subdir != "ftp-sessions" || text.meta.Name != "session.txt" || !strings.HasPrefix(string(text.data), "# FTP session C000001") {
		t.Errorf("transcript meta %+v", text.meta)
	}
	// A connection reaching an endpoint after the session closed is left
	// to the transcripts.
	if v.c.closed != true {
		t.Fatal("not closed")
	}
	_ = sink.Complete
}

// STOU: the name is the server's (150 FILE: ...).
func TestSTOUName(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PWD")
	v.server(`257 "/in"`)
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("STOU suggestion.txt")
	v.server("150 FILE: suggestion.txt.x1y2")
	v.feed(d, s, 0, "unique")
	v.server("226 ok")
	v.finish(d, s)
	v.close()
	f := v.o.dataFiles()[0]
	if f.meta.Name != "suggestion.txt.x1y2" || f.meta.ServerPath != "/in/suggestion.txt.x1y2" || f.meta.Extra["stou_arg"] != "suggestion.txt" {
		t.Errorf("STOU file %+v", f.meta)
	}
}

// An empty download: the data connection carries no byte, so the Mux may
// hand it over only when it ends, after the 226. The transfer waits for
// it and the empty file is carved.
func TestEmptyTransferLateConnection(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	v.client("RETR empty.txt")
	v.server("150 Opening BINARY mode data connection for empty.txt (0 bytes).", "226 ok")
	if len(v.o.find("RETR")) != 0 {
		t.Fatal("finished before its data connection could be matched")
	}
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	if d == nil || d.late {
		t.Fatalf("data connection %+v", d)
	}
	v.finish(d, s)
	v.close()
	l := v.mustLog("RETR")
	if l.State != "complete" || *l.FileSize != 0 || l.FUID == "" {
		t.Errorf("RETR %+v", l)
	}
	// After the session ended, a connection to a used endpoint is late.
	v = newConv(t, false)
	v.server("220 ready")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	v.client("RETR x")
	v.server("550 nope")
	v.close()
	d, s = v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	if d == nil || !d.late {
		t.Fatalf("late connection %+v", d)
	}
	v.finish(d, s)
	found := false
	for _, l := range v.o.logs {
		found = found || strings.Contains(l.Note, "empty data connection of RETR x")
	}
	if !found {
		t.Errorf("late connection not logged: %s", v.dumpLogs())
	}
}

// MODE B: the data connection carries block headers, not the file.
func TestBlockModeNotTakenForTheFile(t *testing.T) {
	v := newConv(t, false)
	v.server("220 ready")
	v.client("MODE B")
	v.server("200 Mode set to B.")
	v.client("PASV")
	v.server("227 (198,51,100,20,4,1)")
	d, s := v.connect(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.20:1025"))
	v.client("RETR f")
	v.server("150 go")
	v.feed(d, s, 1, "\x40\x00\x03abc")
	v.server("226 ok")
	v.finish(d, s)
	v.client("MODE S")
	v.server("200 ok")
	v.close()
	if l := v.mustLog("RETR"); l.State != "truncated" || !strings.Contains(l.Reason, "MODE B") || l.SHA256 != "" {
		t.Errorf("RETR %+v", l)
	}
	if v.c.mode != "" {
		t.Errorf("MODE S not restored: %q", v.c.mode)
	}
}

// A gap inside a PASS line: with RedactPasswords neither the dropped start
// nor the tail after the gap shows in the transcript.
func TestRedactBrokenPassLine(t *testing.T) {
	v := newConv(t, true)
	v.server("220 ready")
	v.c.Data(v.es, 0, []byte("PASS s3c"), v.off[0], v.tick())
	v.c.Gap(v.es, 0, 8, 2, v.tick())
	v.c.Data(v.es, 0, []byte("et99\r\nNOOP\r\n"), 10, v.tick())
	v.server("200 ok")
	v.close()
	if text := v.o.text(); strings.Contains(text, "s3c") || strings.Contains(text, "et99") || !strings.Contains(text, "not shown") {
		t.Errorf("transcript:\n%s", text)
	}
}
