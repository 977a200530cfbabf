package analysis

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/extractors/tls"
	"github.com/streamx/streamx/manifest"
)

// maxDistinct bounds the servers and clients counted per service row.
const maxDistinct = 4096

// tables are what the stats tables and the baseline keep while the run
// goes (Options.Tables).
type tables struct {
	opts      Options
	convs     []ConvRow // TCP conversations: all of them, or the top rows
	convTotal int
	svc       map[svcKey]*svcAcc
	enc       Encryption
	encIdx    map[encKey]int
	conns     []ConnClass
	tlsSrv    map[netip.AddrPort]*tlsAcc
	flows     map[flowKey]*BaseFlow
	// udpCounted: the UDP conversations are in svc (at the end, once)
	udpCounted bool
}

// tlsAcc is one row of the TLS servers table while the run goes: its
// lists keep the values seen first, whatever order the handshakes are
// reported in.
type tlsAcc struct {
	row                                TLSServer
	names, versions, ciphers, subjects *firstSeen
}

type svcKey struct {
	proto string
	port  uint16
	svc   string
}

type svcAcc struct {
	row              ServiceRow
	servers, clients map[netip.Addr]struct{}
}

type encKey struct{ svc, class, how string }

func newTables(opts Options) *tables {
	return &tables{opts: opts, svc: map[svcKey]*svcAcc{}, enc: Encryption{Classes: map[string]int{}},
		encIdx: map[encKey]int{}, tlsSrv: map[netip.AddrPort]*tlsAcc{}, flows: map[flowKey]*BaseFlow{}}
}

// conn adds a finished TCP connection to the conversation, service and
// flow tables.
func (t *tables) conn(cs *connInfo, frames [2]Count) {
	total := Count{frames[0].Packets + frames[1].Packets, frames[0].Bytes + frames[1].Bytes}
	if t.opts.KeepBroadcast || !(isBroadcast(cs.OrigH) || isBroadcast(cs.RespH)) {
		t.convTotal++
		t.convs = append(t.convs, ConvRow{Proto: "tcp", UID: cs.UID, A: addrPort(cs.OrigH, cs.OrigP), B: addrPort(cs.RespH, cs.RespP),
			AtoB: frames[0], BtoA: frames[1], Total: total, Start: cs.TS, Duration: cs.Duration, Service: cs.svc})
		if n := t.opts.Top; n > 0 && len(t.convs) >= 4*n {
			sortConvs(t.convs)
			t.convs = slices.Clip(t.convs[:n])
		}
	}
	k := svcKey{"tcp", cs.RespP, cs.svc}
	if cs.svc == "ftp-data" {
		k.port = 0
	}
	t.service(k, cs.RespH, cs.OrigH, total.Bytes)
	if t.opts.Flows {
		t.flow(flowKey{cs.OrigH, cs.RespH, "tcp", k.port, cs.svc}, cs.TS, cs.LastTS, total)
	}
}

func (t *tables) service(k svcKey, server, client netip.Addr, bytes uint64) {
	a := t.svc[k]
	if a == nil {
		hint := detect.PortHint(k.port)
		if k.svc == "ftp-data" || k.proto != "tcp" && k.port == 0 {
			hint = ""
		}
		a = &svcAcc{row: ServiceRow{Proto: k.proto, Port: k.port, Service: k.svc, PortHint: hint,
			Mismatch: k.svc != "" && k.svc != "ftp-data" && k.svc != hint},
			servers: map[netip.Addr]struct{}{}, clients: map[netip.Addr]struct{}{}}
		t.svc[k] = a
	}
	a.row.Conns++
	a.row.Bytes += bytes
	if len(a.servers) < maxDistinct {
		a.servers[server] = struct{}{}
	}
	if len(a.clients) < maxDistinct {
		a.clients[client] = struct{}{}
	}
}

func (t *tables) flow(k flowKey, first, last manifest.TS, c Count) {
	fl := t.flows[k]
	if fl == nil {
		fl = &BaseFlow{Client: k.client, Server: k.server, Proto: k.proto, Port: k.port, Service: k.service, First: first, Last: last}
		t.flows[k] = fl
	}
	fl.Conns++
	fl.Packets += c.Packets
	fl.Bytes += c.Bytes
	if first.Before(fl.First.Time) {
		fl.First = first
	}
	if last.After(fl.Last.Time) {
		fl.Last = last
	}
}

// class adds a connection's encryption class.
func (t *tables) class(cs *connInfo, class, how string, frames [2]Count) {
	t.addClass(cs.svc, class, how, frames[0].Bytes+frames[1].Bytes)
	if t.opts.Connections {
		t.conns = append(t.conns, ConnClass{UID: cs.UID, Orig: addrPort(cs.OrigH, cs.OrigP), Resp: addrPort(cs.RespH, cs.RespP),
			Service: cs.svc, Class: class, How: how})
	}
}

func (t *tables) classDeferred(d deferredConn, class, how string) {
	t.addClass(detect.FTP, class, how, d.frames[0].Bytes+d.frames[1].Bytes)
	if t.opts.Connections {
		t.conns = append(t.conns, ConnClass{UID: d.uid, Orig: d.orig, Resp: d.resp, Service: detect.FTP, Class: class, How: how})
	}
}

