package filter

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/streamx/streamx/decode"
)

// maxDepth bounds the nesting of parentheses and negations, so that neither
// the parser nor Match can be driven into unbounded recursion.
const maxDepth = 100

// Parse compiles a tcpdump-style expression. An empty or all-space
// expression matches everything. Errors are *SyntaxError.
func Parse(expr string) (f *Filter, err error) {
	p := &parser{src: expr, toks: lex(expr)}
	if p.peek().kind == tEOF {
		return &Filter{}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			f, err = nil, se
		}
	}()
	root, _ := p.parseExpr(qual{ok: true})
	if t := p.peek(); t.kind != tEOF {
		switch t.kind {
		case tRParen:
			p.failf(t.pos, `unmatched ")"`)
		case tBad:
			p.badChar(t)
		default:
			p.failf(t.pos, `unexpected token %q (expected "and", "or" or end of expression)`, t.text)
		}
	}
	return &Filter{root: root}, nil
}

// ---- lexer ----

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tLParen
	tRParen
	tNot // not, !
	tAnd // and, &&
	tOr  // or, ||
	tBad // a character that cannot start a token
)

type token struct {
	kind tokKind
	pos  int
	text string // as written
	kw   string // tWord: lower-cased text
}

func isWordByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', ':', '-', '/', '_', '\\', '%':
		return true
	}
	return false
}

func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, pos: i, text: "("})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, pos: i, text: ")"})
			i++
		case c == '!':
			toks = append(toks, token{kind: tNot, pos: i, text: "!"})
			i++
		case c == '&' && i+1 < len(s) && s[i+1] == '&':
			toks = append(toks, token{kind: tAnd, pos: i, text: "&&"})
			i += 2
		case c == '|' && i+1 < len(s) && s[i+1] == '|':
			toks = append(toks, token{kind: tOr, pos: i, text: "||"})
			i += 2
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			t := token{kind: tWord, pos: i, text: s[i:j], kw: strings.ToLower(s[i:j])}
			switch t.kw {
			case "and":
				t.kind = tAnd
			case "or":
				t.kind = tOr
			case "not":
				t.kind = tNot
			}
			toks = append(toks, t)
			i = j
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{kind: tBad, pos: i, text: s[i : i+size]})
			i += size
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s)})
}

// keywords may not be used as values (addresses, ports, ...).
var keywords = map[string]bool{
	"src": true, "dst": true, "host": true, "net": true, "port": true,
	"portrange": true, "proto": true, "mask": true,
	"ip": true, "ip6": true, "tcp": true, "udp": true, "icmp": true, "icmp6": true,
	"vlan": true, "less": true, "greater": true,
}

// unsupported are pcap-filter keywords streamx does not implement; they get
// a clearer error than an unknown word.
var unsupported = map[string]string{
	"len":        ` (use "less N" or "greater N")`,
	"ether":      "",
	"arp":        "",
	"rarp":       "",
	"sctp":       "",
	"igmp":       "",
	"igrp":       "",
	"pim":        "",
	"vrrp":       "",
	"carp":       "",
	"ah":         "",
	"esp":        "",
	"gateway":    "",
	"broadcast":  "",
	"multicast":  "",
	"inbound":    "",
	"outbound":   "",
	"ifname":     "",
	"mpls":       "",
	"pppoed":     "",
	"pppoes":     "",
	"geneve":     "",
	"llc":        "",
	"link":       "",
	"fddi":       "",
	"wlan":       "",
	"decnet":     "",
	"atalk":      "",
	"iso":        "",
	"isis":       "",
	"stp":        "",
	"ipx":        "",
	"netbeui":    "",
	"protochain": "",
	"ra":         "",
	"ta":         "",
}

// portNames is the built-in service table (no /etc/services).
var portNames = map[string]uint16{
	"ftp-data": 20,
	"ftp":      21,
	"ssh":      22,
	"telnet":   23,
	"smtp":     25,
	"domain":   53,
	"http":     80,
	"pop3":     110,
	"imap":     143,
	"https":    443,
}

// protoNames are the names accepted after "proto".
var protoNames = map[string]int64{
	"icmp":  1,
	"tcp":   6,
	"udp":   17,
	"icmp6": 58,
}

// ---- parser ----

type addrType uint8

const (
	typDefault addrType = iota
	typHost
	typNet
	typPort
	typPortRange
	typProto
)

