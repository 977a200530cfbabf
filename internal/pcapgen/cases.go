package pcapgen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Case is one small synthetic capture for unit and golden tests.
type Case struct {
	Name        string
	Description string // one line
	Details     string // what the capture holds and what a reader should make of it (Markdown)
	Options     Options
	Build       func(w *Writer) error
}

// Addresses, ports and ISNs shared by the cases (documentation ranges).
var (
	CaseClientV4 = netip.MustParseAddr("192.0.2.10")
	CaseServerV4 = netip.MustParseAddr("198.51.100.20")
	CaseClientV6 = netip.MustParseAddr("2001:db8:1::10")
	CaseServerV6 = netip.MustParseAddr("2001:db8:2::20")
)

const (
	CaseClientPort = 49152
	CaseServerPort = 80
	CaseClientISN  = 1000000
	CaseServerISN  = 2000000
)

// Text returns n bytes of readable ASCII in 64-byte lines; each line starts
// with the label and the line's byte offset, so any slice of it tells where
// it came from: "client 000064 abcdef...\n".
func Text(label string, n int) []byte {
	const filler = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 0, n+64)
	for len(b) < n {
		line := fmt.Sprintf("%s %06d ", label, len(b))
		if len(line) < 63 {
			line += filler[:63-len(line)]
		}
		b = append(b, line[:63]...)
		b = append(b, '\n')
	}
	return b[:n]
}

func caseConn(w *Writer, v6 bool) *Conn {
	c, s := CaseClientV4, CaseServerV4
	if v6 {
		c, s = CaseClientV6, CaseServerV6
	}
	return w.NewConn(ConnConfig{
		Client:    netip.AddrPortFrom(c, CaseClientPort),
		Server:    netip.AddrPortFrom(s, CaseServerPort),
		ClientISN: CaseClientISN, ServerISN: CaseServerISN,
	})
}

// standard writes the plain conversation used by the link-layer cases:
// handshake, 500 bytes from the client, 2000 from the server, close by the
// client.
func standard(c *Conn) {
	c.Handshake()
	c.Send(true, Text("client", 500))
	c.Send(false, Text("server", 2000))
	c.Close()
}

const standardDetails = "Connection 192.0.2.10:49152 -> 198.51.100.20:80, client ISN 1000000, " +
	"server ISN 2000000. Three-way handshake, the client sends 500 bytes (one segment), " +
	"the server 2000 bytes (1460 + 540), each segment ACKed, then the client closes " +
	"(FIN, ACK, FIN, ACK). Expect one complete connection, 500 bytes client->server and 2000 " +
	"bytes server->client (payloads are `Text(\"client\", 500)` and `Text(\"server\", 2000)`)."

