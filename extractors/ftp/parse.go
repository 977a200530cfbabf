package ftp

import (
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Wire parsers of the control channel. Each takes the text of one command
// argument or one reply (code and separator already removed) and never
// fails loudly: malformed input gives ok == false and is recorded by the
// caller as data.

// parseCommand splits a command line into its verb (upper-cased) and
// argument. The argument is kept verbatim after the single space that
// separates it (file names may start or end with spaces). ok is false
// when the verb is not 1 to 8 ASCII letters and digits, starting with a
// letter (XSHA256, XMD5).
//
//	RETR /pub/report.pdf
//	stor  leading-space.txt
func parseCommand(line string) (verb, arg string, ok bool) {
	v, a, _ := strings.Cut(line, " ")
	if len(v) == 0 || len(v) > 8 {
		return "", line, false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && isDigit(c)) {
			return "", line, false
		}
	}
	return strings.ToUpper(v), a, true
}

// parseReplyLine reads the code of a reply line and what follows it.
// sep is ' ' for the last (or only) line of a reply, '-' for the first
// line of a multi-line reply, 0 for a bare code ("226") which is taken as
// a one-line reply.
//
//	150-Accepted data connection
//	226 Transfer complete.
func parseReplyLine(line string) (code int, sep byte, text string, ok bool) {
	if len(line) < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, 0, "", false
	}
	if line[0] < '1' || line[0] > '6' {
		return 0, 0, "", false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, 0, "", true
	}
	switch line[3] {
	case ' ', '-':
		return code, line[3], line[4:], true
	}
	return 0, 0, "", false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseHostPort reads the six comma-separated decimal numbers of PORT and
// of a 227 reply, h1,h2,h3,h4,p1,p2 (RFC 959): address h1.h2.h3.h4, port
// p1*256+p2. Each number is 0-255 and 1-3 digits; the port must not be 0.
//
//	212,27,32,66,221,243
func parseHostPort(s string) (netip.AddrPort, bool) {
	var n [6]int
	i := 0
	for k := 0; k < 6; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != ',' {
				return netip.AddrPort{}, false
			}
			i++
		}
		j := i
		for j < len(s) && isDigit(s[j]) && j-i < 4 {
			j++
		}
		if j == i || j-i > 3 {
			return netip.AddrPort{}, false
		}
		v, _ := strconv.Atoi(s[i:j])
		if v > 255 {
			return netip.AddrPort{}, false
		}
		n[k] = v
		i = j
	}
	port := uint16(n[4]<<8 | n[5])
	if port == 0 {
		return netip.AddrPort{}, false
	}
	a := netip.AddrFrom4([4]byte{byte(n[0]), byte(n[1]), byte(n[2]), byte(n[3])})
	return netip.AddrPortFrom(a, port), true
}

// parsePORT reads the argument of PORT.
//
//	PORT 212,27,32,66,221,243
func parsePORT(arg string) (netip.AddrPort, bool) {
	arg = strings.TrimSpace(arg)
	ap, ok := parseHostPort(arg)
	if !ok || len(arg) > 23 {
		return netip.AddrPort{}, false
	}
	// Nothing may follow the six numbers.
	if strings.Count(arg, ",") != 5 {
		return netip.AddrPort{}, false
	}
	return ap, true
}

// parsePASV reads a 227 reply. RFC 959 does not fix where the numbers
// stand; servers write them in parentheses, after '=', or bare, so the
// first run of six comma-separated numbers anywhere in the text is taken.
//
//	227 Entering Passive Mode (212,27,32,66,221,243).
//	227 Entering Passive Mode 212,27,32,66,221,243
//	227 =212,27,32,66,221,243
func parsePASV(text string) (netip.AddrPort, bool) {
	for i := 0; i < len(text); i++ {
		if !isDigit(text[i]) || (i > 0 && (isDigit(text[i-1]) || text[i-1] == '-' || text[i-1] == ',')) {
			continue
		}
		if ap, ok := parseHostPort(text[i:]); ok {
			return ap, true
		}
	}
	return netip.AddrPort{}, false
}

