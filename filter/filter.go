package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamx/streamx/decode"
)

// Filter is a compiled filter expression. It is immutable after Parse and
// safe for concurrent use. A nil *Filter, like the empty expression, matches
// everything.
type Filter struct {
	root *node // nil: match everything
}

// SyntaxError reports a malformed filter expression.
type SyntaxError struct {
	Expr string // the expression as given to Parse
	Pos  int    // byte offset of the offending token in Expr (len(Expr) for a premature end)
	Msg  string
}

// Error renders the message with the expression and a caret under the
// offending token:
//
//	filter: unexpected token "hots" at column 1
//	  hots 10.0.0.1
//	  ^
func (e *SyntaxError) Error() string {
	pos := min(max(e.Pos, 0), len(e.Expr))
	line := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' ' // tabs, newlines: keep one column per character
		}
		return r
	}, e.Expr)
	pad := utf8.RuneCountInString(e.Expr[:pos])
	return fmt.Sprintf("filter: %s at column %d\n  %s\n  %s^", e.Msg, pos+1, line, strings.Repeat(" ", pad))
}

// Match reports whether the packet satisfies the expression. It does not
// allocate.
func (f *Filter) Match(p *decode.Packet) bool {
	if f == nil || f.root == nil {
		return true
	}
	nv := min(int(p.NVLAN), len(p.VLANs))
	v := view{
		src:     p.Src,
		dst:     p.Dst,
		sport:   p.SrcPort,
		dport:   p.DstPort,
		proto:   p.Proto,
		ipproto: p.IPProto,
		ipver:   p.IPVer,
		vlans:   p.VLANs[:nv],
		length:  int64(p.Len),
	}
	return f.root.eval(&v) == yes
}

// MatchEndpoints evaluates the expression against a connection rather than a
// packet: proto is its transport, vlans its 802.1Q tags (outer first), and
// a, b its two endpoints; the direction qualifiers take a as the source and
// b as the destination. The IP version comes from a's address family and the
// IP protocol number from proto.
//
// Primitives that only a packet can answer (less, greater; proto N when proto
// is decode.ProtoOther) are "unknown" here and propagate through
// not/and/or in three-valued logic; a connection whose result is unknown is
// kept. In other words MatchEndpoints is false only when no packet of the
// connection could match.
func (f *Filter) MatchEndpoints(proto decode.Proto, vlans []uint16, a, b netip.AddrPort) bool {
	if f == nil || f.root == nil {
		return true
	}
	v := view{
		src:   a.Addr(),
		dst:   b.Addr(),
		sport: a.Port(),
		dport: b.Port(),
		proto: proto,
		vlans: vlans,
		conn:  true,
	}
	switch {
	case v.src.Is4():
		v.ipver = 4
	case v.src.Is6():
		v.ipver = 6
	}
	switch proto {
	case decode.ProtoTCP:
		v.ipproto = 6
	case decode.ProtoUDP:
		v.ipproto = 17
	case decode.ProtoICMP:
		v.ipproto = 1
		if v.ipver == 6 {
			v.ipproto = 58
		}
	}
	return f.root.eval(&v) != no
}

// String returns the canonical form of the expression: every primitive
// fully qualified (no abbreviations), port and protocol names as numbers,
// networks in CIDR form, and parentheses around every and/or group nested in
// another. Parsing it yields an equivalent filter. The empty filter is "".
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

// ---- compiled form ----

type op uint8

const (
	opAnd       op = iota + 1 // kids, flattened: no kid is itself an opAnd
	opOr                      // kids, flattened
	opNot                     // kids[0]
	opHost                    // dir, addr
	opNet                     // dir, pfx
	opPort                    // tproto, dir, lo (== hi)
	opPortRange               // tproto, dir, lo, hi
	opIPProto                 // ver (0: either), num
	opIPVer                   // ver
	opTCP                     //
	opUDP                     //
	opICMP                    // ver: 4 icmp, 6 icmp6
	opVLAN                    // has any tag
	opVLANID                  // some tag == lo
	opLess                    // length <= num
	opGreater                 // length >= num
)

type dir uint8

const (
	dirEither dir = iota // src or dst (the default)
	dirSrc
	dirDst
	dirBoth // src and dst
)

type node struct {
	op     op
	dir    dir
	ver    uint8
	tproto decode.Proto // opPort/opPortRange: ProtoOther = TCP or UDP
	lo, hi uint16
	num    int64
	addr   netip.Addr
	pfx    netip.Prefix
	kids   []*node
}

// view is what a filter looks at: the fields of a decoded packet, or of a
// connection (conn) where some of them are unknown.
type view struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        decode.Proto
	ipproto      uint8
	ipver        uint8
	vlans        []uint16
	length       int64
	conn         bool // endpoints only: length (and ipproto for ProtoOther) unknown
}

// tri is a three-valued truth value; unknown only occurs for connections.
type tri uint8

const (
	no tri = iota
	yes
	unknown
)

func truth(b bool) tri {
	if b {
		return yes
	}
	return no
}

