// Package detect names the application protocol of a TCP connection from the
// first bytes of each direction, not from its ports. It owns only the
// recognisers; ports are a separate hint (PortHint) that callers compare with
// the content's answer.
package detect

import (
	"bytes"
)

// Prefix is how many bytes of each direction Detect looks at.
const Prefix = 64

// Service names returned by Detect.
const (
	Unknown = ""
	HTTP    = "http"
	FTP     = "ftp"
	SMTP    = "smtp"
	POP3    = "pop3"
	IMAP    = "imap"
	SSH     = "ssh"
	TLS     = "tls"
	DNS     = "dns"
	Telnet  = "telnet"
)

var httpMethods = [][]byte{
	[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "),
	[]byte("PROPFIND "), []byte("PROPPATCH "), []byte("MKCOL "), []byte("COPY "), []byte("MOVE "),
	[]byte("LOCK "), []byte("UNLOCK "), []byte("SEARCH "), []byte("REPORT "),
}

// IsHTTPRequest reports whether b starts like an HTTP/1.x request line.
func IsHTTPRequest(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, m) {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line = b[:i]
			} else {
				return true // cut short: the method is enough
			}
			return bytes.Contains(line, []byte(" HTTP/"))
		}
	}
	return false
}

// IsHTTPResponse reports whether b starts like an HTTP/1.x status line.
func IsHTTPResponse(b []byte) bool {
	return len(b) >= 12 && bytes.HasPrefix(b, []byte("HTTP/1.")) && b[8] == ' ' && isDigit(b[9]) && isDigit(b[10]) && isDigit(b[11])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func replyCode(b []byte, code string) bool {
	return len(b) >= 4 && bytes.HasPrefix(b, []byte(code)) && (b[3] == ' ' || b[3] == '-')
}

func hasCommand(b []byte, cmds ...string) bool {
	for _, c := range cmds {
		if len(b) >= len(c) && bytes.EqualFold(b[:len(c)], []byte(c)) {
			return true
		}
	}
	return false
}

// Detect names the protocol from the first bytes of the originator's (orig)
// and responder's (resp) streams; either may be short or empty.
func Detect(orig, resp []byte) string {
	switch {
	case IsHTTPRequest(orig) || IsHTTPResponse(resp):
		return HTTP
	case isTLS(orig) || isTLS(resp):
		return TLS
	case bytes.HasPrefix(orig, []byte("SSH-")) || bytes.HasPrefix(resp, []byte("SSH-")):
		return SSH
	}
	if replyCode(resp, "220") {
		switch {
		case hasCommand(orig, "EHLO", "HELO"):
			return SMTP
		case hasCommand(orig, "USER ", "AUTH ", "FEAT", "SYST", "OPTS "):
			return FTP
		case bytes.Contains(bytes.ToUpper(resp), []byte("SMTP")):
			return SMTP
		case bytes.Contains(bytes.ToUpper(resp), []byte("FTP")):
			return FTP
		case len(orig) == 0:
			return FTP // a greeting alone: FTP is the commonest 220 service
		}
	}
	if ftpCommand(orig) && anyReply(resp) {
		return FTP // picked up after the greeting (mid-session)
	}
	switch {
	case bytes.HasPrefix(resp, []byte("+OK")):
		return POP3
	case bytes.HasPrefix(resp, []byte("* OK")) || bytes.HasPrefix(resp, []byte("* PREAUTH")):
		return IMAP
	case len(resp) >= 3 && resp[0] == 0xff && resp[1] >= 0xfb && resp[1] <= 0xfe,
		len(orig) >= 3 && orig[0] == 0xff && orig[1] >= 0xfb && orig[1] <= 0xfe:
		return Telnet
	case isDNS(orig):
		return DNS
	}
	return Unknown
}

var ftpVerbs = []string{"USER ", "PASS ", "ACCT ", "PASV", "EPSV", "PORT ", "EPRT ", "RETR ", "STOR ", "STOU", "APPE ",
	"LIST", "NLST", "MLSD", "MLST", "CWD ", "CDUP", "PWD", "XPWD", "TYPE ", "MODE ", "STRU ", "REST ", "SIZE ", "MDTM ",
	"DELE ", "RNFR ", "RNTO ", "MKD ", "RMD ", "SITE ", "SYST", "FEAT", "NOOP", "ABOR", "QUIT", "AUTH ", "PBSZ ", "PROT "}

// ftpCommand: the client's bytes start with an FTP command verb and end
// their first line with CRLF (or are cut short).
func ftpCommand(b []byte) bool {
	if !hasCommand(b, ftpVerbs...) {
		return false
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i > 0 && b[i-1] == '\r'
	}
	return true
}

// anyReply: the server's bytes start with a three-digit reply code.
func anyReply(b []byte) bool {
	return len(b) >= 4 && b[0] >= '1' && b[0] <= '5' && isDigit(b[1]) && isDigit(b[2]) && (b[3] == ' ' || b[3] == '-')
}

// isTLS: a TLS record header (handshake, alert, CCS or data, version 3.x).
func isTLS(b []byte) bool {
	return len(b) >= 5 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 3 && b[2] <= 4 &&
		(b[0] != 0x17 || len(b) > 5)
}

// isDNS: a DNS-over-TCP query: 2-byte length, then a header with QDCOUNT 1.
func isDNS(b []byte) bool {
	if len(b) < 14 {
		return false
	}
	l := int(b[0])<<8 | int(b[1])
	flags := b[4]
	qd := int(b[6])<<8 | int(b[7])
	an := int(b[8])<<8 | int(b[9])
	return l >= 12 && l <= 4096 && flags&0x80 == 0 && qd == 1 && an == 0
}

// PortHint is the service a server port usually carries, or "".
func PortHint(port uint16) string {
	switch port {
	case 80, 8080, 8000, 8008, 8888, 3128:
		return HTTP
	case 443, 8443, 993, 995, 465, 636, 853, 990:
		return TLS
	case 21, 2121:
		return FTP
	case 22:
		return SSH
	case 25, 587:
		return SMTP
	case 110:
		return POP3
	case 143:
		return IMAP
	case 53:
		return DNS
	case 23:
		return Telnet
	}
	return ""
}
