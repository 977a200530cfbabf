package ftp

import (
	"net/netip"
	"testing"
)

func TestParsePASV(t *testing.T) {
	tests := []struct {
		text string
		want string // "" = malformed
	}{
		{"Entering Passive Mode (212,27,32,66,221,243).", "212.27.32.66:56819"},
		{"Entering passive mode (172,23,0,2,82,16).", "172.23.0.2:21008"},
		{"Entering Passive Mode 212,27,32,66,221,243", "212.27.32.66:56819"},
		{"=212,27,32,66,221,243", "212.27.32.66:56819"},
		{"Entering Passive Mode (10,9,8,7,238,89)", "10.9.8.7:61017"},
		{"Entering Passive Mode (0,0,0,0,4,1).", "0.0.0.0:1025"},
		{"Passive (v1 ready) (127,0,0,1,1,2)", "127.0.0.1:258"},
		{"Entering Passive Mode (256,0,0,1,4,1).", ""},                    // octet out of range
		{"Entering Passive Mode (1,2,3,4,0,0).", ""},                      // port 0
		{"Entering Passive Mode (1,2,3,4,5).", ""},                        // five numbers
		{"Entering Passive Mode (1,2,3,4,5,0006).", ""},                   // four digits
		{"Entering Passive Mode (1, 2, 3, 4, 5, 6).", ""},                 // spaces
		{"Entering Passive Mode", ""},                                     // nothing
		{"", ""},                                                          // empty
		{"(1,2,3,4,5,6,7,8)", "1.2.3.4:1286"},                             // first six taken
		{"Entering Passive Mode (-1,2,3,4,5,6)", ""},                      // sign
		{"x" + string(make([]byte, 100)) + "9,9,9,9,9,9", "9.9.9.9:2313"}, // binary junk first
	}
	for _, tt := range tests {
		got, ok := parsePASV(tt.text)
		if (tt.want == "") != !ok || (ok && got.String() != tt.want) {
			t.Errorf("parsePASV(%q) = %v, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		text string
		port uint16
		addr string
		ok   bool
	}{
		{"Entering Extended Passive Mode (|||6446|)", 6446, "", true},
		{"Entering Extended Passive Mode (|||6446|).", 6446, "", true},
		{"Entering Extended Passive Mode (!!!6446!)", 6446, "", true},
		{"Extended Passive Mode OK (|2|2001:db8::1|6446|)", 6446, "2001:db8::1", true},
		{"Entering Extended Passive Mode |||6446|", 6446, "", true},
		{"Entering Extended Passive Mode (|||0|)", 0, "", false},
		{"Entering Extended Passive Mode (|||65536|)", 0, "", false},
		{"Entering Extended Passive Mode (|||64a|)", 0, "", false},
		{"Entering Extended Passive Mode (||6446|)", 0, "", false},
		{"Entering Extended Passive Mode (1116446 1)", 0, "", false}, // digit delimiter
		{"Entering Extended Passive Mode (|||6446|", 0, "", false},   // no ')'
		{"Entering Extended Passive Mode (|||)", 0, "", false},
		{"", 0, "", false},
		{"(|2|fe80::1%eth0|6446|)", 0, "", false}, // zones are not addresses on the wire
	}
	for _, tt := range tests {
		port, addr, ok := parseEPSV(tt.text)
		if ok != tt.ok || (ok && (port != tt.port || (tt.addr != "" && addr.String() != tt.addr) || (tt.addr == "" && addr.IsValid()))) {
			t.Errorf("parseEPSV(%q) = %d, %v, %v; want %d, %q, %v", tt.text, port, addr, ok, tt.port, tt.addr, tt.ok)
		}
	}
}

func TestParsePORTAndEPRT(t *testing.T) {
	tests := []struct {
		verb, arg string
		want      string
	}{
		{"PORT", "212,27,32,66,221,243", "212.27.32.66:56819"},
		{"PORT", " 127,0,0,1,195,83 ", "127.0.0.1:50003"},
		{"PORT", "127,0,0,1,195,83,1", ""},
		{"PORT", "127,0,0,1,195", ""},
		{"PORT", "127,0,0,1,195,x", ""},
		{"PORT", "127,0,0,1,0,0", ""},
		{"PORT", "300,0,0,1,1,1", ""},
		{"PORT", "", ""},
		{"EPRT", "|1|132.235.1.2|6275|", "132.235.1.2:6275"},
		{"EPRT", "|2|1080::8:800:200C:417A|5282|", "[1080::8:800:200c:417a]:5282"},
		{"EPRT", "|2|::1|50001|", "[::1]:50001"},
		{"EPRT", "!2!::1!50001!", "[::1]:50001"},
		{"EPRT", "|1|::1|50001|", ""},         // family mismatch
		{"EPRT", "|2|127.0.0.1|50001|", ""},   // family mismatch
		{"EPRT", "|3|127.0.0.1|50001|", ""},   // unknown protocol
		{"EPRT", "|1|132.235.1.2|0|", ""},     // port 0
		{"EPRT", "|1|132.235.1.2|70000|", ""}, // port too big
		{"EPRT", "|1|132.235.1.2|6275", ""},   // no final delimiter
		{"EPRT", "|1||6275|", ""},             // no address
		{"EPRT", "|1|1.2.3.4|6275|x", ""},     // trailing junk
		{"EPRT", "", ""},
		{"EPRT", "1|1.2.3.4|6275|", ""}, // digit delimiter
	}
	for _, tt := range tests {
		var got netip.AddrPort
		var ok bool
		if tt.verb == "PORT" {
			got, ok = parsePORT(tt.arg)
		} else {
			got, ok = parseEPRT(tt.arg)
		}
		if (tt.want == "") != !ok || (ok && got.String() != tt.want) {
			t.Errorf("%s %q = %v, %v; want %q", tt.verb, tt.arg, got, ok, tt.want)
		}
	}
}

func TestParseSizeInReply(t *testing.T) {
	tests := []struct {
		text string
		n    int64
		ok   bool
	}{
		{"Opening BINARY mode data connection for report.pdf (409112 bytes).", 409112, true},
		{"Opening BINARY mode data connection for vs-blob.bin (30000 bytes).", 30000, true},
		{"Opening BINARY mode data connection for report.pdf(409112 bytes)", 409112, true},
		{"Opening ASCII mode data connection for a (1 bytes) b (2 BYTES)", 2, true},
		{"Opening BINARY mode data connection for x (0 bytes).", 0, true},
		{"Here comes the directory listing.", 0, false},
		{"File status okay. About to open data connection.", 0, false},
		{"Opening (abc bytes)", 0, false},
		{"Opening ( bytes)", 0, false},
		{"Opening (99999999999999999999999 bytes)", 0, false},
		{"(12 bytes)", 12, true},
		{" bytes)", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseSizeInReply(tt.text)
		if ok != tt.ok || n != tt.n {
			t.Errorf("parseSizeInReply(%q) = %d, %v; want %d, %v", tt.text, n, ok, tt.n, tt.ok)
		}
	}
}

func TestParseSTOUName(t *testing.T) {
	tests := []struct{ text, want string }{
		{"FILE: ftpd.c5_yy34p", "ftpd.c5_yy34p"},
		{"FILE: all-data-ipv4-passive-stou.txt.rp7eaz59", "all-data-ipv4-passive-stou.txt.rp7eaz59"},
		{"Transfer complete (unique file name:file.1).", "file.1"},
		{"FILE:", ""},
		{"Data connection already open. Transfer starting.", ""},
	}
	for _, tt := range tests {
		got, ok := parseSTOUName(tt.text)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseSTOUName(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
}

func TestParseQuotedPath(t *testing.T) {
	tests := []struct{ text, want string }{
		{`"/home/alice" is the current directory.`, "/home/alice"},
		{`"/" is the current directory`, "/"},
		{`"/odd""name" created.`, `/odd"name`},
		{`"/sub" is the current directory.`, "/sub"},
		{`/home/alice`, "/home/alice"},
		{`"unterminated`, ""},
		{`""`, ""},
		{`Directory successfully changed.`, ""},
		{`  "/x y" ok`, "/x y"},
	}
	for _, tt := range tests {
		got, ok := parseQuotedPath(tt.text)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseQuotedPath(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
}

func TestParseRESTTypeSize(t *testing.T) {
	for _, tt := range []struct {
		arg string
		n   int64
		ok  bool
	}{
		{"409600", 409600, true}, {" 0 ", 0, true}, {"-1", 0, false}, {"1e3", 0, false},
		{"", 0, false}, {"9999999999999999999", 0, false}, {"100000000000000000", 100000000000000000, true},
	} {
		n, ok := parseREST(tt.arg)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseREST(%q) = %d, %v", tt.arg, n, ok)
		}
	}
	for _, tt := range []struct {
		arg       string
		ascii, ok bool
	}{
		{"A", true, true}, {"A N", true, true}, {"a", true, true}, {"I", false, true},
		{"L 8", false, true}, {"L 7", false, false}, {"E", true, true}, {"X", false, false}, {"", false, false},
	} {
		a, ok := parseTYPE(tt.arg)
		if a != tt.ascii || ok != tt.ok {
			t.Errorf("parseTYPE(%q) = %v, %v", tt.arg, a, ok)
		}
	}
	for _, tt := range []struct {
		text string
		n    int64
		ok   bool
	}{{"409112", 409112, true}, {"30000 bytes", 30000, true}, {"x", 0, false}, {"", 0, false}, {"-5", 0, false}} {
		n, ok := parseSize(tt.text)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseSize(%q) = %d, %v", tt.text, n, ok)
		}
	}
}

func TestParseCommandAndReplyLine(t *testing.T) {
	for _, tt := range []struct {
		line, verb, arg string
		ok              bool
	}{
		{"RETR /pub/report.pdf", "RETR", "/pub/report.pdf", true},
		{"retr x", "RETR", "x", true},
		{"STOR  leading-space.txt", "STOR", " leading-space.txt", true},
		{"PASV", "PASV", "", true},
		{"XSHA256 f", "XSHA256", "f", true},
		{"3RTR x", "", "3RTR x", false},
		{"R3TR x", "R3TR", "x", true},
		{"TOOLONGVERB x", "", "TOOLONGVERB x", false},
		{" RETR x", "", " RETR x", false},
		{"\x16\x03\x01\x02", "", "\x16\x03\x01\x02", false},
	} {
		v, a, ok := parseCommand(tt.line)
		if v != tt.verb || a != tt.arg || ok != tt.ok {
			t.Errorf("parseCommand(%q) = %q, %q, %v", tt.line, v, a, ok)
		}
	}
	for _, tt := range []struct {
		line string
		code int
		sep  byte
		text string
		ok   bool
	}{
		{"226 Transfer complete.", 226, ' ', "Transfer complete.", true},
		{"150-Accepted data connection", 150, '-', "Accepted data connection", true},
		{"226", 226, 0, "", true},
		{"226x", 0, 0, "", false},
		{"22 x", 0, 0, "", false},
		{"999 nope", 0, 0, "", false},
		{"099 nope", 0, 0, "", false},
		{" 226 x", 0, 0, "", false},
	} {
		code, sep, text, ok := parseReplyLine(tt.line)
		if code != tt.code || sep != tt.sep || text != tt.text || ok != tt.ok {
			t.Errorf("parseReplyLine(%q) = %d, %q, %q, %v", tt.line, code, sep, text, ok)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct{ cwd, arg, want string }{
		{"/", "report.pdf", "/report.pdf"},
		{"/pub", "report.pdf", "/pub/report.pdf"},
		{"/pub", "/etc/passwd", "/etc/passwd"},
		{"/pub", "../../etc/passwd", "/etc/passwd"},
		{"/pub", "./a//b/../c", "/pub/a/c"},
		{"/pub", "", "/pub"},
		{"", "report.pdf", "report.pdf"},
		{"", "../../etc/passwd", "../../etc/passwd"},
		{"", "/abs", "/abs"},
		{"", "", ""},
		{"/", "sub/", "/sub"},
		{"C:/data", "x.txt", "C:/data/x.txt"},
	}
	for _, tt := range tests {
		if got := resolve(tt.cwd, tt.arg); got != tt.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tt.cwd, tt.arg, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"../../etc/passwd", "passwd"}, {"/pub/report.pdf", "report.pdf"}, {"dir/", "dir"},
		{"plain", "plain"}, {"", ""}, {"/", ""}, {`..\..\win.ini`, `..\..\win.ini`},
	} {
		if got := baseName(tt.in); got != tt.want {
			t.Errorf("baseName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"-la", ""}, {"-la /pub", "/pub"}, {"-a -l /pub", "/pub"}, {"/sub/", "/sub/"},
		{"-file.txt", "-file.txt"}, {"-dir/", "-dir/"}, {"", ""},
	} {
		if got := listArg(tt.in); got != tt.want {
			t.Errorf("listArg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripTelnet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABOR", "ABOR"},
		{"\xff\xf4\xff\xf2ABOR", "ABOR"}, // IAC IP IAC DM ABOR
		{"RETR a\xff\xffb", "RETR a\xffb"},
		{"\xff\xfb\x01USER x", "USER x"}, // IAC WILL ECHO
		{"USER x\xff", "USER x"},
		{"\xff", ""},
	}
	for _, tt := range tests {
		if got := string(stripTelnet([]byte(tt.in), nil)); got != tt.want {
			t.Errorf("stripTelnet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