// Cases returns the synthetic test cases, in a fixed order.
func Cases() []Case {
	return []Case{
		{
			Name:        "handshake-normal",
			Description: "3-way handshake, data both ways, FIN from the client first.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client sends 1000 bytes " +
				"(one segment), server sends 3000 bytes (1460 + 1460 + 80), every segment ACKed. Close: " +
				"client FIN, server ACK, server FIN, client ACK. Zeek state SF.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Send(true, Text("client", 1000))
				c.Send(false, Text("server", 3000))
				c.Close()
				return nil
			},
		},
		{
			Name:        "fin-server-first",
			Description: "Normal connection closed by the server first.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client 300 bytes, server " +
				"1200 bytes, then server FIN, client ACK, client FIN, server ACK. Zeek state SF.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Send(true, Text("client", 300))
				c.Send(false, Text("server", 1200))
				c.FIN(false)
				c.FIN(true)
				return nil
			},
		},
		{
			Name:        "handshake-synack-lost-retransmitted-syn",
			Description: "The first SYN/ACK never reaches the capture point; the client retransmits its SYN after 1 s.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Packets: SYN (t=0), SYN " +
				"again with the same seq 1000000 (t=1.001s), SYN/ACK, ACK, client 200 bytes, server 800 " +
				"bytes, client-first close. One connection; the duplicate SYN is a retransmission, not a new " +
				"connection.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.SYN()
				w.Advance(time.Second)
				c.SYN()
				c.SYNACK()
				c.ACK(true)
				c.Send(true, Text("client", 200))
				c.Send(false, Text("server", 800))
				c.Close()
				return nil
			},
		},
		{
			Name:        "simultaneous-close",
			Description: "Both sides send FIN before seeing the other's FIN.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client 400 bytes, server 400 " +
				"bytes, then client FIN/ACK (seq rel 400, ack rel 400), server FIN/ACK whose ack (rel 400) " +
				"does not cover the client FIN, then client ACK (ack rel 401) and server ACK (ack rel 401). " +
				"Both directions end cleanly.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Send(true, Text("client", 400))
				c.Send(false, Text("server", 400))
				c.CloseSimultaneous()
				return nil
			},
		},
		{
			Name:        "rst-from-client-mid-transfer",
			Description: "The client aborts with RST while the server is sending.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client 200 bytes, server " +
				"2920 bytes (two 1460-byte segments, each ACKed), then client RST/ACK at seq rel 200. No FIN. " +
				"Expect 200 + 2920 bytes and a reset connection (Zeek RSTO).",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Send(true, Text("client", 200))
				c.Send(false, Text("server", 2920))
				c.RST(true)
				return nil
			},
		},
		{
			Name:        "rst-from-server",
			Description: "Connection refused: SYN answered by RST/ACK (Zeek REJ).",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, client ISN 1000000. Two packets: SYN (seq 1000000), " +
				"RST/ACK from the server with seq 0 and ack 1000001. No data.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.SYN()
				c.RST(false)
				return nil
			},
		},
		{
			Name:        "syn-unanswered",
			Description: "A SYN retransmitted twice and never answered (Zeek S0).",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, client ISN 1000000. Three identical SYNs (seq " +
				"1000000) at t=0, t=1.001s and t=3.002s. No other packet.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.SYN()
				w.Advance(time.Second)
				c.SYN()
				w.Advance(2 * time.Second)
				c.SYN()
				return nil
			},
		},
		{
			Name:        "retransmission",
			Description: "A data segment is resent with the same bytes.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. The client sends 3000 bytes " +
				"as three 1000-byte segments (rel seq 0, 1000, 2000) with no ACK in between; 200 ms later the " +
				"segment at rel seq 1000 is sent again (same 1000 bytes); then the server ACKs all (ack rel " +
				"3000), sends 500 bytes, and the client closes. Expect client->server exactly 3000 bytes (the " +
				"retransmission is not duplicated), server->client 500.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Emit(c.Plan(true, Text("client", 3000), 1000)...)
				w.Advance(200 * time.Millisecond)
				c.Retransmit(true, 1000, 1000)
				c.ACK(false)
				c.Send(false, Text("server", 500))
				c.Close()
				return nil
			},
		},
		{
			Name:        "out-of-order",
			Description: "Three client segments arrive in the order 3, 1, 2.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. The client sends 1500 bytes " +
				"as three 500-byte segments written in the order rel seq 1000, 0, 500; the server then ACKs " +
				"all (ack rel 1500), sends 700 bytes, and the client closes. Expect client->server the 1500 " +
				"bytes in order.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.SendOrder(true, Text("client", 1500), 500, []int{2, 0, 1})
				c.Send(false, Text("server", 700))
				c.Close()
				return nil
			},
		},
		{
			Name:        "overlap-partial",
			Description: "A segment overlaps the previous one with the same bytes.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client stream of 2000 bytes " +
				"written as segments [0,1000), [500,1500) (its first 500 bytes repeat what was sent), " +
				"[1500,2000) (rel seq). Server ACKs (ack rel 2000), sends 300 bytes, client closes. Expect " +
				"client->server exactly the 2000 bytes.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				data := Text("client", 2000)
				base := c.Plan(true, data, len(data))[0].Off
				c.Emit(
					Seg{FromClient: true, Off: base, Data: data[0:1000], Flags: FlagACK},
					Seg{FromClient: true, Off: base + 500, Data: data[500:1500], Flags: FlagACK},
					Seg{FromClient: true, Off: base + 1500, Data: data[1500:2000], Flags: FlagPSH | FlagACK},
				)
				c.ACK(false)
				c.Send(false, Text("server", 300))
				c.Close()
				return nil
			},
		},
		{
			Name:        "overlap-conflicting",
			Description: "A segment overlaps the previous one with different bytes; the first-seen bytes are the truth.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Client stream of 2000 bytes " +
				"written as [0,1000) (true bytes), then [600,1600) whose first 400 bytes ([600,1000)) are " +
				"different (`!CONFLICT!` repeated) and whose last 600 are the true bytes, then [1600,2000). " +
				"Server ACKs (ack rel 2000), sends 300 bytes, client closes.\n\n" +
				"Expected policy: keep the bytes seen first, as Wireshark and gopacket's tcpassembly do, so " +
				"client->server is exactly `Text(\"client\", 2000)` with no `!CONFLICT!` in it. A last-seen " +
				"(overwrite) policy would put `!CONFLICT!` bytes at offsets 600..999.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				data := Text("client", 2000)
				base := c.Plan(true, data, len(data))[0].Off
				bad := make([]byte, 1000)
				copy(bad, data[600:1600])
				for i := 0; i < 400; i++ {
					bad[i] = "!CONFLICT!"[i%10]
				}
				c.Emit(
					Seg{FromClient: true, Off: base, Data: data[0:1000], Flags: FlagACK},
					Seg{FromClient: true, Off: base + 600, Data: bad, Flags: FlagACK},
					Seg{FromClient: true, Off: base + 1600, Data: data[1600:2000], Flags: FlagPSH | FlagACK},
				)
				c.ACK(false)
				c.Send(false, Text("server", 300))
				c.Close()
				return nil
			},
		},
		{
			Name:        "seq-wraparound",
			Description: "Sequence numbers wrap past 2^32 in both directions.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, client ISN 0xFFFFFF00 (4294967040), server ISN " +
				"0xFFFFFE00 (4294966784). Each side sends 2048 bytes (1460 + 588). The client's byte at rel " +
				"offset 254 has seq 0xFFFFFFFF and offset 255 has seq 0; the server's byte at rel offset 511 " +
				"has seq 0. Client-first close; the client FIN has seq 0x00000701 (1793), the server FIN " +
				"0x00000601 (1537). " +
				"Expect 2048 bytes each way.",
			Build: func(w *Writer) error {
				c := w.NewConn(ConnConfig{
					Client:    netip.AddrPortFrom(CaseClientV4, CaseClientPort),
					Server:    netip.AddrPortFrom(CaseServerV4, CaseServerPort),
					ClientISN: 0xFFFFFF00, ServerISN: 0xFFFFFE00,
				})
				c.Handshake()
				c.Send(true, Text("client", 2048))
				c.Send(false, Text("server", 2048))
				c.Close()
				return nil
			},
		},
		{
			Name:        "port-reuse",
			Description: "A closed connection, then a new SYN on the same 4-tuple with another ISN.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80 twice. Connection A: ISNs 1000000 / 2000000, client " +
				"300 bytes (`Text(\"A-client\", 300)`), server 600 (`Text(\"A-server\", 600)`), client-first " +
				"close. 1 s later connection B: ISNs 3000000 / 4000000, client 400 bytes (`B-client`), server " +
				"800 (`B-server`), client-first close. Expect two separate connections, each with its own bytes.",
			Build: func(w *Writer) error {
				for i, label := range []string{"A", "B"} {
					c := w.NewConn(ConnConfig{
						Client:    netip.AddrPortFrom(CaseClientV4, CaseClientPort),
						Server:    netip.AddrPortFrom(CaseServerV4, CaseServerPort),
						ClientISN: CaseClientISN + uint32(i)*2000000, ServerISN: CaseServerISN + uint32(i)*2000000,
					})
					c.Handshake()
					c.Send(true, Text(label+"-client", 300+100*i))
					c.Send(false, Text(label+"-server", 600+200*i))
					c.Close()
					if i == 0 {
						w.Advance(time.Second)
					}
				}
				return nil
			},
		},
		{
			Name:        "midstream",
			Description: "A connection picked up mid-stream: no handshake, data both ways, then a normal close.",
			Details: "192.0.2.10:51234 -> 198.51.100.20:80. No SYNs: the first client byte in the capture has seq " +
				"1000001 and the first server byte seq 2000001 (ISNs 1000000 / 2000000 were never seen). " +
				"Client 400 bytes, server 1200, client 300, server 600 (each segment ACKed; all packets carry " +
				"ACK), then client-first FIN close. Expect client->server 700 bytes, server->client 1800 bytes " +
				"(if the tool accepts connections without a handshake). Which side is the client has to be " +
				"guessed (the port: 80 is the server).",
			Build: func(w *Writer) error {
				c := w.NewConn(ConnConfig{
					Client:    netip.AddrPortFrom(CaseClientV4, 51234),
					Server:    netip.AddrPortFrom(CaseServerV4, 80),
					ClientISN: CaseClientISN, ServerISN: CaseServerISN,
				})
				c.Send(true, Text("client", 400))
				c.Send(false, Text("server", 1200))
				c.Send(true, Text("client2", 300))
				c.Send(false, Text("server2", 600))
				c.Close()
				return nil
			},
		},
		{
			Name:        "gap",
			Description: "A 1000-byte client segment is missing from the capture; data follows it.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. The client sends 3000 bytes " +
				"as three 1000-byte segments; only rel seq [0,1000) and [2000,3000) are in the capture, " +
				"[1000,2000) (seq 1001001..1002000) never is. The server ACKs everything (ack rel 3000: it " +
				"was received, only the capture lost it), sends 500 bytes, client closes. Expect " +
				"client->server: 1000 bytes, a 1000-byte gap, 1000 bytes (Sent holds all 3000).",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.SendOrder(true, Text("client", 3000), 1000, []int{0, 2})
				c.Send(false, Text("server", 500))
				c.Close()
				return nil
			},
		},
		{
			Name:        "ipv4-fragments",
			Description: "A data segment split into 3 IPv4 fragments written out of order.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. The client's 1400-byte " +
				"segment (rel seq 0; 1420 bytes with the TCP header) is carried by 3 IPv4 fragments of one " +
				"IP id: fragment payloads [0,480) (MF), [480,960) (MF), [960,1420), written in the order " +
				"3, 1, 2 (the last first). The server ACKs (ack rel 1400), sends 600 bytes, client closes. " +
				"Expect client->server 1400 bytes after defragmentation.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.SendFragmented(true, Text("client", 1400), 3, []int{2, 0, 1})
				c.Send(false, Text("server", 600))
				c.Close()
				return nil
			},
		},
		{
			Name:        "ipv6-fragments",
			Description: "A data segment split into 3 IPv6 fragments (Fragment header) written out of order.",
			Details: "[2001:db8:1::10]:49152 -> [2001:db8:2::20]:80, ISNs 1000000 / 2000000, MSS 1440. The " +
				"client's 1400-byte segment (1420 bytes with the TCP header) is carried by 3 IPv6 packets " +
				"with a Fragment header (next header TCP, one identification): fragment data [0,480) (M), " +
				"[480,960) (M), [960,1420), written in the order 3, 1, 2. The server ACKs, sends 600 bytes, " +
				"client closes. Expect client->server 1400 bytes after defragmentation.",
			Build: func(w *Writer) error {
				c := caseConn(w, true)
				c.Handshake()
				c.SendFragmented(true, Text("client", 1400), 3, []int{2, 0, 1})
				c.Send(false, Text("server", 600))
				c.Close()
				return nil
			},
		},
		{
			Name:        "vlan",
			Description: "The standard conversation with one 802.1Q tag (VLAN 100).",
			Details:     "Every frame has one 802.1Q tag (TPID 0x8100, VLAN 100). " + standardDetails,
			Options:     Options{VLANs: []uint16{100}},
			Build:       func(w *Writer) error { standard(caseConn(w, false)); return nil },
		},
		{
			Name:        "qinq",
			Description: "The standard conversation with two tags (QinQ: outer 200, inner 100).",
			Details: "Every frame has an outer 802.1ad tag (TPID 0x88a8, VLAN 200) and an inner 802.1Q tag " +
				"(TPID 0x8100, VLAN 100). " + standardDetails,
			Options: Options{VLANs: []uint16{200, 100}},
			Build:   func(w *Writer) error { standard(caseConn(w, false)); return nil },
		},
		{
			Name:        "ipv6",
			Description: "A normal conversation over IPv6.",
			Details: "[2001:db8:1::10]:49152 -> [2001:db8:2::20]:80, ISNs 1000000 / 2000000, MSS 1440. Client " +
				"500 bytes, server 3000 bytes (1440 + 1440 + 120), each segment ACKed, client-first close.",
			Build: func(w *Writer) error {
				c := caseConn(w, true)
				c.Handshake()
				c.Send(true, Text("client", 500))
				c.Send(false, Text("server", 3000))
				c.Close()
				return nil
			},
		},
		{
			Name:        "rawip",
			Description: "The standard conversation with link type RAW (101): packets start with the IPv4 header.",
			Details:     "Link type LINKTYPE_RAW (101), no link-layer header. " + standardDetails,
			Options:     Options{LinkType: LinkRaw},
			Build:       func(w *Writer) error { standard(caseConn(w, false)); return nil },
		},
		{
			Name:        "sll",
			Description: "The standard conversation with Linux cooked headers (link type 113).",
			Details: "Link type LINKTYPE_LINUX_SLL (113): 16-byte header, packet type 4 (outgoing) on the " +
				"client's packets and 0 (to us) on the server's, ARPHRD_ETHER, the sender's MAC, protocol " +
				"0x0800. " + standardDetails,
			Options: Options{LinkType: LinkSLL},
			Build:   func(w *Writer) error { standard(caseConn(w, false)); return nil },
		},
		{
			Name:        "null-loopback",
			Description: "BSD loopback encapsulation (link type 0): an IPv4 and an IPv6 conversation.",
			Details: "Link type LINKTYPE_NULL (0): a 4-byte little-endian address family, 2 for IPv4 and 24 " +
				"(BSD AF_INET6) for IPv6. First " + standardDetails + " Then the same over IPv6: " +
				"[2001:db8:1::10]:49153 -> [2001:db8:2::20]:80, ISNs 3000000 / 4000000, client 500 bytes " +
				"(`Text(\"client6\", 500)`), server 2000 (`Text(\"server6\", 2000)`, 1440 + 560), client-first close.",
			Options: Options{LinkType: LinkNull},
			Build: func(w *Writer) error {
				standard(caseConn(w, false))
				c := w.NewConn(ConnConfig{
					Client:    netip.AddrPortFrom(CaseClientV6, CaseClientPort+1),
					Server:    netip.AddrPortFrom(CaseServerV6, CaseServerPort),
					ClientISN: 3000000, ServerISN: 4000000,
				})
				c.Handshake()
				c.Send(true, Text("client6", 500))
				c.Send(false, Text("server6", 2000))
				c.Close()
				return nil
			},
		},
		{
			Name:        "pcap-ns",
			Description: "The standard conversation in a nanosecond-resolution pcap.",
			Details: "Magic 0xa1b23c4d (nanoseconds); packets are 1.000123 ms apart, so timestamps have " +
				"sub-microsecond digits (packet 2 at 2024-01-01T00:00:00.001000123Z). " + standardDetails,
			Options: Options{Nanosecond: true, Step: 1000123 * time.Nanosecond},
			Build:   func(w *Writer) error { standard(caseConn(w, false)); return nil },
		},
		{
			Name:        "many-conns",
			Description: "50 short connections interleaved.",
			Details: "Connection i (i = 0..49): 192.0.2.(100+i):(50000+i) -> 198.51.100.20:80, client ISN " +
				"10000000+1000*i, server ISN 20000000+1000*i. Each: SYN, SYN/ACK, ACK, request " +
				"`GET /conn/NN HTTP/1.0\\r\\n\\r\\n` (NN = i, two digits, 25 bytes), response " +
				"`HTTP/1.0 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\nconn NN\\n` (46 bytes), server FIN, client " +
				"FIN (acking the server FIN), server ACK: 8 packets. The packets of the 50 connections are " +
				"interleaved in a fixed pseudo-random order (PCG seed 1), so many are open at once. Expect " +
				"50 complete connections.",
			Build: func(w *Writer) error {
				type state struct {
					c    *Conn
					i    int
					step int
				}
				var active []*state
				for i := range 50 {
					c := w.NewConn(ConnConfig{
						Client:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}), uint16(50000+i)),
						Server:    netip.AddrPortFrom(CaseServerV4, 80),
						ClientISN: 10000000 + 1000*uint32(i), ServerISN: 20000000 + 1000*uint32(i),
						NoAck: true,
					})
					active = append(active, &state{c: c, i: i})
				}
				rng := rand.New(rand.NewPCG(1, 0))
				// Open connections gradually: at most 20 are eligible at
				// a time, so both starts and ends overlap.
				next := 0
				var open []*state
				for len(open) > 0 || next < len(active) {
					for len(open) < 20 && next < len(active) {
						open = append(open, active[next])
						next++
					}
					k := rng.IntN(len(open))
					s := open[k]
					c := s.c
					switch s.step {
					case 0:
						c.SYN()
					case 1:
						c.SYNACK()
					case 2:
						c.ACK(true)
					case 3:
						c.Send(true, fmt.Appendf(nil, "GET /conn/%02d HTTP/1.0\r\n\r\n", s.i))
					case 4:
						c.Send(false, fmt.Appendf(nil, "HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nconn %02d\n", s.i))
					case 5:
						c.FIN(false)
					case 6:
						c.FIN(true)
					case 7:
						c.ACK(false)
					}
					s.step++
					if s.step == 8 {
						open = append(open[:k], open[k+1:]...)
					}
				}
				return nil
			},
		},
		{
			Name:        "idle-timeout",
			Description: "A connection silent for 2 hours, then more data on the same 4-tuple without a SYN.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. Handshake, client 200 " +
				"bytes, server 400 bytes; then 2 hours with no packet; then client 200 more bytes " +
				"(`Text(\"client-late\", 200)`, rel seq 200) and server 400 more (`server-late`, rel seq 400), " +
				"client-first close. Sequence numbers simply continue. A tool whose idle timeout is under 2 " +
				"hours ends the connection at the silence and sees the rest as a new mid-stream connection; " +
				"otherwise one connection with 400 + 800 bytes.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				c.Send(true, Text("client", 200))
				c.Send(false, Text("server", 400))
				w.Advance(2 * time.Hour)
				c.Send(true, Text("client-late", 200))
				c.Send(false, Text("server-late", 400))
				c.Close()
				return nil
			},
		},
		{
			Name:        "http-keepalive",
			Description: "Two plain-text HTTP/1.1 request/response exchanges on one connection.",
			Details: "192.0.2.10:49152 -> 198.51.100.20:80, ISNs 1000000 / 2000000. `GET /index.html` answered " +
				"by `200 OK` with a text/html body (Content-Length), then `GET /notes.txt` answered by a " +
				"text/plain body (Content-Length, two segments), then the client closes. All readable text: " +
				"meant for transcripts and HTTP parsing.",
			Build: func(w *Writer) error {
				c := caseConn(w, false)
				c.Handshake()
				for _, x := range httpExchanges() {
					c.Send(true, []byte(x.req))
					c.Send(false, []byte(x.resp))
				}
				c.Close()
				return nil
			},
		},
	}
}

