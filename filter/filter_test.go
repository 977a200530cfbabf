package filter

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/streamx/streamx/decode"
)

// ---- sample packets ----

type sample struct {
	name string
	p    *decode.Packet
}

func mkpkt(src, dst string, sport, dport uint16, proto decode.Proto, length int, vlans ...uint16) *decode.Packet {
	p := &decode.Packet{Len: length, CapLen: length, Proto: proto, SrcPort: sport, DstPort: dport}
	if src != "" {
		p.Src = netip.MustParseAddr(src)
		p.Dst = netip.MustParseAddr(dst)
		p.IPVer = 6
		if p.Src.Is4() {
			p.IPVer = 4
		}
	}
	switch proto {
	case decode.ProtoTCP:
		p.IPProto = 6
	case decode.ProtoUDP:
		p.IPProto = 17
	case decode.ProtoICMP:
		p.IPProto = 1
		if p.IPVer == 6 {
			p.IPProto = 58
		}
	}
	p.NVLAN = uint8(copy(p.VLANs[:], vlans))
	return p
}

var samples = func() []sample {
	gre := mkpkt("10.0.0.5", "10.0.0.6", 0, 0, decode.ProtoOther, 500)
	gre.IPProto = 47
	return []sample{
		{"t4", mkpkt("10.0.0.1", "192.168.1.10", 40000, 80, decode.ProtoTCP, 60)},
		{"u4", mkpkt("10.0.0.2", "8.8.8.8", 5353, 53, decode.ProtoUDP, 80)},
		{"i4", mkpkt("10.0.0.1", "10.0.0.2", 0, 0, decode.ProtoICMP, 98)},
		{"t6", mkpkt("2001:db8::1", "2001:db8::2", 50000, 443, decode.ProtoTCP, 1500)},
		{"u6lo", mkpkt("::1", "::1", 53, 33000, decode.ProtoUDP, 120)},
		{"i6", mkpkt("fe80::1", "ff02::1", 0, 0, decode.ProtoICMP, 70)},
		{"v100", mkpkt("10.1.2.3", "10.1.2.4", 22, 51000, decode.ProtoTCP, 100, 100)},
		{"qinq", mkpkt("172.16.0.1", "172.16.0.2", 1000, 2000, decode.ProtoUDP, 200, 200, 300)},
		{"arp", mkpkt("", "", 0, 0, decode.ProtoOther, 42)},
		{"gre", gre},
	}
}()

func allNames() []string {
	var ns []string
	for _, s := range samples {
		ns = append(ns, s.name)
	}
	return ns
}