func (d dir) match(s, t bool) bool {
	switch d {
	case dirSrc:
		return s
	case dirDst:
		return t
	case dirBoth:
		return s && t
	}
	return s || t
}

func (n *node) transportOK(v *view) bool {
	if n.tproto == decode.ProtoOther {
		return v.proto == decode.ProtoTCP || v.proto == decode.ProtoUDP
	}
	return v.proto == n.tproto
}

func (n *node) eval(v *view) tri {
	switch n.op {
	case opAnd:
		r := yes
		for _, k := range n.kids {
			switch k.eval(v) {
			case no:
				return no
			case unknown:
				r = unknown
			}
		}
		return r
	case opOr:
		r := no
		for _, k := range n.kids {
			switch k.eval(v) {
			case yes:
				return yes
			case unknown:
				r = unknown
			}
		}
		return r
	case opNot:
		switch n.kids[0].eval(v) {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	case opHost:
		return truth(n.dir.match(v.src == n.addr, v.dst == n.addr))
	case opNet:
		return truth(n.dir.match(n.pfx.Contains(v.src), n.pfx.Contains(v.dst)))
	case opPort, opPortRange:
		if !n.transportOK(v) {
			return no
		}
		return truth(n.dir.match(n.lo <= v.sport && v.sport <= n.hi, n.lo <= v.dport && v.dport <= n.hi))
	case opIPProto:
		if v.ipver == 0 || (n.ver != 0 && v.ipver != n.ver) {
			return no
		}
		if v.conn && v.proto == decode.ProtoOther {
			return unknown
		}
		return truth(int64(v.ipproto) == n.num)
	case opIPVer:
		return truth(v.ipver == n.ver)
	case opTCP:
		return truth(v.proto == decode.ProtoTCP || (v.ipver != 0 && v.ipproto == 6))
	case opUDP:
		return truth(v.proto == decode.ProtoUDP || (v.ipver != 0 && v.ipproto == 17))
	case opICMP:
		if v.ipver != n.ver {
			return no
		}
		want := uint8(1)
		if n.ver == 6 {
			want = 58
		}
		return truth(v.proto == decode.ProtoICMP || v.ipproto == want)
	case opVLAN:
		return truth(len(v.vlans) > 0)
	case opVLANID:
		for _, id := range v.vlans {
			if id == n.lo {
				return yes
			}
		}
		return no
	case opLess:
		if v.conn {
			return unknown
		}
		return truth(v.length <= n.num)
	case opGreater:
		if v.conn {
			return unknown
		}
		return truth(v.length >= n.num)
	}
	return no
}

// ---- canonical printing ----

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opAnd, opOr:
		sep := " and "
		if n.op == opOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.writeOperand(b)
		}
		return
	case opNot:
		b.WriteString("not ")
		n.kids[0].writeOperand(b)
		return
	}

	switch n.op {
	case opPort, opPortRange:
		switch n.tproto {
		case decode.ProtoTCP:
			b.WriteString("tcp ")
		case decode.ProtoUDP:
			b.WriteString("udp ")
		}
	case opIPProto:
		switch n.ver {
		case 4:
			b.WriteString("ip ")
		case 6:
			b.WriteString("ip6 ")
		}
	}
	switch n.op {
	case opHost, opNet, opPort, opPortRange:
		switch n.dir {
		case dirSrc:
			b.WriteString("src ")
		case dirDst:
			b.WriteString("dst ")
		case dirBoth:
			b.WriteString("src and dst ")
		}
	}
	switch n.op {
	case opHost:
		b.WriteString("host ")
		b.WriteString(n.addr.String())
	case opNet:
		b.WriteString("net ")
		b.WriteString(n.pfx.String())
	case opPort:
		b.WriteString("port ")
		b.WriteString(strconv.Itoa(int(n.lo)))
	case opPortRange:
		b.WriteString("portrange ")
		b.WriteString(strconv.Itoa(int(n.lo)))
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(int(n.hi)))
	case opIPProto:
		b.WriteString("proto ")
		b.WriteString(strconv.FormatInt(n.num, 10))
	case opIPVer:
		if n.ver == 6 {
			b.WriteString("ip6")
		} else {
			b.WriteString("ip")
		}
	case opTCP:
		b.WriteString("tcp")
	case opUDP:
		b.WriteString("udp")
	case opICMP:
		if n.ver == 6 {
			b.WriteString("icmp6")
		} else {
			b.WriteString("icmp")
		}
	case opVLAN:
		b.WriteString("vlan")
	case opVLANID:
		b.WriteString("vlan ")
		b.WriteString(strconv.Itoa(int(n.lo)))
	case opLess:
		b.WriteString("less ")
		b.WriteString(strconv.FormatInt(n.num, 10))
	case opGreater:
		b.WriteString("greater ")
		b.WriteString(strconv.FormatInt(n.num, 10))
	}
}

// writeOperand writes n as an operand of and/or/not, parenthesised when it
// is itself an and/or group.
func (n *node) writeOperand(b *strings.Builder) {
	if n.op == opAnd || n.op == opOr {
		b.WriteByte('(')
		n.write(b)
		b.WriteByte(')')
		return
	}
	n.write(b)
}