type httpExchange struct{ req, resp string }

func httpExchanges() []httpExchange {
	html := "<!DOCTYPE html>\n<html>\n<head><title>streamx test page</title></head>\n<body>\n" +
		"<h1>Hello from streamx</h1>\n<p>This page is served by a synthetic capture made by pcapgen.</p>\n" +
		"<p>It exists so that HTTP transcripts have something readable to show.</p>\n" +
		"<ul>\n<li><a href=\"/notes.txt\">notes</a></li>\n<li><a href=\"/about\">about</a></li>\n</ul>\n" +
		"</body>\n</html>\n"
	var notes []byte
	for i := 1; i <= 40; i++ {
		notes = fmt.Appendf(notes, "note %02d: the quick brown fox jumps over the lazy dog.\n", i)
	}
	req := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: pcapgen/1.0\r\n" +
			"Accept: */*\r\nConnection: keep-alive\r\n\r\n"
	}
	resp := func(ctype, date string, body string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nServer: pcapgen\r\nContent-Type: %s\r\n"+
			"Content-Length: %d\r\n\r\n%s", date, ctype, len(body), body)
	}
	return []httpExchange{
		{req("/index.html"), resp("text/html; charset=utf-8", "Mon, 01 Jan 2024 00:00:00 GMT", html)},
		{req("/notes.txt"), resp("text/plain; charset=utf-8", "Mon, 01 Jan 2024 00:00:00 GMT", string(notes))},
	}
}
