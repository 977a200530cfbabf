package ftp

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// FuzzControlParser feeds arbitrary bytes to a control connection, both
// directions interleaved and split at arbitrary points, with gaps, and
// connects data connections to whatever endpoints it announces. It must
// not panic, and what it holds must stay within its bounds.
//
// Input layout: a script of records. Each record is one byte of op and a
// length byte; op&3 = 0 client bytes, 1 server bytes, 2 a gap, 3 a data
// connection to the latest announcement (carrying the record's bytes).
func FuzzControlParser(f *testing.F) {
	c := func(s string) [2]string { return [2]string{"\x00", s + "\r\n"} }
	r := func(s string) [2]string { return [2]string{"\x01", s + "\r\n"} }
	data := func(s string) [2]string { return [2]string{"\x13", s} } // data, direction 0, then closed
	down := func(s string) [2]string { return [2]string{"\x17", s} } // direction 1, then closed
	gap := [2]string{"\x02", "\x00\x10"}
	for _, script := range [][][2]string{
		{r("220 ready"), c("USER alice"), r("331 password?"), c("PASS secret"), r("530 no"), c("USER bob"), c("PASS x"), r("331 ok"), r("230 ok")},
		{c("PWD"), r(`257 "/pub"`), c("PASV"), r("227 Entering Passive Mode (198,51,100,20,4,1)."), c("RETR a.txt"), r("150 go (5 bytes)"), down("hello"), r("226 ok")},
		{c("EPRT |2|2001:db8::1|5000|"), r("200 ok"), c("PORT 192,0,2,10,19,137"), r("200 ok"), c("STOR b.bin"), r("150 ok"), down("upload"), r("226 ok")},
		{c("FEAT"), r("211-Features:"), r(" EPSV"), gap, r("211 End"), c("EPSV"), r("229 (|||6446|)"), c("MLSD"), data("type=file; a\r\n"), r("226 ok")},
		{c("AUTH TLS"), r("234 proceed"), {"\x00", "\x16\x03\x01\x00\x05\x01\x02\x03"}},
		{c("TYPE A"), c("REST 100"), r("200 ok"), r("350 restart"), c("PASV"), r("227 (198,51,100,20,4,2)"), c("LIST"), down("total 0\r\nfile\r\n"), c("ABOR"), r("426 abort"), r("226 ok")},
		{c("PASV"), c("NLST"), r("227 =198,51,100,20,4,3"), data("x"), r("150 FILE: y"), r("226 ok"), c("CWD .."), r("250 ok")},
	} {
		var b []byte
		for _, rec := range script {
			b = append(b, rec[0][0], byte(len(rec[1])))
			b = append(b, rec[1]...)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cli, srv := netip.MustParseAddrPort("192.0.2.10:50000"), netip.MustParseAddrPort("198.51.100.20:21")
		v := newConvAt(t, len(in)%2 == 0, cli, srv)
		v.o.keep = false // bounded: the fuzz target keeps no file bytes, no log lines
		var datas []*dataConn
		port := uint16(40000)
		for len(in) >= 2 {
			op, n := in[0], int(in[1])
			in = in[2:]
			n = min(n, len(in))
			chunk := in[:n]
			in = in[n:]
			switch op & 3 {
			case 0, 1:
				dir := int(op & 1)
				v.c.Data(v.es, dir, chunk, v.off[dir], v.tick())
				v.off[dir] += int64(len(chunk))
			case 2:
				dir := int(op>>2) & 1
				gap := int64(1)
				if len(chunk) >= 2 {
					gap += int64(binary.BigEndian.Uint16(chunk))
				}
				v.c.Gap(v.es, dir, v.off[dir], gap, v.tick())
				v.off[dir] += gap
			case 3:
				// A data connection from the client (passive) or the server
				// (active) to each pending endpoint it can reach.
				port++
				var d *dataConn
				for i := len(v.c.chans) - 1; i >= 0; i-- {
					ch := v.c.chans[i]
					orig := netip.AddrPortFrom(cli.Addr(), port)
					if !ch.passive {
						orig = netip.AddrPortFrom(srv.Addr(), port)
					}
					if d, _ = v.connect(orig, ch.ep); d != nil {
						break
					}
				}
				if d == nil {
					break
				}
				s := d.es
				datas = append(datas, d)
				v.feed(d, s, int(op>>2)&1, string(chunk))
				if op&0x10 != 0 {
					v.finish(d, s)
				}
			}
			checkBounds(t, v.c)
		}
		v.close()
		for _, d := range datas {
			if !d.closed {
				v.finish(d, d.es)
			}
			if d.heldBytes > maxHold || len(d.held) > maxHeldEvents+1 {
				t.Fatalf("held %d bytes, %d events", d.heldBytes, len(d.held))
			}
		}
		for _, f := range v.o.files {
			if !f.closed {
				t.Fatalf("%s (%s) never closed", f.fuid, f.meta.Source)
			}
		}
	})
}

func checkBounds(t *testing.T, c *control) {
	t.Helper()
	switch {
	case len(c.lr[0].buf) > maxLine || len(c.lr[1].buf) > maxLine:
		t.Fatalf("line buffers %d, %d", len(c.lr[0].buf), len(c.lr[1].buf))
	case len(c.fifo) > maxPending:
		t.Fatalf("fifo %d", len(c.fifo))
	case len(c.chans) > maxChannels:
		t.Fatalf("channels %d", len(c.chans))
	case len(c.unbound) > maxUnbound:
		t.Fatalf("unbound %d", len(c.unbound))
	case len(c.sizes) > maxSizes:
		t.Fatalf("sizes %d", len(c.sizes))
	case c.rr.open != nil && (len(c.rr.open.More) > maxReplyLines || c.rr.bytes > maxReplyBytes):
		t.Fatalf("reply %d lines %d bytes", len(c.rr.open.More), c.rr.bytes)
	}
}
