package pcapgen

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

const syntheticDir = "../../testdata/synthetic"

// TestCasesCommitted regenerates every case in memory and checks that the
// committed capture.pcap and README.md are byte-identical.
func TestCasesCommitted(t *testing.T) {
	cases := Cases()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			capture, readme, err := c.Files()
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string][]byte{"capture.pcap": capture, "README.md": readme} {
				got, err := os.ReadFile(filepath.Join(syntheticDir, c.Name, name))
				if err != nil {
					t.Fatalf("%v (regenerate with: %s)", err, RegenerateCommand)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s/%s differs from the generator's output; regenerate with: %s", c.Name, name, RegenerateCommand)
				}
			}
		})
	}
	got, err := os.ReadFile(filepath.Join(syntheticDir, "README.md"))
	if err != nil || !bytes.Equal(got, IndexREADME(cases)) {
		t.Errorf("testdata/synthetic/README.md is stale or missing (%v); regenerate with: %s", err, RegenerateCommand)
	}
}

func TestCasesDeterministic(t *testing.T) {
	for _, c := range Cases() {
		a, ra, err := c.Files()
		if err != nil {
			t.Fatal(err)
		}
		b, rb, err := c.Files()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || !bytes.Equal(ra, rb) {
			t.Errorf("%s: two generations differ", c.Name)
		}
	}
}

func TestCaseNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] || c.Name == "" || c.Description == "" || c.Details == "" {
			t.Errorf("bad or duplicate case %q", c.Name)
		}
		seen[c.Name] = true
	}
}

// TestCasesDecode decodes every case with gopacket (checksums verified, IP
// fragments reassembled), rebuilds each connection's streams from the
// segments (first-seen bytes win) and compares them with Conn.Sent.
func TestCasesDecode(t *testing.T) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := c.Generate(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if buf.Len() > 40<<10 {
				t.Errorf("capture is %d bytes; cases should stay small", buf.Len())
			}
			d := decodeCapture(t, buf.Bytes())
			o := w.Options()
			if d.link != o.LinkType.PcapLinkType() || d.nano != o.Nanosecond {
				t.Errorf("link type %v nano %v, want %v %v", d.link, d.nano, o.LinkType.PcapLinkType(), o.Nanosecond)
			}
			if int64(d.packets) != w.Packets() {
				t.Errorf("%d packets read, %d written", d.packets, w.Packets())
			}
			if len(d.ts) == 0 || !d.ts[0].Equal(o.Start) {
				t.Errorf("first timestamp %v, want %v", d.ts[0], o.Start)
			}
			for i := 1; i < len(d.ts); i++ {
				if !d.ts[i].After(d.ts[i-1]) {
					t.Errorf("packet %d: timestamp %v not after %v", i+1, d.ts[i], d.ts[i-1])
				}
			}
			if o.Nanosecond && len(d.ts) > 1 && !d.ts[1].Equal(o.Start.Add(o.Step)) {
				t.Errorf("second timestamp %v, want %v", d.ts[1], o.Start.Add(o.Step))
			}
			for _, s := range d.segs {
				if !reflect.DeepEqual(s.vlans, o.VLANs) && (len(s.vlans) != 0 || len(o.VLANs) != 0) {
					t.Fatalf("packet %d: VLANs %v, want %v", s.n, s.vlans, o.VLANs)
				}
			}
			checkStreams(t, c.Name, w, d)
		})
	}
}

