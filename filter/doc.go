// Package filter owns streamx's packet-selection language: a tcpdump-style
// (pcap-filter(7)) expression parser and an evaluator that runs directly on
// already-decoded packets (decode.Packet). There is no libpcap, no BPF and no
// byte-offset access: primitives test the decoded fields (addresses, ports,
// transport, IP version, VLAN tags, wire length).
//
// Parse compiles an expression once; Filter.Match is then safe for
// concurrent use and does not allocate, so it can sit on the per-packet path.
// Filter.MatchEndpoints applies the same expression to a connection's
// endpoints, for commands that select whole flows rather than packets.
//
// Supported primitives:
//
//	[ip|ip6] [DIR] host ADDR          ADDR is an IPv4 or IPv6 address
//	[ip|ip6] [DIR] net CIDR           also "net 10.1" (= 10.1.0.0/16) and
//	                                  "net 10.0.0.0 mask 255.0.0.0"
//	[tcp|udp] [DIR] port PORT         PORT is 0-65535 or a name (http, ssh, ...)
//	[tcp|udp] [DIR] portrange LO-HI
//	[ip|ip6] proto NUM|tcp|udp|icmp|icmp6
//	tcp  udp  icmp  icmp6  ip  ip6
//	vlan [ID]                         any 802.1Q tag / some tag equal to ID
//	less N  greater N                 wire length <= N / >= N
//
// DIR is src, dst, "src or dst" (the default) or "src and dst". A bare
// address is short for "host ADDR" (a bare CIDR for "net CIDR"). Without a
// tcp/udp qualifier, port and portrange match both TCP and UDP.
//
// Primitives combine with not/!, and/&&, or/|| and parentheses. As in
// tcpdump, not binds tightest and and/or have EQUAL precedence, associating
// left to right: "tcp or udp and port 53" means "(tcp or udp) and port 53".
// Filter.String always parenthesises mixed and/or, so logged filters are
// unambiguous. tcpdump's abbreviation rule applies: an identifier with no
// keyword repeats the qualifiers of the preceding primitive, so
// "port 80 or 443" is "port 80 or port 443" and
// "src host 10.0.0.1 or 10.0.0.2" is "src host 10.0.0.1 or src host 10.0.0.2".
//
// Errors are *SyntaxError values that point at the offending token.
package filter