// parseEPSV reads a 229 reply (RFC 2428): the port between a delimiter
// repeated three times and once more, in parentheses. The address is that
// of the control connection's server; a non-empty protocol and address
// (which RFC 2428 forbids but some servers send) are returned too.
//
//	229 Entering Extended Passive Mode (|||6446|)
//	229 Entering Extended Passive Mode (!!!6446!)
//	229 Extended Passive Mode OK (|2|2001:db8::1|6446|)
func parseEPSV(text string) (port uint16, addr netip.Addr, ok bool) {
	inside := ""
	if i := strings.IndexByte(text, '('); i >= 0 {
		rest := text[i+1:]
		j := strings.IndexByte(rest, ')')
		if j < 0 {
			return 0, netip.Addr{}, false
		}
		inside = rest[:j]
	} else {
		f := strings.Fields(text)
		if len(f) == 0 {
			return 0, netip.Addr{}, false
		}
		inside = strings.TrimRight(f[len(f)-1], ".")
	}
	_, a, p, ok := splitExtended(inside)
	if !ok {
		return 0, netip.Addr{}, false
	}
	return p, a, true
}

// parseEPRT reads the argument of EPRT (RFC 2428): delimiter, protocol
// (1 IPv4, 2 IPv6), address, port, delimiter.
//
//	EPRT |1|132.235.1.2|6275|
//	EPRT |2|1080::8:800:200C:417A|5282|
func parseEPRT(arg string) (netip.AddrPort, bool) {
	proto, a, p, ok := splitExtended(strings.TrimSpace(arg))
	if !ok || !a.IsValid() {
		return netip.AddrPort{}, false
	}
	switch proto {
	case "1":
		if !a.Is4() {
			return netip.AddrPort{}, false
		}
	case "2":
		if !a.Is6() {
			return netip.AddrPort{}, false
		}
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, p), true
}

// splitExtended splits "<d><proto><d><addr><d><port><d>" where d is any
// printable ASCII character other than a digit (RFC 2428 allows 33-126;
// digits would be ambiguous). proto and addr may be empty (EPSV replies).
func splitExtended(s string) (proto string, addr netip.Addr, port uint16, ok bool) {
	if len(s) < 5 {
		return "", netip.Addr{}, 0, false
	}
	d := s[0]
	if d < 33 || d > 126 || isDigit(d) {
		return "", netip.Addr{}, 0, false
	}
	f := strings.Split(s, string(d))
	if len(f) != 5 || f[0] != "" || f[4] != "" {
		return "", netip.Addr{}, 0, false
	}
	if f[2] != "" {
		a, err := netip.ParseAddr(f[2])
		if err != nil || a.Zone() != "" {
			return "", netip.Addr{}, 0, false
		}
		addr = a
	}
	if len(f[3]) == 0 || len(f[3]) > 5 {
		return "", netip.Addr{}, 0, false
	}
	for i := 0; i < len(f[3]); i++ {
		if !isDigit(f[3][i]) {
			return "", netip.Addr{}, 0, false
		}
	}
	n, _ := strconv.Atoi(f[3])
	if n < 1 || n > 65535 {
		return "", netip.Addr{}, 0, false
	}
	return f[1], addr, uint16(n), true
}

// parseSizeInReply reads the size a server announces in a 150 (or 125)
// reply: the last "(N bytes)" in the text, case-insensitively.
//
//	150 Opening BINARY mode data connection for report.pdf (409112 bytes).
//	150 Opening BINARY mode data connection for report.pdf(409112 bytes)
func parseSizeInReply(text string) (int64, bool) {
	low := strings.ToLower(text)
	for end := len(low); end > 0; {
		i := strings.LastIndex(low[:end], " bytes)")
		if i < 0 {
			return 0, false
		}
		j := i
		for j > 0 && isDigit(low[j-1]) {
			j--
		}
		if j < i && j > 0 && low[j-1] == '(' && i-j <= 18 {
			if n, err := strconv.ParseInt(low[j:i], 10, 64); err == nil {
				return n, true
			}
		}
		end = i
	}
	return 0, false
}

// parseSTOUName reads the name a server gave an STOU upload (RFC 1123
// 4.1.2.9: "FILE: pppp" in the 150/125 reply; some servers put it in the
// 226/250 reply as "unique file name:pppp" or "Transfer complete (unique
// file name:pppp)").
//
//	150 FILE: ftpd.c5_yy34p
//	226 Transfer complete (unique file name:file.1).
func parseSTOUName(text string) (string, bool) {
	if rest, ok := strings.CutPrefix(text, "FILE: "); ok {
		name := strings.TrimSpace(rest)
		return name, name != ""
	}
	low := strings.ToLower(text)
	if i := strings.Index(low, "unique file name:"); i >= 0 {
		name := strings.TrimSpace(text[i+len("unique file name:"):])
		name = strings.TrimSuffix(name, ".")
		name = strings.TrimSuffix(name, ")")
		return name, name != ""
	}
	return "", false
}