// except returns every sample name not in the space-separated list.
func except(list string) string {
	skip := strings.Fields(list)
	var out []string
	for _, n := range allNames() {
		if !slices.Contains(skip, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}

var all = strings.Join(allNames(), " ")

// ---- matching ----

var matchTests = []struct {
	expr string
	want string // space-separated names of the samples that match
}{
	{"", all},
	{"   \t\n", all},

	// transports and IP versions
	{"tcp", "t4 t6 v100"},
	{"udp", "u4 u6lo qinq"},
	{"icmp", "i4"},
	{"icmp6", "i6"},
	{"ip", "t4 u4 i4 v100 qinq gre"},
	{"ip6", "t6 u6lo i6"},
	{"not ip and not ip6", "arp"},

	// hosts
	{"host 10.0.0.1", "t4 i4"},
	{"src host 10.0.0.1", "t4 i4"},
	{"dst host 10.0.0.1", ""},
	{"dst host 10.0.0.2", "i4"},
	{"host 10.0.0.2", "u4 i4"},
	{"src and dst host ::1", "u6lo"},
	{"dst and src host ::1", "u6lo"},
	{"src and dst host 10.0.0.1", ""},
	{"src or dst host 8.8.8.8", "u4"},
	{"dst or src host 8.8.8.8", "u4"},
	{"host ::1", "u6lo"},
	{"host 2001:DB8::2", "t6"},
	{"10.0.0.1", "t4 i4"},
	{"ip host 10.0.0.1", "t4 i4"},
	{"ip6 host ::1", "u6lo"},
	{"src 10.0.0.1", "t4 i4"},
	{"host ::ffff:10.0.0.1", ""}, // an IPv6 address, as in tcpdump

	// networks
	{"net 10.0.0.0/8", "t4 u4 i4 v100 gre"},
	{"net 10.0.0.0/24", "t4 u4 i4 gre"},
	{"net 10.1", "v100"},
	{"net 10", "t4 u4 i4 v100 gre"},
	{"net 10.1.2", "v100"},
	{"net 10.1/16", "v100"},
	{"net 10.0.0.0 mask 255.0.0.0", "t4 u4 i4 v100 gre"},
	{"net 10.1 mask 255.255.0.0", "v100"},
	{"net 10.0.0.1", "t4 i4"},
	{"src net 192.168.0.0/16", ""},
	{"dst net 192.168.0.0/16", "t4"},
	{"src and dst net 10.0.0.0/24", "i4 gre"},
	{"net 2001:db8::/32", "t6"},
	{"net fe80::/10", "i6"},
	{"net 0.0.0.0/0", "t4 u4 i4 v100 qinq gre"},
	{"net ::/0", "t6 u6lo i6"},
	{"src 10.0.0.0/8", "t4 u4 i4 v100 gre"},
	{"10.0.0.0/24 or 2001:db8::/32", "t4 u4 i4 gre t6"},
	{"10.0.0.0 mask 255.255.255.0", "t4 u4 i4 gre"},

	// ports
	{"port 80", "t4"},
	{"port 53", "u4 u6lo"},
	{"tcp port 53", ""},
	{"udp port 53", "u4 u6lo"},
	{"src port 53", "u6lo"},
	{"dst port domain", "u4"},
	{"port http", "t4"},
	{"port HTTPS", "t6"},
	{"port ssh", "v100"},
	{"src and dst port 53", ""},
	{"port 0", ""},
	{"portrange 1-1023", "t4 u4 t6 u6lo v100 qinq"},
	{"tcp portrange 1-1023", "t4 t6 v100"},
	{"udp src portrange 1000-2000", "qinq"},
	{"dst portrange 50000-60000", "v100"},
	{"portrange ftp-data-ssh", "v100"},
	{"portrange 80-http", "t4"},
	{"portrange 0-65535", "t4 u4 t6 u6lo v100 qinq"},

	// protocol numbers
	{"ip proto 47", "gre"},
	{"proto 6", "t4 t6 v100"},
	{"ip6 proto udp", "u6lo"},
	{`ip proto \tcp`, "t4 v100"},
	{"proto icmp6", "i6"},
	{"ip6 proto 58", "i6"},
	{"ip proto icmp", "i4"},

	// vlan
	{"vlan", "v100 qinq"},
	{"vlan 100", "v100"},
	{"vlan 300", "qinq"},
	{"vlan 200 and udp", "qinq"},
	{"vlan and host 10.1.2.3", "v100"},
	{"not vlan", except("v100 qinq")},
	{"vlan 100 or vlan 300", "v100 qinq"},
	{"vlan 0", ""},

	// lengths
	{"less 80", "t4 u4 i6 arp"},
	{"greater 1000", "t6"},
	{"greater 100 and less 200", "u6lo v100 qinq"},

	// operators
	{"not tcp", except("t4 t6 v100")},
	{"! tcp", except("t4 t6 v100")},
	{"!tcp", except("t4 t6 v100")},
	{"not not tcp", "t4 t6 v100"},
	{"tcp and port 80", "t4"},
	{"tcp && port 80", "t4"},
	{"tcp&&port 80", "t4"},
	{"udp || icmp", "u4 u6lo qinq i4"},
	{"HOST 10.0.0.1 AND TCP", "t4"},
	{"(tcp)", "t4 t6 v100"},
	{"((not ((udp))))", except("u4 u6lo qinq")},
	{"tcp\n\tand port 80", "t4"},
	{"tcp and udp", ""},
	{"tcp or udp or icmp or icmp6", except("arp gre")},

	// precedence: not binds tightest; and/or are equal and left-associative
	// (pcap-filter(7)).
	{"tcp or udp and port 53", "u4 u6lo"}, // (tcp or udp) and port 53
	{"tcp or (udp and port 53)", "t4 t6 v100 u4 u6lo"},
	{"port 53 and udp or tcp", "u4 u6lo t4 t6 v100"}, // (port 53 and udp) or tcp
	{"not tcp and not udp", "i4 i6 arp gre"},
	{"not (tcp or udp)", "i4 i6 arp gre"},
	{"not tcp or udp", except("t4 t6 v100")},
	{"icmp or tcp and port 80", "t4"},
	{"host 10.0.0.1 and (port 80 or icmp)", "t4 i4"},

	// abbreviation: a bare id repeats the previous primitive's qualifiers
	{"port 80 or 443", "t4 t6"},
	{"port 80 or 443 or ssh", "t4 t6 v100"},
	{"host 10.0.0.1 or 8.8.8.8", "t4 i4 u4"},
	{"src host 10.0.0.1 or 10.0.0.2", "t4 i4 u4"},
	{"dst host 10.0.0.1 or 10.0.0.2", "i4"},
	{"tcp dst port 80 or 443", "t4 t6"},
	{"tcp dst port 80 or 53", "t4"},
	{"udp port 53 and not 5353", "u6lo"},
	{"port 22 or 53 and udp", "u4 u6lo"}, // (port 22 or port 53) and udp
	{"net 10.0.0.0/24 or 172.16.0.0/12", "t4 u4 i4 gre qinq"},
	{"not host 10.0.0.1 and 10.0.0.2", "u4"},
	{"host 10.0.0.1 or (port 80) or 8.8.8.8", "t4 i4 u4"}, // the group passes "host" on
	{"(host 10.0.0.1) or 8.8.8.8", "t4 i4 u4"},
	{"port (80 or 443)", "t4 t6"},
	{"tcp port (80 or 443 or 22)", "t4 t6 v100"},
	{"host (10.0.0.1 or ::1)", "t4 i4 u6lo"},
	{"host not 10.0.0.1", except("t4 i4")},
	{"port !80 and tcp", "t6 v100"},
	{"vlan 100 or (vlan 300 and udp)", "v100 qinq"},
}

func names(f *Filter) string {
	var got []string
	for _, s := range samples {
		if f.Match(s.p) {
			got = append(got, s.name)
		}
	}
	return strings.Join(got, " ")
}

func sameSet(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func TestMatch(t *testing.T) {
	for _, tc := range matchTests {
		f, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if got := names(f); !sameSet(got, tc.want) {
			t.Errorf("%q matched [%s], want [%s] (canonical %q)", tc.expr, got, tc.want, f.String())
		}
		// The canonical form must select exactly the same packets.
		g, err := Parse(f.String())
		if err != nil {
			t.Errorf("Parse(String() of %q = %q): %v", tc.expr, f.String(), err)
			continue
		}
		if got := names(g); !sameSet(got, tc.want) {
			t.Errorf("canonical %q of %q matched [%s], want [%s]", f.String(), tc.expr, got, tc.want)
		}
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(samples[0].p) || !f.MatchEndpoints(decode.ProtoTCP, nil, netip.AddrPort{}, netip.AddrPort{}) {
		t.Error("nil filter must match everything")
	}
	if f.String() != "" {
		t.Errorf("nil filter String() = %q", f.String())
	}
}

func TestVLANCountClamped(t *testing.T) {
	// A corrupt NVLAN must not make Match panic.
	p := mkpkt("10.0.0.1", "10.0.0.2", 1, 2, decode.ProtoTCP, 60, 5, 6)
	p.NVLAN = 9
	f, err := Parse("vlan 6")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(p) {
		t.Error("vlan 6 should match the second tag")
	}
}

// ---- canonical form ----

func TestString(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", ""},
		{"  ", ""},
		{"tcp", "tcp"},
		{"10.0.0.1", "host 10.0.0.1"},
		{"host 10.0.0.1 or 8.8.8.8", "host 10.0.0.1 or host 8.8.8.8"},
		{"tcp or udp and port 53", "(tcp or udp) and port 53"},
		{"tcp or (udp and port 53)", "tcp or (udp and port 53)"},
		{"tcp and (udp and icmp)", "tcp and udp and icmp"},
		{"(tcp or udp) or (icmp or ip6)", "tcp or udp or icmp or ip6"},
		{"net 10.1", "net 10.1.0.0/16"},
		{"net 10.0.0.0 mask 255.0.0.0", "net 10.0.0.0/8"},
		{"10.0.0.0/8", "net 10.0.0.0/8"},
		{"net 2001:DB8::/32", "net 2001:db8::/32"},
		{"src or dst port http", "port 80"},
		{"dst and src host ::1", "src and dst host ::1"},
		{"tcp dst port 80 or 443", "tcp dst port 80 or tcp dst port 443"},
		{"udp src portrange domain-1000", "udp src portrange 53-1000"},
		{"portrange ftp-data-ssh", "portrange 20-22"},
		{"! (tcp || udp)", "not (tcp or udp)"},
		{"not not tcp", "not not tcp"},
		{`ip proto \tcp`, "ip proto 6"},
		{"ip6 proto icmp6", "ip6 proto 58"},
		{"proto 47", "proto 47"},
		{"ip host 10.0.0.1", "host 10.0.0.1"},
		{"port (80 or 443)", "port 80 or port 443"},
		{"host not 10.0.0.1", "not host 10.0.0.1"},
		{"VLAN 100 and not vlan", "vlan 100 and not vlan"},
		{"less 100 or greater 1000", "less 100 or greater 1000"},
		{"icmp or icmp6", "icmp or icmp6"},
		{"ip and not ip6", "ip and not ip6"},
		{"not (tcp and port 80) or udp", "not (tcp and port 80) or udp"},
		{"host ::ffff:1.2.3.4", "host ::ffff:1.2.3.4"},
	}
	for _, tc := range tests {
		f, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if got := f.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.want)
		}
		g, err := Parse(f.String())
		if err != nil {
			t.Errorf("re-Parse(%q): %v", f.String(), err)
		} else if g.String() != f.String() {
			t.Errorf("String not idempotent: %q -> %q", f.String(), g.String())
		}
	}
}

// ---- errors ----

func TestErrors(t *testing.T) {
	deep := strings.Repeat("(", maxDepth+1) + "tcp" + strings.Repeat(")", maxDepth+1)
	deepNot := strings.Repeat("not ", maxDepth+1) + "tcp"
	tests := []struct {
		expr string
		pos  int
		msg  string // substring of Msg
	}{
		// unknown keywords, stray tokens
		{"hots 10.0.0.1", 0, `unexpected token "hots"`},
		{"tcp and hots 10.0.0.1", 8, `unexpected token "hots"`},
		{"tcp udp", 4, `unexpected token "udp"`},
		{"tcp port 80 extra", 12, `unexpected token "extra"`},
		{"host 10.0.0.1 10.0.0.2", 14, `unexpected token "10.0.0.2"`},
		{"ether host 00:11:22:33:44:55", 0, `unsupported primitive "ether"`},
		{"len < 100", 0, `unsupported primitive "len"`},
		{"tcp[13] & 2 != 0", 3, "byte-offset"},
		{"tcp & udp", 4, `unexpected character "&"`},
		{"tcp | udp", 4, `unexpected character "|"`},
		{"port 80 = 1", 8, `unexpected character "="`},
		{"host 10.0.0.1 é", 14, `unexpected character "é"`},
		{"mask 255.0.0.0", 0, `unexpected "mask"`},
		{"80", 0, "needs a qualifier"},
		{"(port 80) or 443", 13, "needs a qualifier"},

		// missing operands
		{"host", 4, `missing address after "host"`},
		{"src host", 8, `missing address after "host"`},
		{"src", 3, `missing address after "src"`},
		{"src or dst", 10, `missing address after "dst"`},
		{"net", 3, `missing network after "net"`},
		{"port", 4, `missing port after "port"`},
		{"portrange", 9, `missing port range after "portrange"`},
		{"ip proto", 8, `missing protocol after "proto"`},
		{"host and tcp", 5, `expected address after "host", found "and"`},
		{"port tcp", 5, `found keyword "tcp"`},
		{"host 10.0.0.1 and", 17, `missing expression after "and"`},
		{"tcp or", 6, `missing expression after "or"`},
		{"not", 3, `missing expression after "not"`},
		{"and tcp", 0, `unexpected "and"`},
		{"tcp && || udp", 7, `unexpected "||"`},
		{"less", 4, `missing length after "less"`},
		{"greater and tcp", 8, `expected length after "greater"`},
		{"net 10.0.0.0 mask", 17, `missing netmask after "mask"`},
		{"host 10.0.0.1 and tcp or 10.0.0.2", 25, "needs a qualifier"},
		{"vlan 10 or 20", 11, "needs a qualifier"},

		// parentheses
		{"(tcp", 0, `unclosed "("`},
		{"((tcp) or udp", 0, `unclosed "("`},
		{"tcp and (udp or (icmp)", 8, `unclosed "("`},
		{"tcp)", 3, `unmatched ")"`},
		{"(tcp))", 5, `unmatched ")"`},
		{"()", 1, "empty parentheses"},
		{"tcp and ()", 9, "empty parentheses"},
		{"(tcp udp)", 5, `unexpected token "udp"`},
		{"port (80 or", 11, `missing port after "or"`},
		{"port (80 443)", 9, `unexpected token "443"`},
		{")", 0, `unexpected ")"`},
		{deep, maxDepth, "nested too deeply"},
		{deepNot, 4 * maxDepth, "nested too deeply"},

		// addresses
		{"host 10.0.0.256", 5, `invalid address "10.0.0.256"`},
		{"host 10.0.0", 5, `invalid address "10.0.0"`},
		{"host example.com", 5, "host names are not resolved"},
		{"host 10.0.0.1 or nosuchhost", 17, "host names are not resolved"},
		{"host fe80::1%eth0", 5, "zone"},
		{"host 10.0.0.0/8", 5, "is a network"},
		{"host 10.0.0.0 mask 255.0.0.0", 14, `"mask" is only valid with "net"`},
		{"ip host ::1", 8, "not an IPv4 address"},
		{"ip6 host 10.0.0.1", 9, "not an IPv6 address"},
		{"ip6 net 10.0.0.0/8", 8, "not an IPv6 address"},
		{"1.2.3", 0, `invalid address "1.2.3"`},
		{"tcp host 10.0.0.1", 0, `"tcp" cannot qualify host`},
		{"icmp src net 10.0.0.0/8", 0, `"icmp" cannot qualify net`},
		{"tcp src 10.0.0.1", 0, `"tcp" cannot qualify host`},

		// CIDR / networks
		{"net 10.0.0.0/33", 4, "prefix length 33 out of range"},
		{"net ::/129", 4, "prefix length 129 out of range"},
		{"net 10.0.0.0/", 4, "invalid prefix length"},
		{"net 10.0.0.0/x", 4, "invalid prefix length"},
		{"net 10.0.0.1/8", 4, "non-network bits"},
		{"net 10.1/8", 4, "non-network bits"},
		{"10.0.0.1/8", 0, "non-network bits"},
		{"net 2001:db8::1/32", 4, "non-network bits"},
		{"net 10.0.0.300/8", 4, "invalid network"},
		{"net 10.0.0.0.0", 4, "invalid network"},
		{"net corp", 4, "host names are not resolved"},
		{"net 10.0.0.0 mask 255.0.255.0", 18, "not contiguous"},
		{"net 10.0.0.0 mask 255.0.0", 18, "invalid IPv4 netmask"},
		{"net 10.0.0.0 mask ffff::", 18, "invalid IPv4 netmask"},
		{"net 10.1.0.0 mask 255.0.0.0", 4, "non-network bits"},
		{"net 10.0.0.0/8 mask 255.0.0.0", 15, "cannot follow a CIDR"},
		{"net 2001:db8:: mask 255.0.0.0", 4, "only works with IPv4"},

		// ports
		{"port 65536", 5, "port 65536 out of range"},
		{"port 99999999999999999999999", 5, "out of range"},
		{"port 080", 5, "leading zero"},
		{"port http-alt", 5, `unknown port "http-alt"`},
		{"port -1", 5, `unknown port "-1"`},
		{"dst port 80 or 70000", 15, "port 70000 out of range"},
		{"portrange 100-10", 10, "backwards"},
		{"portrange 80", 10, "want LOW-HIGH"},
		{"portrange 1-70000", 10, "port 70000 out of range"},
		{"portrange x-80", 10, `unknown port "x"`},
		{"portrange a-b-c", 10, "want LOW-HIGH"},
		{"portrange -", 10, "invalid port range"},
		{"icmp port 80", 0, `"icmp" cannot qualify port`},
		{"ip port 80", 0, `"ip" cannot qualify port`},
		{"ip6 portrange 1-2", 0, `"ip6" cannot qualify portrange`},

		// proto, vlan, lengths
		{"ip proto 256", 9, "protocol 256 out of range"},
		{"proto gre", 6, `unknown protocol "gre"`},
		{"src proto 6", 4, "cannot qualify \"proto\""},
		{"tcp proto 6", 0, `"tcp" cannot qualify proto`},
		{"vlan 4096", 5, "VLAN ID 4096 out of range"},
		{"vlan x", 5, `invalid VLAN ID "x"`},
		{"less -5", 5, "invalid length"},
		{"greater 4294967296", 8, "out of range"},
	}
	for _, tc := range tests {
		f, err := Parse(tc.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error at %d", tc.expr, f.String(), tc.pos)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): error %T is not *SyntaxError", tc.expr, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) || se.Expr != tc.expr {
			t.Errorf("Parse(%q): got Pos %d Msg %q, want Pos %d Msg containing %q", tc.expr, se.Pos, se.Msg, tc.pos, tc.msg)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("hots 10.0.0.1")
	want := "filter: unexpected token \"hots\" at column 1\n  hots 10.0.0.1\n  ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	_, err = Parse("host 10.0.0.1 and")
	want = "filter: missing expression after \"and\" at column 18\n  host 10.0.0.1 and\n                   ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	// Tabs and newlines are shown as spaces so the caret lines up; columns
	// count bytes but the caret counts characters.
	_, err = Parse("tcp\n\tand é")
	want = "filter: unexpected character \"é\" at column 10\n  tcp  and é\n           ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%q\nwant\n%q", err, want)
	}
}

// ---- connections ----

func TestMatchEndpoints(t *testing.T) {
	ap := netip.MustParseAddrPort
	c4 := [2]netip.AddrPort{ap("10.0.0.1:40000"), ap("192.168.1.10:80")}
	c6 := [2]netip.AddrPort{ap("[2001:db8::1]:50000"), ap("[2001:db8::2]:443")}
	tests := []struct {
		expr  string
		proto decode.Proto
		vlans []uint16
		ends  [2]netip.AddrPort
		want  bool
	}{
		{"", decode.ProtoTCP, nil, c4, true},
		{"tcp port 80", decode.ProtoTCP, nil, c4, true},
		{"udp port 80", decode.ProtoTCP, nil, c4, false},
		{"src port 80", decode.ProtoTCP, nil, c4, false},
		{"dst port 80", decode.ProtoTCP, nil, c4, true},
		{"src host 10.0.0.1 and dst net 192.168.0.0/16", decode.ProtoTCP, nil, c4, true},
		{"dst host 10.0.0.1", decode.ProtoTCP, nil, c4, false},
		{"port 80 or 443", decode.ProtoTCP, nil, c6, true},
		{"ip", decode.ProtoTCP, nil, c4, true},
		{"ip6", decode.ProtoTCP, nil, c4, false},
		{"ip6", decode.ProtoTCP, nil, c6, true},
		{"vlan", decode.ProtoTCP, nil, c4, false},
		{"vlan", decode.ProtoTCP, []uint16{7}, c4, true},
		{"vlan 100", decode.ProtoTCP, []uint16{7, 100, 9}, c4, true},
		{"vlan 100", decode.ProtoTCP, []uint16{7}, c4, false},
		{"icmp", decode.ProtoICMP, nil, c4, true},
		{"icmp6", decode.ProtoICMP, nil, c4, false},
		{"icmp6", decode.ProtoICMP, nil, c6, true},
		{"proto 1", decode.ProtoICMP, nil, c4, true},
		{"ip6 proto 58", decode.ProtoICMP, nil, c6, true},
		{"proto 17", decode.ProtoTCP, nil, c4, false},
		{"tcp", decode.ProtoOther, nil, c4, false},
		{"proto 47", decode.ProtoOther, nil, c4, true},      // unknown: kept
		{"ip6 proto 47", decode.ProtoOther, nil, c4, false}, // but the family is known
		// Packet-only primitives are unknown for a connection and keep it,
		// unless the rest of the expression already decides.
		{"less 100", decode.ProtoTCP, nil, c4, true},
		{"not less 100", decode.ProtoTCP, nil, c4, true},
		{"udp and less 100", decode.ProtoTCP, nil, c4, false},
		{"tcp or less 100", decode.ProtoUDP, nil, c4, true},
		{"not (tcp and greater 5)", decode.ProtoTCP, nil, c4, true},
		{"not (udp and greater 5)", decode.ProtoTCP, nil, c4, true},
	}
	for _, tc := range tests {
		f, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if got := f.MatchEndpoints(tc.proto, tc.vlans, tc.ends[0], tc.ends[1]); got != tc.want {
			t.Errorf("%q MatchEndpoints(%v, %v, %v, %v) = %v, want %v", tc.expr, tc.proto, tc.vlans, tc.ends[0], tc.ends[1], got, tc.want)
		}
	}
}

// ---- allocation ----

func TestMatchNoAlloc(t *testing.T) {
	f, err := Parse("(tcp or udp) and not vlan 100 and (host 10.0.0.1 or net 2001:db8::/32 or port 80 or 443) " +
		"or portrange 1000-2000 or ip proto 47 or less 64 or icmp6")
	if err != nil {
		t.Fatal(err)
	}
	ends := []uint16{100}
	a, b := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:80")
	allocs := testing.AllocsPerRun(100, func() {
		for _, s := range samples {
			f.Match(s.p)
		}
		f.MatchEndpoints(decode.ProtoTCP, ends, a, b)
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run, want 0", allocs)
	}
}

func BenchmarkMatch(b *testing.B) {
	f, err := Parse("tcp and (port 80 or 443) and not net 10.0.0.0/8 or vlan 100")
	if err != nil {
		b.Fatal(err)
	}
	p := samples[0].p
	b.ReportAllocs()
	for b.Loop() {
		f.Match(p)
	}
}

// ---- fuzzing ----

func FuzzParse(f *testing.F) {
	for _, tc := range matchTests {
		f.Add(tc.expr)
	}
	for _, s := range []string{
		"hots 10.0.0.1", "(tcp", "tcp)", "port 65536", "portrange 9-1", "net 10.0.0.1/8",
		"host 10.0.0.1 and tcp or 10.0.0.2", "src and dst", "ip proto \\udp", "vlan 4095 and less 0",
		"net 10.0.0.0 mask 255.255.255.255", "!(!(!tcp))", "port (80 or !(443 and ssh))",
	} {
		f.Add(s)
	}
	ends := [][2]netip.AddrPort{
		{netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.168.1.10:80")},
		{netip.MustParseAddrPort("[::1]:53"), netip.MustParseAddrPort("[::1]:33000")},
		{},
	}
	protos := []decode.Proto{decode.ProtoOther, decode.ProtoTCP, decode.ProtoUDP, decode.ProtoICMP}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not *SyntaxError", expr, err)
			}
			if se.Pos < 0 || se.Pos > len(expr) || se.Expr != expr {
				t.Fatalf("Parse(%q): bad SyntaxError %+v", expr, se)
			}
			_ = se.Error()
			return
		}
		canon := flt.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String() %q does not parse: %v", expr, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("String not stable for %q: %q -> %q", expr, canon, again.String())
		}
		for _, s := range samples {
			if flt.Match(s.p) != again.Match(s.p) {
				t.Fatalf("%q and its String() %q disagree on %s", expr, canon, s.name)
			}
		}
		for _, e := range ends {
			for _, pr := range protos {
				for _, vl := range [][]uint16{nil, {100}} {
					if flt.MatchEndpoints(pr, vl, e[0], e[1]) != again.MatchEndpoints(pr, vl, e[0], e[1]) {
						t.Fatalf("%q and its String() %q disagree on endpoints %v %v %v", expr, canon, pr, vl, e)
					}
				}
			}
		}
	})
}