func checkStreams(t *testing.T, name string, w *Writer, d *decoded) {
	conns := w.Conns()
	streams := make([][2]*stream, len(conns))
	for i, cn := range conns {
		streams[i] = [2]*stream{{base: cn.ISN(true) + 1}, {base: cn.ISN(false) + 1}}
	}
	for _, s := range d.segs {
		if len(s.payload) == 0 {
			continue
		}
		matched := false
		for i, cn := range conns {
			var dir int
			switch {
			case s.src == cn.Client() && s.dst == cn.Server():
				dir = 0
			case s.src == cn.Server() && s.dst == cn.Client():
				dir = 1
			default:
				continue
			}
			st := streams[i][dir]
			off := int32(s.seq - st.base)
			if off < 0 || int(off) > len(cn.Sent(dir == 0)) {
				continue // another connection on the same 4-tuple
			}
			if err := st.add(s.seq, s.payload, len(cn.Sent(dir == 0))); err != nil {
				t.Fatalf("packet %d: %v", s.n, err)
			}
			matched = true
			break
		}
		if !matched {
			t.Fatalf("packet %d: payload matches no connection", s.n)
		}
	}
	for i, cn := range conns {
		for dir, fromClient := range []bool{true, false} {
			sent := cn.Sent(fromClient)
			st := streams[i][dir]
			holes := st.holes(len(sent))
			var want [][2]int
			if name == "gap" && fromClient {
				want = [][2]int{{1000, 2000}}
			}
			if !reflect.DeepEqual(holes, want) {
				t.Errorf("conn %d dir %d: holes %v, want %v", i, dir, holes, want)
			}
			for j := range sent {
				if j < len(st.have) && st.have[j] && st.buf[j] != sent[j] {
					t.Errorf("conn %d dir %d: byte %d is %q, sent %q", i, dir, j, st.buf[j], sent[j])
					break
				}
			}
		}
	}
}

func TestTextIsReadable(t *testing.T) {
	b := Text("client", 200)
	if len(b) != 200 || string(b[:14]) != "client 000000 " || string(b[64:78]) != "client 000064 " || b[63] != '\n' {
		t.Errorf("unexpected text %q", b)
	}
	for _, c := range b {
		if c != '\n' && (c < 0x20 || c > 0x7e) {
			t.Fatalf("unprintable byte %q", c)
		}
	}
}

func TestWriterOptions(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, Options{LinkType: LinkRaw, VLANs: []uint16{1}}); err == nil {
		t.Error("VLANs with raw IP accepted")
	}
	if _, err := NewWriter(&bytes.Buffer{}, Options{VLANs: []uint16{4096}}); err == nil {
		t.Error("VLAN 4096 accepted")
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Now().Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("start %v", w.Now())
	}
	w.Tick()
	w.Advance(time.Second)
	if got := w.Now().Sub(DefaultStart); got != time.Second+time.Millisecond {
		t.Errorf("clock at +%v", got)
	}
	c := w.NewConn(ConnConfig{Client: netip.MustParseAddrPort("192.0.2.1:1"), Server: netip.MustParseAddrPort("[2001:db8::1]:2")})
	c.Handshake()
	if w.Err() == nil {
		t.Error("mixed address families accepted")
	}
	if w.Flush() == nil {
		t.Error("Flush lost the sticky error")
	}
	if LinkNull.PcapLinkType() != layers.LinkTypeNull || LinkRaw.PcapLinkType() != 101 || LinkSLL.PcapLinkType() != 113 {
		t.Error("link type numbers")
	}
}

func TestConnBookkeeping(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Options{})
	c := w.NewConn(ConnConfig{Client: netip.MustParseAddrPort("192.0.2.1:1000"), Server: netip.MustParseAddrPort("198.51.100.1:80"), ClientISN: 0xFFFFFFF0, ServerISN: 7, MSS: 100})
	c.Handshake()
	c.Send(true, Text("c", 250)) // 3 segments + 3 ACKs
	if c.Next(true) != 250 || len(c.Sent(true)) != 250 {
		t.Errorf("next %d sent %d", c.Next(true), len(c.Sent(true)))
	}
	c.Retransmit(true, 100, 100)
	c.Close()
	if c.Next(true) != 251 || c.Next(false) != 1 {
		t.Errorf("after close next %d/%d", c.Next(true), c.Next(false))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Packets() != 3+6+1+4 {
		t.Errorf("%d packets", w.Packets())
	}
	if w.Bytes() != int64(buf.Len()) {
		t.Errorf("Bytes %d, file %d", w.Bytes(), buf.Len())
	}
	d := decodeCapture(t, buf.Bytes())
	last := d.segs[len(d.segs)-1]
	if last.seq != uint32(0xFFFFFFF0+1+251-(1<<32)) || last.ack != 7+1+1 {
		t.Errorf("last ACK seq %#x ack %d", last.seq, last.ack)
	}
	c.Retransmit(true, 200, 100)
	if w.Err() == nil {
		t.Error("Retransmit beyond the record accepted")
	}
}