// parseQuotedPath reads the path of a 257 reply (RFC 959 appendix II: the
// directory in double quotes, a quote inside written twice), or of a 250
// reply to CWD that quotes it. Without quotes, a first word that starts
// with '/' is taken.
//
//	257 "/home/alice" is the current directory.
//	257 "/odd""name" created.
//	250 "/pub" is the current directory.
//	257 /home/alice
func parseQuotedPath(text string) (string, bool) {
	text = strings.TrimLeft(text, " ")
	if !strings.HasPrefix(text, `"`) {
		w, _, _ := strings.Cut(text, " ")
		if strings.HasPrefix(w, "/") {
			return w, true
		}
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(text); i++ {
		c := text[i]
		if c != '"' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(text) && text[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), b.Len() > 0
	}
	return "", false // unterminated
}

// parseSize reads a 213 reply to SIZE (RFC 3659).
//
//	213 409112
func parseSize(text string) (int64, bool) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// parseREST reads the argument of REST in stream mode: a byte offset.
//
//	REST 409600
func parseREST(arg string) (int64, bool) {
	arg = strings.TrimSpace(arg)
	if arg == "" || len(arg) > 18 {
		return 0, false
	}
	for i := 0; i < len(arg); i++ {
		if !isDigit(arg[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	return n, err == nil
}

// parseTYPE reads the argument of TYPE: A (ASCII, with an optional format
// N/T/C), E (EBCDIC), I (image) or L 8 (local byte size 8, same as I).
//
//	TYPE A
//	TYPE A N
//	TYPE I
//	TYPE L 8
func parseTYPE(arg string) (ascii bool, ok bool) {
	f := strings.Fields(strings.ToUpper(arg))
	if len(f) == 0 {
		return false, false
	}
	switch f[0] {
	case "A", "E":
		return true, true
	case "I":
		return false, true
	case "L":
		return false, len(f) == 2 && f[1] == "8"
	}
	return false, false
}

// listArg separates the options some clients pass to LIST and NLST
// ("LIST -la", "LIST -a /pub") from the path.
//
//	LIST -la /pub
func listArg(arg string) string {
	arg = strings.TrimSpace(arg)
	for strings.HasPrefix(arg, "-") {
		opt, rest, _ := strings.Cut(arg, " ")
		if strings.ContainsAny(opt, "/.") {
			break // a file name that starts with '-'
		}
		arg = strings.TrimLeft(rest, " ")
	}
	return arg
}

// resolve turns a path from the wire into a full server path, against the
// working directory cwd ("" when not known). An absolute path is cleaned;
// a relative one is joined to cwd and cleaned. When cwd is not known, a
// relative path stays relative (cleaned, so "../x" stays "../x"): the
// log says so rather than invent a directory.
func resolve(cwd, p string) string {
	switch {
	case p == "":
		return cwd
	case strings.HasPrefix(p, "/"):
		return path.Clean(p)
	case cwd == "":
		return path.Clean(p)
	}
	return path.Clean(cwd + "/" + p)
}

// baseName is the last element of a path from the wire, as the client
// named it ("RETR ../../etc/passwd" gives "passwd"; the sink sanitises
// the rest). A trailing slash is ignored.
func baseName(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// stripTelnet removes Telnet commands from a control line (RFC 959: the
// control connection follows the Telnet protocol; clients send ABOR as
// IAC IP IAC DM "ABOR"). IAC IAC is a literal 0xFF; WILL/WONT/DO/DONT
// take an option byte. It returns b unchanged when there is no IAC.
func stripTelnet(b []byte, scratch []byte) []byte {
	i := 0
	for i < len(b) && b[i] != 0xff {
		i++
	}
	if i == len(b) {
		return b
	}
	out := append(scratch[:0], b[:i]...)
	for i < len(b) {
		c := b[i]
		if c != 0xff {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			break
		}
		switch op := b[i+1]; {
		case op == 0xff:
			out = append(out, 0xff)
			i += 2
		case op >= 0xfb && op <= 0xfe:
			i += 3
		default:
			i += 2
		}
	}
	return out
}
