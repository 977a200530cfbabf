package analysis

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/internal/pcapgen"
)

// capture writes a synthetic capture made by build and returns its path.
func capture(t *testing.T, build func(w *pcapgen.Writer)) string {
	t.Helper()
	return captureWith(t, pcapgen.Options{}, build)
}

func captureWith(t *testing.T, opts pcapgen.Options, build func(w *pcapgen.Writer)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapgen.NewWriter(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	build(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// analyse runs the engine over path with the extractors the analysis
// listens to (TLS, plainauth), feeds the ftp/http log lines logs makes
// (given the connections' uids, by first packet), and returns the report
// and those uids.
func analyse(t *testing.T, path string, opts Options, logs func(uids []string) map[string]string) (*Report, []string) {
	t.Helper()
	opts.Tables = true
	rec := record(t, path, opts, false, false)
	uids := rec.uids()
	texts := map[string]string{}
	if logs != nil {
		texts = logs(uids)
	}
	for name, text := range texts {
		if err := rec.col.ReadLog(name, strings.NewReader(text)); err != nil {
			t.Fatal(err)
		}
	}
	return rec.col.Finish(), uids
}

var (
	client = netip.MustParseAddr("192.0.2.10")
	server = netip.MustParseAddr("198.51.100.20")
)

func conn(w *pcapgen.Writer, c netip.Addr, cport uint16, s netip.Addr, sport uint16) *pcapgen.Conn {
	return w.NewConn(pcapgen.ConnConfig{Client: netip.AddrPortFrom(c, cport), Server: netip.AddrPortFrom(s, sport),
		ClientISN: 1000, ServerISN: 5000})
}

// dialogue sends lines alternately: even indexes from the server (it
// speaks first), odd from the client.
func dialogue(c *pcapgen.Conn, lines ...string) {
	for i, l := range lines {
		if l != "" {
			c.Send(i%2 == 1, []byte(l))
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// notes lists the report's notices as "Note uid p" strings, sorted.
func notes(r *Report) []string {
	var out []string
	for _, n := range r.Notices {
		out = append(out, fmt.Sprintf("%s %s %d", n.Note, n.UID, n.P))
	}
	slices.Sort(out)
	return out
}

func find(t *testing.T, r *Report, note, uid string) *Notice {
	t.Helper()
	for i := range r.Notices {
		if r.Notices[i].Note == note && r.Notices[i].UID == uid {
			return &r.Notices[i]
		}
	}
	t.Fatalf("no %s on %s; have %v", note, uid, notes(r))
	return nil
}

func ev(n *Notice, k string) string {
	b, _ := json.Marshal(n.Evidence[k])
	return string(b)
}

func TestPlaintextLogins(t *testing.T) {
	path := capture(t, func(w *pcapgen.Writer) {
		// u[0] SMTP: AUTH LOGIN refused, AUTH PLAIN accepted, a message
		// whose body looks like a command (not read as one)
		c := conn(w, client, 40000, server, 25)
		c.Handshake()
		dialogue(c, "220 mail.example ESMTP\r\n", "EHLO me\r\n", "250-mail.example\r\n250 AUTH LOGIN PLAIN\r\n", "AUTH LOGIN\r\n",
			"334 VXNlcm5hbWU6\r\n", b64("alice")+"\r\n", "334 UGFzc3dvcmQ6\r\n", b64("s3cret")+"\r\n",
			"535 5.7.8 Authentication credentials invalid\r\n", "AUTH PLAIN "+b64("\x00alice\x00s3cret2")+"\r\n",
			"235 2.7.0 Authentication successful\r\n", "MAIL FROM:<a@example>\r\n", "250 ok\r\n", "DATA\r\n",
			"354 go ahead\r\n", "Subject: x\r\n\r\nAUTH PLAIN "+b64("\x00mallory\x00nope")+"\r\n.\r\n", "250 queued\r\n", "QUIT\r\n", "221 bye\r\n")
		c.Close()
		// u[1] SMTP submission with STARTTLS: the rest is TLS
		c = conn(w, client, 40001, server, 587)
		c.Handshake()
		dialogue(c, "220 mail.example ESMTP\r\n", "EHLO me\r\n", "250 STARTTLS\r\n", "STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n",
			"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00AUTH PLAIN "+b64("\x00x\x00y")+"\r\n")
		c.Close()
		// u[2] POP3 USER/PASS accepted
		c = conn(w, client, 40002, server, 110)
		c.Handshake()
		dialogue(c, "+OK POP3 ready\r\n", "USER bob\r\n", "+OK\r\n", "PASS hunter2\r\n", "+OK Logged in.\r\n", "QUIT\r\n", "+OK bye\r\n")
		c.Close()
		// u[3] IMAP LOGIN with literals, refused
		c = conn(w, client, 40003, server, 143)
		c.Handshake()
		dialogue(c, "* OK IMAP4rev1 ready\r\n", "a1 LOGIN {5}\r\n", "+ go ahead\r\n", "carol {6}\r\n", "+ go ahead\r\n", "p\"ss w\r\n",
			"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", "a2 LOGOUT\r\n", "* BYE\r\na2 OK\r\n")
		c.Close()
		// u[4] telnet: one key per segment, echoed; then a shell prompt
		c = conn(w, client, 40004, server, 23)
		c.Handshake()
		c.Send(false, []byte("\xff\xfd\x18\xff\xfb\x01Debian GNU/Linux 12\r\nhost login: "))
		for _, k := range "davx\x7fe" {
			c.Send(true, []byte(string(k)))
			if k != 0x7f {
				c.Send(false, []byte(string(k)))
			}
		}
		c.Send(true, []byte("\r\x00"))
		c.Send(false, []byte("\r\nPassword: "))
		c.Send(true, []byte("pw1\r\n"))
		c.Send(false, []byte("\r\nLast login: Mon Jan  1 00:00:00 2024\r\ndave@host:~$ "))
		c.Close()
	})
	r, u := analyse(t, path, Options{}, nil)
	want := []string{
		"Failed_Login " + u[0] + " 25", "Failed_Login " + u[3] + " 143",
		"Plaintext_Credentials " + u[0] + " 25", "Plaintext_Credentials " + u[0] + " 25",
		"Plaintext_Credentials " + u[2] + " 110", "Plaintext_Credentials " + u[3] + " 143", "Plaintext_Credentials " + u[4] + " 23",
		"Plaintext_Where_Encryption_Usual " + u[4] + " 23",
	}
	slices.Sort(want)
	if got := notes(r); !slices.Equal(got, want) {
		t.Fatalf("notices\n got %q\nwant %q", got, want)
	}
	var creds []string
	for _, n := range r.Notices {
		if n.Note == NotePlaintextCredentials {
			creds = append(creds, fmt.Sprintf("%s %s/%s %s", n.Service, n.Evidence["user"], n.Evidence["password"], ev(&n, "outcomes")))
		}
	}
	slices.Sort(creds)
	wantCreds := []string{`imap carol/p"ss w ["refused"]`, `pop3 bob/hunter2 ["accepted"]`, `smtp alice/s3cret ["refused"]`,
		`smtp alice/s3cret2 ["accepted"]`, `telnet dave/pw1 ["accepted"]`}
	if !slices.Equal(creds, wantCreds) {
		t.Errorf("credentials\n got %q\nwant %q", creds, wantCreds)
	}
	if n := find(t, r, NoteFailedLogin, u[0]); ev(n, "reply") != `"535 5.7.8 Authentication credentials invalid"` || ev(n, "mechanism") != `"AUTH LOGIN"` {
		t.Errorf("smtp failure evidence %v", n.Evidence)
	}
	classes := map[string]string{}
	for _, c := range r.Encryption.ByService {
		classes[c.Service] = c.Class + " " + c.How
	}
	if classes["smtp"] != "encrypted TLS after SMTP STARTTLS" && !strings.Contains(fmt.Sprint(r.Encryption.ByService), "TLS after SMTP STARTTLS") {
		t.Errorf("STARTTLS connection not encrypted: %+v", r.Encryption.ByService)
	}
	if r.Encryption.Classes[ClassEncrypted] != 1 || r.Encryption.Classes[ClassPlaintext] != 4 {
		t.Errorf("classes %v", r.Encryption.Classes)
	}
}

func TestConnectionAttempts(t *testing.T) {
	path := capture(t, func(w *pcapgen.Writer) {
		// 14 refused ports of one host: under the port-scan threshold,
		// each is a Connection_Rejected
		h1 := netip.MustParseAddr("10.0.0.50")
		for i := range 14 {
			c := conn(w, client, uint16(41000+i), h1, uint16(3000+i))
			c.SYN()
			c.RST(false)
		}
		// 25 hosts on port 22 never answering: an address scan, and no
		// Host_No_Answer for them
		for i := range 25 {
			c := conn(w, netip.MustParseAddr("203.0.113.7"), uint16(42000+i), netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), 22)
			c.SYN()
			c.SYN()
		}
		// a host that answers nothing but whose client goes on as if it
		// did (one-sided capture): no finding
		c := conn(w, client, 43000, netip.MustParseAddr("10.0.0.60"), 80)
		c.SYN()
		c.ACK(true)
		w.Advance(10 * time.Second)
		// a SYN at the very end of the capture: no verdict
		c = conn(w, client, 43001, netip.MustParseAddr("10.0.0.61"), 80)
		c.SYN()
	})
	r, u := analyse(t, path, Options{}, nil)
	var rej, scans, other []string
	for _, n := range r.Notices {
		switch n.Note {
		case NoteRejected:
			rej = append(rej, fmt.Sprintf("%s:%d", n.Dst, n.P))
		case NoteScan:
			scans = append(scans, n.Sub)
		default:
			other = append(other, n.Note+" "+n.UID)
		}
	}
	if len(rej) != 14 || len(scans) != 1 || scans[0] != "address scan: 25 hosts" || len(other) != 0 {
		t.Errorf("rejected %v scans %v other %v", rej, scans, other)
	}
	s := find(t, r, NoteScan, u[14])
	if s.N != 25 || s.Src != netip.MustParseAddr("203.0.113.7") || ev(s, "conn_states") != `{"S0":25}` {
		t.Errorf("scan %+v", s)
	}
	if r.TCP.NoAnswer != 26 || r.TCP.Rejected != 14 || r.TCP.Attempts != 41 || r.TCP.Completed != 0 {
		t.Errorf("health %+v", r.TCP)
	}
	// the same capture with a lower threshold: a port scan of 10.0.0.50
	r, u = analyse(t, path, Options{Thresholds: Thresholds{ScanPorts: 14}}, nil)
	find(t, r, NoteScan, u[0])
	for _, n := range r.Notices {
		if n.Note == NoteRejected {
			t.Errorf("rejected attempt reported beside its scan: %+v", n)
		}
	}
}

func TestHTTPAndFTPLogs(t *testing.T) {
	// connections for the log lines to refer to
	path := capture(t, func(w *pcapgen.Writer) {
		for i := range 4 {
			c := conn(w, client, uint16(44000+i), server, 80)
			c.Handshake()
			c.Send(true, []byte("GET / HTTP/1.1\r\n\r\n"))
			c.Send(false, []byte("HTTP/1.1 200 OK\r\n\r\n"))
			c.Close()
		}
		// u[4]: an FTP control connection that goes on in TLS
		c := conn(w, client, 44010, server, 21)
		c.Handshake()
		dialogue(c, "220 FTP ready\r\n", "AUTH TLS\r\n", "234 AUTH TLS ok.\r\n", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00")
		c.Close()
	})
	line := func(uid string, depth, status int, uri, user string, dt time.Duration) string {
		ts := float64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(dt).UnixMicro()) / 1e6
		return fmt.Sprintf(`{"ts":%.6f,"uid":%q,"id.orig_h":"192.0.2.10","id.orig_p":44000,"id.resp_h":"198.51.100.20","id.resp_p":80,`+
			`"trans_depth":%d,"method":"GET","host":"h","uri":%q,"status_code":%d,"status_msg":"x","username":%q,"password":"pw","state":"complete"}`+"\n",
			ts, uid, depth, uri, status, user)
	}
	logs := func(u []string) map[string]string {
		http := line(u[0], 1, 401, "/a", "", 0) + // answered by credentials 2 s later: a challenge
			line(u[1], 1, 200, "/a", "u", 2*time.Second) +
			line(u[2], 1, 401, "/b", "", 0) + // credentials 10 s later: too late, Access_Denied
			line(u[3], 1, 200, "/b", "u", 10*time.Second) +
			line(u[3], 2, 500, "/c", "", 11*time.Second) +
			line(u[3], 3, 500, "/c", "", 12*time.Second) // the same 500 twice: one notice, n 2
		ftp := fmt.Sprintf(`{"ts":1704067200.1,"uid":%q,"id.orig_h":"192.0.2.10","id.orig_p":44000,"id.resp_h":"198.51.100.20","id.resp_p":21,"user":"anonymous","password":"me@example","command":"PASS","arg":"me@example","reply_code":230,"login":"success"}
{"ts":1704067200.2,"uid":%q,"id.orig_h":"192.0.2.10","id.orig_p":44010,"id.resp_h":"198.51.100.20","id.resp_p":21,"command":"AUTH","arg":"TLS","reply_code":234,"note":"encrypted"}
not json
`, u[0], u[4])
		return map[string]string{"http": http, "ftp": ftp}
	}
	r, u := analyse(t, path, Options{}, logs)
	// u/pw sent twice, to the same server: one notice, n 2; the anonymous
	// FTP login is no credential
	want := []string{"Access_Denied " + u[2] + " 80", "HTTP_Error " + u[3] + " 80", "Plaintext_Credentials " + u[1] + " 80"}
	if got := notes(r); !slices.Equal(got, want) {
		t.Fatalf("notices\n got %q\nwant %q", got, want)
	}
	if n := find(t, r, NotePlaintextCredentials, u[1]); n.N != 2 || strings.Join(n.UIDs, " ") != u[1]+" "+u[3] {
		t.Errorf("credentials n %d uids %v", n.N, n.UIDs)
	}
	if n := find(t, r, NoteHTTPError, u[3]); n.N != 2 {
		t.Errorf("HTTP_Error n = %d", n.N)
	}
	if r.LogErrors["ftp"] != 1 {
		t.Errorf("log errors %v", r.LogErrors)
	}
	// the AUTH TLS line marks u[4] encrypted
	found := false
	for _, c := range r.Encryption.ByService {
		if c.How == "TLS after FTP AUTH TLS" {
			found = true
		}
	}
	if !found {
		t.Errorf("AUTH TLS not seen: %+v", r.Encryption.ByService)
	}
}

func TestCountReaches(t *testing.T) {
	at := func(secs ...int) func(int) time.Time {
		return func(i int) time.Time { return time.Unix(int64(secs[i]), 0) }
	}
	cases := []struct {
		secs  []int
		limit int
		want  bool
	}{
		{[]int{0, 1, 2}, 3, true},
		{[]int{0, 1, 2}, 4, false},
		{[]int{0, 100, 200, 300}, 3, false}, // never 3 within 150 s
		{[]int{0, 100, 200, 210}, 3, true},
	}
	for _, c := range cases {
		if got := countReaches(len(c.secs), at(c.secs...), c.limit, 150*time.Second); got != c.want {
			t.Errorf("%v limit %d: %v", c.secs, c.limit, got)
		}
	}
}

func TestBroadcastExcluded(t *testing.T) {
	pkt := func(src, dst string, n int) *decode.Packet {
		return &decode.Packet{TS: time.Unix(1, 0), Len: n, IPVer: 4, Proto: decode.ProtoUDP, Src: netip.MustParseAddr(src),
			Dst: netip.MustParseAddr(dst), SrcPort: 68, DstPort: 67}
	}
	for _, keep := range []bool{false, true} {
		c := New(Options{Tables: true, KeepBroadcast: keep})
		c.Packet(pkt("10.0.0.1", "255.255.255.255", 300))
		c.Packet(pkt("10.0.0.1", "239.255.255.250", 200))
		c.Packet(pkt("10.0.0.1", "10.0.0.2", 100))
		r := c.Finish()
		hosts := len(r.Hosts)
		if (!keep && (hosts != 2 || r.Excluded.Packets != 2 || r.Hosts[0].Bytes != 100)) || (keep && (hosts != 4 || r.Excluded.Packets != 0)) {
			t.Errorf("keep %v: hosts %+v excluded %+v", keep, r.Hosts, r.Excluded)
		}
		if r.Protocols[1].Packets != 3 {
			t.Errorf("keep %v: udp totals %+v", keep, r.Protocols)
		}
	}
}

func TestBaselineCompare(t *testing.T) {
	a1, a2, s1, s2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.0.1.2")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(span time.Duration, flows ...BaseFlow) *Baseline {
		b := &Baseline{Version: BaselineVersion}
		b.First.Time, b.Last.Time = t0, t0.Add(span)
		b.Flows = flows
		protos := map[string]*BaseProto{}
		for _, f := range flows {
			for _, p := range [][2]string{{f.Proto, "transport"}, {f.Service, "service"}} {
				if p[0] == "" {
					continue
				}
				if protos[p[1]+p[0]] == nil {
					protos[p[1]+p[0]] = &BaseProto{Name: p[0], Kind: p[1]}
				}
				protos[p[1]+p[0]].Conns += f.Conns
			}
		}
		for _, p := range protos {
			b.Protocols = append(b.Protocols, *p)
		}
		return b
	}
	fl := func(c, s netip.Addr, proto string, port uint16, svc string, conns int, bytes uint64) BaseFlow {
		return BaseFlow{Client: c, Server: s, Proto: proto, Port: port, Service: svc, Conns: conns, Bytes: bytes}
	}
	base := mk(24*time.Hour,
		fl(a1, s1, "tcp", 443, "tls", 100, 10<<20),
		fl(a1, s1, "tcp", 22, "ssh", 2, 1<<20),
		fl(a2, s1, "tcp", 443, "tls", 10, 1<<20))
	// a quarter of the time: usual volumes are divided by 4
	cur := mk(6*time.Hour,
		fl(a1, s1, "tcp", 443, "tls", 30, 3<<20),  // usual
		fl(a2, s1, "tcp", 443, "tls", 40, 30<<20), // 120x the expected bytes: grew
		fl(a2, s2, "udp", 53, "", 5, 1000))        // new pair, service, port, transport
	d := Compare(base, cur, DefaultGrowth)
	var got []string
	for _, c := range d.Changes {
		got = append(got, c.What+" "+c.Kind+" "+c.subject())
	}
	want := []string{
		"new protocol transport udp",
		"new port udp port 53",
		"new service udp unknown service on 10.0.1.2:53",
		"new host_pair 10.0.0.2 -> 10.0.1.2",
		"grew service tcp tls on 10.0.1.1:443",
		"grew host_pair 10.0.0.2 -> 10.0.1.1",
		"gone protocol service ssh",
		"gone port tcp port 22",
		"gone service tcp ssh on 10.0.1.1:22",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes\n got %q\nwant %q", got, want)
	}
	if d.Scale != 0.25 {
		t.Errorf("scale %v", d.Scale)
	}
	// the same capture against itself: nothing
	if d := Compare(cur, cur, DefaultGrowth); len(d.Changes) != 0 {
		t.Errorf("self-compare: %+v", d.Changes)
	}
}
