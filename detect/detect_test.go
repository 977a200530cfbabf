package detect

import "testing"

func TestDetect(t *testing.T) {
	cases := []struct {
		orig, resp, want string
	}{
		{"GET /index.html HTTP/1.1\r\nHost: x\r\n", "", HTTP},
		{"", "HTTP/1.1 200 OK\r\n", HTTP},
		{"POST /up", "", HTTP}, // cut short: the method is enough
		{"GET / FOO\r\n", "", Unknown},
		{"", "220 ProFTPD Server ready\r\n", FTP},
		{"USER anonymous\r\n", "220 (vsFTPd 3.0.3)\r\n", FTP},
		{"USER bob\r\n", "331 Please specify the password.\r\n", FTP},
		{"EHLO mail.example\r\n", "220 mx ESMTP Postfix\r\n", SMTP},
		{"", "220 mx.example ESMTP ready\r\n", SMTP},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "", TLS},
		{"SSH-2.0-OpenSSH_9.2\r\n", "SSH-2.0-OpenSSH_9.2\r\n", SSH},
		{"", "+OK POP3 ready\r\n", POP3},
		{"", "* OK IMAP4rev1 ready\r\n", IMAP},
		{"\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", "", DNS},
		{"\xff\xfd\x18\xff\xfd\x20", "", Telnet},
		{"PASV\r\n", "227 Entering Passive Mode (10,0,0,1,4,1).\r\n", FTP}, // picked up mid-session
		{"PASV\n", "227 x", Unknown},
		{"random bytes", "more random", Unknown},
	}
	for _, c := range cases {
		if got := Detect([]byte(c.orig), []byte(c.resp)); got != c.want {
			t.Errorf("Detect(%q, %q) = %q, want %q", c.orig, c.resp, got, c.want)
		}
	}
}