// qual is the set of qualifiers in force for an identifier: those written
// in front of it, or, for a bare identifier, those of the preceding
// primitive (tcpdump's abbreviation rule). ok == false means there is
// nothing to repeat (the preceding primitive was e.g. "tcp" or "vlan 10").
type qual struct {
	ok       bool
	proto    string // "", ip, ip6, tcp, udp, icmp, icmp6
	protoPos int
	dirSet   bool
	dir      dir
	typ      addrType
}

func (q qual) pureDefault() bool { return q.ok && q.proto == "" && !q.dirSet && q.typ == typDefault }

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) failf(pos int, format string, args ...any) {
	panic(&SyntaxError{Expr: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// prev is the text of the last consumed token, for messages.
func (p *parser) prev() string {
	if p.i == 0 {
		return ""
	}
	return p.toks[p.i-1].text
}

func (p *parser) enter(t token) {
	p.depth++
	if p.depth > maxDepth {
		p.failf(t.pos, "expression nested too deeply (more than %d levels)", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) badChar(t token) {
	if t.text == "[" {
		p.failf(t.pos, `byte-offset expressions such as "tcp[13]" are not supported`)
	}
	p.failf(t.pos, "unexpected character %q", t.text)
}

// unexpected reports t where an expression (a primitive, "not" or "(") was
// expected.
func (p *parser) unexpected(t token) {
	switch t.kind {
	case tEOF:
		if p.i == 0 {
			p.failf(t.pos, "missing expression")
		}
		p.failf(t.pos, "missing expression after %q", p.prev())
	case tRParen:
		if p.i > 0 && p.toks[p.i-1].kind == tLParen {
			p.failf(t.pos, "empty parentheses")
		}
		p.failf(t.pos, `unexpected ")", expected an expression`)
	case tBad:
		p.badChar(t)
	}
	p.failf(t.pos, "unexpected %q, expected an expression", t.text)
}

func (p *parser) closeParen(open token) {
	switch t := p.peek(); t.kind {
	case tRParen:
		p.next()
	case tEOF:
		p.failf(open.pos, `unclosed "("`)
	case tBad:
		p.badChar(t)
	default:
		p.failf(t.pos, `unexpected token %q (expected "and", "or" or ")")`, t.text)
	}
}

func combine(k tokKind, l, r *node) *node {
	o := opAnd
	if k == tOr {
		o = opOr
	}
	n := l
	if l.op != o {
		n = &node{op: o, kids: []*node{l}}
	}
	// n is freshly built or was built here for the left operand, so
	// appending in place is safe.
	if r.op == o {
		n.kids = append(n.kids, r.kids...)
	} else {
		n.kids = append(n.kids, r)
	}
	return n
}

// parseExpr parses term { (and|or) term }. and and or have equal precedence
// and associate to the left, as in pcap-filter(7). ctx is the qualifier
// context for a bare identifier at the start; the result's qual is the one a
// following bare identifier would repeat.
func (p *parser) parseExpr(ctx qual) (*node, qual) {
	n, q := p.parseTerm(ctx)
	for {
		t := p.peek()
		if t.kind != tAnd && t.kind != tOr {
			return n, q
		}
		p.next()
		var r *node
		r, q = p.parseTerm(q)
		n = combine(t.kind, n, r)
	}
}

func (p *parser) parseTerm(ctx qual) (*node, qual) {
	switch t := p.peek(); t.kind {
	case tNot:
		p.next()
		p.enter(t)
		k, q := p.parseTerm(ctx)
		p.leave()
		return &node{op: opNot, kids: []*node{k}}, q
	case tLParen:
		p.next()
		p.enter(t)
		n, _ := p.parseExpr(ctx)
		p.closeParen(t)
		p.leave()
		return n, ctx // tcpdump: a parenthesised group passes the outer context on
	case tWord:
		return p.parsePrimitive(ctx)
	default:
		p.unexpected(t)
		panic("unreachable")
	}
}

func isHeadWord(kw string) bool {
	switch kw {
	case "src", "dst", "host", "net", "port", "portrange", "proto":
		return true
	}
	return false
}

func (p *parser) parsePrimitive(ctx qual) (*node, qual) {
	t := p.peek()
	switch t.kw {
	case "ip", "ip6", "tcp", "udp", "icmp", "icmp6":
		p.next()
		if n := p.peek(); n.kind == tWord && isHeadWord(n.kw) {
			return p.parseHead(t)
		}
		switch t.kw {
		case "ip":
			return &node{op: opIPVer, ver: 4}, qual{}
		case "ip6":
			return &node{op: opIPVer, ver: 6}, qual{}
		case "tcp":
			return &node{op: opTCP}, qual{}
		case "udp":
			return &node{op: opUDP}, qual{}
		case "icmp":
			return &node{op: opICMP, ver: 4}, qual{}
		default:
			return &node{op: opICMP, ver: 6}, qual{}
		}
	case "src", "dst", "host", "net", "port", "portrange", "proto":
		return p.parseHead(token{})
	case "vlan":
		p.next()
		v := p.peek()
		if v.kind != tWord || keywords[v.kw] {
			return &node{op: opVLAN}, qual{}
		}
		p.next()
		id, msg := parseNum(v.text, 4095, "VLAN ID")
		if msg != "" {
			p.failf(v.pos, "%s", msg)
		}
		return &node{op: opVLANID, lo: uint16(id)}, qual{}
	case "less", "greater":
		p.next()
		v := p.peek()
		if v.kind != tWord || keywords[v.kw] {
			p.missing(v, "length", t.text)
		}
		p.next()
		n, msg := parseNum(v.text, 1<<32-1, "length")
		if msg != "" {
			p.failf(v.pos, "%s", msg)
		}
		if t.kw == "less" {
			return &node{op: opLess, num: int64(n)}, qual{}
		}
		return &node{op: opGreater, num: int64(n)}, qual{}
	case "mask":
		p.failf(t.pos, `unexpected "mask" (write "net ADDR mask MASK")`)
	}
	if hint, ok := unsupported[t.kw]; ok {
		p.failf(t.pos, "unsupported primitive %q%s", t.text, hint)
	}
	p.next()
	return p.value(ctx, t), ctx
}

// missing reports that a value of the given kind was expected after the
// keyword after, but t came instead.
func (p *parser) missing(t token, what, after string) {
	switch t.kind {
	case tEOF:
		p.failf(t.pos, "missing %s after %q", what, after)
	case tBad:
		p.badChar(t)
	case tWord:
		p.failf(t.pos, "expected %s after %q, found keyword %q", what, after, t.text)
	}
	p.failf(t.pos, "expected %s after %q, found %q", what, after, t.text)
}

// parseHead parses [src|dst|src or dst|src and dst] [host|net|port|portrange|proto]
// and the identifier that follows; pt is the protocol qualifier already
// consumed (kind tEOF when none).
func (p *parser) parseHead(pt token) (*node, qual) {
	q := qual{ok: true}
	if pt.kind == tWord {
		q.proto, q.protoPos = pt.kw, pt.pos
	}
	if t := p.peek(); t.kind == tWord && (t.kw == "src" || t.kw == "dst") {
		p.next()
		q.dirSet = true
		q.dir = dirSrc
		other := "dst"
		if t.kw == "dst" {
			q.dir, other = dirDst, "src"
		}
		if c, d := p.peek(), p.peekAt(1); (c.kind == tAnd || c.kind == tOr) && d.kind == tWord && d.kw == other {
			p.next()
			p.next()
			q.dir = dirEither
			if c.kind == tAnd {
				q.dir = dirBoth
			}
		}
	}
	if t := p.peek(); t.kind == tWord {
		switch t.kw {
		case "host":
			q.typ = typHost
		case "net":
			q.typ = typNet
		case "port":
			q.typ = typPort
		case "portrange":
			q.typ = typPortRange
		case "proto":
			if q.dirSet {
				p.failf(t.pos, `a direction (src/dst) cannot qualify "proto"`)
			}
			q.typ = typProto
		}
		if q.typ != typDefault {
			p.next()
		}
	}
	return p.parseHeadID(q), q
}

func (q qual) what() string {
	switch q.typ {
	case typNet:
		return "network"
	case typPort:
		return "port"
	case typPortRange:
		return "port range"
	case typProto:
		return "protocol"
	}
	return "address"
}

// parseHeadID parses the identifier after a qualifier head: a value, "not"
// id, or a parenthesised list of ids joined by and/or, all sharing q
// (pcap-filter's "host (a or b)").
func (p *parser) parseHeadID(q qual) *node {
	t := p.peek()
	switch t.kind {
	case tWord:
		if keywords[t.kw] && !(q.typ == typProto && protoNames[t.kw] != 0) {
			p.missing(t, q.what(), p.prev())
		}
		p.next()
		return p.value(q, t)
	case tNot:
		p.next()
		p.enter(t)
		k := p.parseHeadID(q)
		p.leave()
		return &node{op: opNot, kids: []*node{k}}
	case tLParen:
		p.next()
		p.enter(t)
		n := p.parseHeadID(q)
		for {
			c := p.peek()
			if c.kind != tAnd && c.kind != tOr {
				break
			}
			p.next()
			n = combine(c.kind, n, p.parseHeadID(q))
		}
		p.closeParen(t)
		p.leave()
		return n
	}
	p.missing(t, q.what(), p.prev())
	panic("unreachable")
}

// addrLike reports whether s looks like an attempt at an address or network
// (so a bare one gets a specific error rather than "unexpected token").
func addrLike(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '.', c == ':', c == '/', c == '%':
		default:
			return false
		}
	}
	return digit
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// value compiles identifier t under qualifiers q.
func (p *parser) value(q qual, t token) *node {
	if !q.ok {
		if !addrLike(t.text) {
			p.failf(t.pos, "unexpected token %q", t.text)
		}
		p.failf(t.pos, "%q needs a qualifier such as host, net or port (the preceding primitive has none to repeat)", t.text)
	}
	typ := q.typ
	if typ == typDefault {
		if q.pureDefault() {
			if isDigits(t.text) {
				p.failf(t.pos, "%q needs a qualifier such as host, net or port", t.text)
			}
			if !addrLike(t.text) {
				p.failf(t.pos, "unexpected token %q", t.text)
			}
		}
		typ = typHost
		if m := p.peek(); strings.Contains(t.text, "/") || (m.kind == tWord && m.kw == "mask") {
			typ = typNet
		}
	}

	switch typ {
	case typHost, typNet:
		if q.proto != "" && q.proto != "ip" && q.proto != "ip6" {
			p.failf(q.protoPos, "%q cannot qualify %s", q.proto, map[addrType]string{typHost: "host", typNet: "net"}[typ])
		}
		var n *node
		var is4 bool
		if typ == typHost {
			addr := p.hostAddr(t)
			n = &node{op: opHost, dir: q.dir, addr: addr}
			is4 = addr.Is4()
		} else {
			pfx := p.netPrefix(t)
			n = &node{op: opNet, dir: q.dir, pfx: pfx}
			is4 = pfx.Addr().Is4()
		}
		if (q.proto == "ip" && !is4) || (q.proto == "ip6" && is4) {
			p.failf(t.pos, "%q is not an %s address (qualified by %q)", t.text, map[bool]string{true: "IPv4", false: "IPv6"}[q.proto == "ip"], q.proto)
		}
		return n

	case typPort, typPortRange:
		var tp decode.Proto
		switch q.proto {
		case "":
		case "tcp":
			tp = decode.ProtoTCP
		case "udp":
			tp = decode.ProtoUDP
		default:
			p.failf(q.protoPos, "%q cannot qualify %s", q.proto, map[addrType]string{typPort: "port", typPortRange: "portrange"}[typ])
		}
		if typ == typPort {
			port, msg := parsePort(t.text)
			if msg != "" {
				p.failf(t.pos, "%s", msg)
			}
			return &node{op: opPort, dir: q.dir, tproto: tp, lo: port, hi: port}
		}
		lo, hi := p.portRange(t)
		return &node{op: opPortRange, dir: q.dir, tproto: tp, lo: lo, hi: hi}

	default: // typProto
		n := &node{op: opIPProto}
		switch q.proto {
		case "":
		case "ip":
			n.ver = 4
		case "ip6":
			n.ver = 6
		default:
			p.failf(q.protoPos, "%q cannot qualify proto", q.proto)
		}
		name := strings.TrimPrefix(t.kw, `\`)
		if num, ok := protoNames[name]; ok {
			n.num = num
			return n
		}
		if !isDigits(t.text) {
			p.failf(t.pos, "unknown protocol %q (use a number 0-255, tcp, udp, icmp or icmp6)", t.text)
		}
		num, msg := parseNum(t.text, 255, "protocol")
		if msg != "" {
			p.failf(t.pos, "%s", msg)
		}
		n.num = int64(num)
		return n
	}
}

func (p *parser) hostAddr(t token) netip.Addr {
	if m := p.peek(); m.kind == tWord && m.kw == "mask" {
		p.failf(m.pos, `"mask" is only valid with "net"`)
	}
	s := t.text
	if strings.Contains(s, "/") {
		p.failf(t.pos, "%q is a network, not a host address (use \"net %s\")", s, s)
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		if !addrLike(s) {
			p.failf(t.pos, "invalid address %q (host names are not resolved)", s)
		}
		p.failf(t.pos, "invalid address %q", s)
	}
	if addr.Zone() != "" {
		p.failf(t.pos, "address %q has a zone, which is not supported", s)
	}
	return addr
}

// partialV4 parses the 1-3 dotted decimal octets of a short IPv4 network
// ("10", "10.1", "192.168.1") into the padded address and its length in bits.
func partialV4(s string) (netip.Addr, int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return netip.Addr{}, 0, false
	}
	var a [4]byte
	for i, part := range parts {
		v, msg := parseNum(part, 255, "octet")
		if msg != "" {
			return netip.Addr{}, 0, false
		}
		a[i] = byte(v)
	}
	return netip.AddrFrom4(a), 8 * len(parts), true
}

func (p *parser) netPrefix(t token) netip.Prefix {
	s := t.text
	addrPart, bitsPart, slash := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrPart)
	bits := 0
	if err == nil {
		if addr.Zone() != "" {
			p.failf(t.pos, "address %q has a zone, which is not supported", s)
		}
		bits = addr.BitLen()
	} else {
		var ok bool
		addr, bits, ok = partialV4(addrPart)
		if !ok {
			if !addrLike(s) {
				p.failf(t.pos, "invalid network %q (host names are not resolved)", s)
			}
			p.failf(t.pos, "invalid network %q", s)
		}
	}

	if m := p.peek(); m.kind == tWord && m.kw == "mask" {
		p.next()
		if slash {
			p.failf(m.pos, `"mask" cannot follow a CIDR network`)
		}
		mt := p.peek()
		if mt.kind != tWord || keywords[mt.kw] {
			p.missing(mt, "netmask", "mask")
		}
		p.next()
		if !addr.Is4() {
			p.failf(t.pos, `"mask" only works with IPv4 networks; use CIDR for %q`, s)
		}
		mask, err := netip.ParseAddr(mt.text)
		if err != nil || !mask.Is4() {
			p.failf(mt.pos, "invalid IPv4 netmask %q", mt.text)
		}
		m4 := mask.As4()
		mv := uint32(m4[0])<<24 | uint32(m4[1])<<16 | uint32(m4[2])<<8 | uint32(m4[3])
		if inv := ^mv; inv&(inv+1) != 0 {
			p.failf(mt.pos, "netmask %q is not contiguous", mt.text)
		}
		ones := 0
		for mv != 0 {
			ones++
			mv <<= 1
		}
		pfx := netip.PrefixFrom(addr, ones)
		if pfx.Masked().Addr() != addr {
			p.failf(t.pos, "non-network bits set in %q for netmask %s", s, mt.text)
		}
		return pfx
	}

	if slash {
		b, msg := parseNum(bitsPart, uint64(addr.BitLen()), "prefix length")
		if msg != "" {
			p.failf(t.pos, "invalid CIDR %q: %s", s, msg)
		}
		bits = int(b)
	}
	pfx := netip.PrefixFrom(addr, bits)
	if pfx.Masked() != pfx {
		p.failf(t.pos, "non-network bits set in %q", s)
	}
	return pfx
}

// parseNum parses a decimal number in [0, max]. Leading zeros are refused:
// tcpdump reads them as octal, and silently disagreeing would be worse.
// msg is empty on success.
func parseNum(s string, max uint64, what string) (uint64, string) {
	if !isDigits(s) {
		return 0, fmt.Sprintf("invalid %s %q", what, s)
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Sprintf("invalid %s %q (leading zero; tcpdump would read it as octal)", what, s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
		if v > max {
			return 0, fmt.Sprintf("%s %s out of range (0-%d)", what, s, max)
		}
	}
	return v, ""
}

func parsePort(s string) (uint16, string) {
	if isDigits(s) {
		v, msg := parseNum(s, 65535, "port")
		return uint16(v), msg
	}
	if v, ok := portNames[strings.ToLower(s)]; ok {
		return v, ""
	}
	return 0, fmt.Sprintf("unknown port %q", s)
}

// portRange parses LO-HI, where either end may be a name (possibly
// containing a dash itself, as in "ftp-data-ftp").
func (p *parser) portRange(t token) (uint16, uint16) {
	s := t.text
	dashes := strings.Count(s, "-")
	if dashes == 0 {
		p.failf(t.pos, "invalid port range %q (want LOW-HIGH)", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			continue
		}
		lo, m1 := parsePort(s[:i])
		hi, m2 := parsePort(s[i+1:])
		if m1 == "" && m2 == "" {
			if lo > hi {
				p.failf(t.pos, "port range %q is backwards (%d > %d)", s, lo, hi)
			}
			return lo, hi
		}
		if dashes == 1 {
			if m1 == "" {
				m1 = m2
			}
			p.failf(t.pos, "invalid port range %q: %s", s, m1)
		}
	}
	p.failf(t.pos, "invalid port range %q (want LOW-HIGH)", s)
	panic("unreachable")
}