func (t *tables) addClass(svc, class, how string, bytes uint64) {
	t.enc.Classes[class]++
	hk := how
	if class == ClassEncrypted && strings.HasPrefix(how, "TLS ") && !strings.Contains(how, "after") {
		hk = "TLS" // versions are in the TLS servers table
	}
	k := encKey{svc, class, hk}
	j, ok := t.encIdx[k]
	if !ok {
		j = len(t.enc.ByService)
		t.encIdx[k] = j
		t.enc.ByService = append(t.enc.ByService, EncRow{Service: svc, Class: class, How: hk})
	}
	t.enc.ByService[j].Conns++
	t.enc.ByService[j].Bytes += bytes
}

// classify says whether a connection is encrypted, plaintext, neither
// recognisably, or empty, and how that was told.
func classify(cs *connInfo, isTLS bool, tlsVersion, switched string) (class, how string) {
	svc := cs.svc
	switch {
	case isTLS || svc == detect.TLS:
		if tlsVersion != "" {
			return ClassEncrypted, "TLS " + tlsVersion
		}
		return ClassEncrypted, "TLS"
	case svc == detect.SSH:
		return ClassEncrypted, "SSH"
	case switched != "":
		return ClassEncrypted, "TLS after " + switched
	case svc == "ftp-data":
		return ClassPlaintext, "FTP data channel of a plaintext session"
	case plaintextServices[svc] || svc == detect.DNS:
		return ClassPlaintext, svc
	case cs.OrigBytes == 0 && cs.RespBytes == 0:
		return ClassNoData, "no payload"
	case cs.text:
		return ClassPlaintext, "unrecognised text"
	}
	return ClassUnknown, "unrecognised binary"
}

// tls adds a TLS handshake to the TLS servers table.
func (t *tables) tls(r *tls.Record) {
	k := r.Server()
	s := t.tlsSrv[k]
	if s == nil {
		s = &tlsAcc{row: TLSServer{Server: k}, names: newFirstSeen(20), versions: newFirstSeen(10),
			ciphers: newFirstSeen(10), subjects: newFirstSeen(10)}
		t.tlsSrv[k] = s
	}
	s.row.Conns++
	if r.Established {
		s.row.Established++
	}
	s.names.add(r.ServerName, r.TS.Time, r.UID)
	s.versions.add(r.Version, r.TS.Time, r.UID)
	s.ciphers.add(r.Cipher, r.TS.Time, r.UID)
	s.subjects.add(r.Subject, r.TS.Time, r.UID)
	s.row.SelfSigned = s.row.SelfSigned || r.SelfSigned
}

// server is the table row.
func (s *tlsAcc) server() TLSServer {
	row := s.row
	row.ServerNames, row.Versions, row.Ciphers, row.Subjects = s.names.list(), s.versions.list(), s.ciphers.list(), s.subjects.list()
	return row
}

// firstSeen keeps up to max distinct values: those seen first, by capture
// time, then connection, then value. Which values it keeps and their order
// do not depend on the order they are added in: each value's key (its
// earliest sighting) only goes down, so a value left out, whose key was
// larger than those of the max values kept, can never come back in.
type firstSeen struct {
	max  int
	vals []sighting
}

type sighting struct {
	v   string
	ts  time.Time
	uid string
}

func (a *sighting) compare(b *sighting) int {
	return cmp.Or(a.ts.Compare(b.ts), compareUID(a.uid, b.uid), strings.Compare(a.v, b.v))
}

func newFirstSeen(max int) *firstSeen { return &firstSeen{max: max} }

// add records a sighting of v ("" is not a value).
func (f *firstSeen) add(v string, ts time.Time, uid string) {
	if v == "" {
		return
	}
	s := sighting{v, ts, uid}
	worst := -1
	for i := range f.vals {
		if f.vals[i].v == v {
			if s.compare(&f.vals[i]) < 0 {
				f.vals[i] = s
			}
			return
		}
		if worst < 0 || f.vals[i].compare(&f.vals[worst]) > 0 {
			worst = i
		}
	}
	switch {
	case len(f.vals) < f.max:
		f.vals = append(f.vals, s)
	case s.compare(&f.vals[worst]) < 0:
		f.vals[worst] = s
	}
}

// list returns the values, first seen first (nil when none).
func (f *firstSeen) list() []string {
	if len(f.vals) == 0 {
		return nil
	}
	slices.SortFunc(f.vals, func(a, b sighting) int { return a.compare(&b) })
	out := make([]string, len(f.vals))
	for i := range f.vals {
		out[i] = f.vals[i].v
	}
	return out
}

func sortConvs(rows []ConvRow) {
	slices.SortFunc(rows, func(a, b ConvRow) int {
		if c := cmp.Compare(b.Total.Bytes, a.Total.Bytes); c != 0 {
			return c
		}
		if c := a.Start.Compare(b.Start.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if c := a.A.Compare(b.A); c != 0 {
			return c
		}
		if c := a.B.Compare(b.B); c != 0 {
			return c
		}
		return compareUID(a.UID, b.UID) // the same connection's port reused
	})
}
