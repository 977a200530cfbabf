package analysis

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/manifest"
)

// BaselineVersion is the format version of base.json.
const BaselineVersion = 1

// Baseline records what a capture of normal traffic shows: who talks to
// whom, on which transport, server port and service, how often and how
// much, over which time span. `streamx baseline build` writes it; `diff`
// compares another capture with it.
type Baseline struct {
	Version int         `json:"version"`
	Inputs  []string    `json:"inputs"`
	First   manifest.TS `json:"first_ts"`
	Last    manifest.TS `json:"last_ts"`
	// Protocols are the transports (tcp, udp, icmp, ip-proto-N) and the
	// services told by content (http, tls, ssh...), with their traffic.
	Protocols []BaseProto `json:"protocols"`
	// Flows are the traffic per client, server, transport, server port and
	// service: one entry per distinct combination.
	Flows []BaseFlow `json:"flows"`
}

// BaseProto is one protocol's traffic.
type BaseProto struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // "transport" or "service"
	Conns   int    `json:"conns"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// BaseFlow is the traffic of one client to one server on one port and
// service. Port is 0 for FTP data channels (their ports change every time;
// Service "ftp-data") and for ICMP and other IP protocols.
type BaseFlow struct {
	Client  netip.Addr  `json:"client"`
	Server  netip.Addr  `json:"server"`
	Proto   string      `json:"proto"`
	Port    uint16      `json:"port"`
	Service string      `json:"service,omitempty"`
	Conns   int         `json:"conns"`
	Packets uint64      `json:"packets"`
	Bytes   uint64      `json:"bytes"`
	First   manifest.TS `json:"first_ts"`
	Last    manifest.TS `json:"last_ts"`
}

type flowKey struct {
	client, server netip.Addr
	proto          string
	port           uint16
	service        string
}

func (f *BaseFlow) key() flowKey {
	return flowKey{f.Client, f.Server, f.Proto, f.Port, f.Service}
}

// Baseline summarises the run as a baseline. The Collector needs Tables
// and Flows; call it after ReadLog, instead of or after Finish.
func (c *Collector) Baseline(inputs []string) *Baseline {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishFindings()
	b := &Baseline{Version: BaselineVersion, Inputs: slices.Clone(inputs),
		First: manifest.TS{Time: c.traffic.first}, Last: manifest.TS{Time: c.traffic.last}}
	if c.tables == nil {
		return b
	}
	flows := maps.Clone(c.tables.flows)
	add := func(k flowKey, first, last time.Time, pk, by uint64) {
		fl := flows[k]
		if fl == nil {
			fl = &BaseFlow{Client: k.client, Server: k.server, Proto: k.proto, Port: k.port, Service: k.service,
				First: manifest.TS{Time: first}, Last: manifest.TS{Time: last}}
			flows[k] = fl
		}
		fl.Conns++
		fl.Packets += pk
		fl.Bytes += by
		// several conversations on one flow (maps come in any order)
		if first.Before(fl.First.Time) {
			fl.First.Time = first
		}
		if last.After(fl.Last.Time) {
			fl.Last.Time = last
		}
	}
	for _, u := range c.traffic.udp {
		add(flowKey{u.orig.Addr(), u.resp.Addr(), "udp", u.resp.Port(), ""}, u.first, u.last,
			u.dir[0].Packets+u.dir[1].Packets, u.dir[0].Bytes+u.dir[1].Bytes)
	}
	for _, a := range c.traffic.ip {
		add(flowKey{a.orig, a.resp, a.proto, 0, ""}, a.first, a.last, a.dir[0].Packets+a.dir[1].Packets, a.dir[0].Bytes+a.dir[1].Bytes)
	}
	protos := map[string]*BaseProto{}
	for _, fl := range flows {
		b.Flows = append(b.Flows, *fl)
		for _, p := range []struct{ name, kind string }{{fl.Proto, "transport"}, {fl.Service, "service"}} {
			if p.name == "" {
				continue
			}
			bp := protos[p.kind+"|"+p.name]
			if bp == nil {
				bp = &BaseProto{Name: p.name, Kind: p.kind}
				protos[p.kind+"|"+p.name] = bp
			}
			bp.Conns += fl.Conns
			bp.Packets += fl.Packets
			bp.Bytes += fl.Bytes
		}
	}
	slices.SortFunc(b.Flows, func(x, y BaseFlow) int { return compareFlowKey(x.key(), y.key()) })
	for _, p := range protos {
		b.Protocols = append(b.Protocols, *p)
	}
	slices.SortFunc(b.Protocols, func(x, y BaseProto) int {
		if c := cmp.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return cmp.Compare(x.Name, y.Name)
	})
	return b
}

func compareFlowKey(a, b flowKey) int {
	if c := a.client.Compare(b.client); c != 0 {
		return c
	}
	if c := a.server.Compare(b.server); c != 0 {
		return c
	}
	if c := cmp.Compare(a.proto, b.proto); c != 0 {
		return c
	}
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	return cmp.Compare(a.service, b.service)
}

// ReadBaseline reads a base.json.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("not a streamx baseline: %w", err)
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("baseline format version %d; this streamx reads version %d", b.Version, BaselineVersion)
	}
	return &b, nil
}

// GrowthThresholds decide when traffic "grew far beyond its usual volume".
// The usual volume is the baseline's, scaled to the current capture's
// duration: expected = baseline × max(current span, MinSpan) / max(baseline
// span, MinSpan). So captures shorter than MinSpan compare totals, longer
// ones compare rates. A flow, host pair or service grew when its bytes are
// at least Factor times the expected and exceed it by MinBytes, or its
// connections are at least Factor times the expected and exceed it by
// MinConns.
type GrowthThresholds struct {
	Factor   float64
	MinBytes uint64
	MinConns int
	MinSpan  time.Duration
}

// DefaultGrowth: 10 times, and at least 1 MiB or 50 connections more, with
// spans counted as at least one hour.
var DefaultGrowth = GrowthThresholds{Factor: 10, MinBytes: 1 << 20, MinConns: 50, MinSpan: time.Hour}

// Change is one difference between the baseline and the current capture.
type Change struct {
	// Kind: "host_pair" (client and server), "service" (server, transport,
	// port, service), "port" (transport and server port, any server),
	// "protocol" (a transport or a content-told service).
	Kind string `json:"kind"`
	// What: "new", "gone" or "grew".
	What    string     `json:"change"`
	Client  netip.Addr `json:"client,omitzero"`
	Server  netip.Addr `json:"server,omitzero"`
	Proto   string     `json:"proto,omitempty"`
	Port    uint16     `json:"port,omitempty"`
	Service string     `json:"service,omitempty"`
	// Now: the current capture's traffic (zero for "gone"); Base: the
	// baseline's (zero for "new"); Expected: the baseline's scaled to the
	// current span ("grew" only).
	Conns         int         `json:"conns"`
	Bytes         uint64      `json:"bytes"`
	BaseConns     int         `json:"base_conns"`
	BaseBytes     uint64      `json:"base_bytes"`
	ExpectedConns float64     `json:"expected_conns,omitempty"`
	ExpectedBytes float64     `json:"expected_bytes,omitempty"`
	First         manifest.TS `json:"first_ts,omitzero"`
	Msg           string      `json:"msg"`
}

// Diff is what `streamx baseline diff` reports.
type Diff struct {
	BaseFirst manifest.TS      `json:"base_first_ts"`
	BaseLast  manifest.TS      `json:"base_last_ts"`
	First     manifest.TS      `json:"first_ts"`
	Last      manifest.TS      `json:"last_ts"`
	Scale     float64          `json:"scale"` // expected = baseline × scale
	Growth    GrowthThresholds `json:"thresholds"`
	Changes   []Change         `json:"changes"`
	Counts    map[string]int   `json:"counts"` // by "kind change"
}

type agg struct {
	conns int
	bytes uint64
	first time.Time
}

func (a *agg) add(f *BaseFlow) {
	if a.conns == 0 || f.First.Before(a.first) {
		a.first = f.First.Time
	}
	a.conns += f.Conns
	a.bytes += f.Bytes
}

// Compare lists what is new in cur, what is gone from it, and what grew
// far beyond its usual volume, by host pair, service, port and protocol.
func Compare(base, cur *Baseline, g GrowthThresholds) *Diff {
	if g.Factor <= 0 {
		g.Factor = DefaultGrowth.Factor
	}
	if g.MinSpan <= 0 {
		g.MinSpan = DefaultGrowth.MinSpan
	}
	span := func(b *Baseline) time.Duration { return max(b.Last.Sub(b.First.Time), g.MinSpan) }
	d := &Diff{BaseFirst: base.First, BaseLast: base.Last, First: cur.First, Last: cur.Last, Growth: g,
		Scale: float64(span(cur)) / float64(span(base)), Counts: map[string]int{}}

	type view struct {
		kind string
		key  func(f *BaseFlow) (string, Change)
		grow bool
	}
	views := []view{
		{"host_pair", func(f *BaseFlow) (string, Change) {
			return f.Client.String() + " " + f.Server.String(), Change{Client: f.Client, Server: f.Server}
		}, true},
		{"service", func(f *BaseFlow) (string, Change) {
			return fmt.Sprintf("%s %s %d %s", f.Server, f.Proto, f.Port, f.Service),
				Change{Server: f.Server, Proto: f.Proto, Port: f.Port, Service: f.Service}
		}, true},
		{"port", func(f *BaseFlow) (string, Change) {
			if f.Port == 0 {
				return "", Change{}
			}
			return fmt.Sprintf("%s %d", f.Proto, f.Port), Change{Proto: f.Proto, Port: f.Port}
		}, false},
	}
	for _, v := range views {
		bm, cm := map[string]*agg{}, map[string]*agg{}
		tmpl := map[string]Change{}
		for _, side := range []struct {
			flows []BaseFlow
			m     map[string]*agg
		}{{base.Flows, bm}, {cur.Flows, cm}} {
			for i := range side.flows {
				fl := &side.flows[i]
				k, ch := v.key(fl)
				if k == "" {
					continue
				}
				a := side.m[k]
				if a == nil {
					a = &agg{}
					side.m[k] = a
				}
				a.add(fl)
				if _, ok := tmpl[k]; !ok {
					tmpl[k] = ch
				}
			}
		}
		for k, a := range cm {
			ch := tmpl[k]
			ch.Kind, ch.Conns, ch.Bytes, ch.First = v.kind, a.conns, a.bytes, manifest.TS{Time: a.first}
			b, ok := bm[k]
			switch {
			case !ok:
				ch.What = "new"
				d.add(ch)
			case v.grow:
				ch.BaseConns, ch.BaseBytes = b.conns, b.bytes
				ch.ExpectedConns = round2(float64(b.conns) * d.Scale)
				ch.ExpectedBytes = round2(float64(b.bytes) * d.Scale)
				byteGrew := float64(a.bytes) >= g.Factor*ch.ExpectedBytes && float64(a.bytes)-ch.ExpectedBytes >= float64(g.MinBytes)
				connGrew := float64(a.conns) >= g.Factor*ch.ExpectedConns && float64(a.conns)-ch.ExpectedConns >= float64(g.MinConns)
				if byteGrew || connGrew {
					ch.What = "grew"
					d.add(ch)
				}
			}
		}
		for k, b := range bm {
			if _, ok := cm[k]; ok {
				continue
			}
			ch := tmpl[k]
			ch.Kind, ch.What, ch.BaseConns, ch.BaseBytes = v.kind, "gone", b.conns, b.bytes
			d.add(ch)
		}
	}
	// protocols
	bp, cp := map[string]BaseProto{}, map[string]BaseProto{}
	for _, p := range base.Protocols {
		bp[p.Kind+"|"+p.Name] = p
	}
	for _, p := range cur.Protocols {
		cp[p.Kind+"|"+p.Name] = p
	}
	for k, p := range cp {
		if _, ok := bp[k]; !ok {
			d.add(Change{Kind: "protocol", What: "new", Proto: protoField(p), Service: serviceField(p), Conns: p.Conns, Bytes: p.Bytes})
		}
	}
	for k, p := range bp {
		if _, ok := cp[k]; !ok {
			d.add(Change{Kind: "protocol", What: "gone", Proto: protoField(p), Service: serviceField(p), BaseConns: p.Conns, BaseBytes: p.Bytes})
		}
	}
	order := map[string]int{"new": 0, "grew": 1, "gone": 2}
	kinds := map[string]int{"protocol": 0, "port": 1, "service": 2, "host_pair": 3}
	slices.SortFunc(d.Changes, func(a, b Change) int {
		if c := cmp.Compare(order[a.What], order[b.What]); c != 0 {
			return c
		}
		if c := cmp.Compare(kinds[a.Kind], kinds[b.Kind]); c != 0 {
			return c
		}
		return cmp.Compare(a.Msg, b.Msg)
	})
	return d
}

func protoField(p BaseProto) string {
	if p.Kind == "transport" {
		return p.Name
	}
	return ""
}

func serviceField(p BaseProto) string {
	if p.Kind == "service" {
		return p.Name
	}
	return ""
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (d *Diff) add(ch Change) {
	ch.Msg = ch.describe()
	d.Changes = append(d.Changes, ch)
	d.Counts[ch.Kind+" "+ch.What]++
}

func (ch *Change) subject() string {
	svc := ch.Service
	if svc == "" {
		svc = "unknown service"
	}
	switch ch.Kind {
	case "host_pair":
		return fmt.Sprintf("%s -> %s", ch.Client, ch.Server)
	case "service":
		if ch.Port == 0 {
			return fmt.Sprintf("%s %s on %s", ch.Proto, svc, ch.Server)
		}
		return fmt.Sprintf("%s %s on %s", ch.Proto, svc, netip.AddrPortFrom(ch.Server, ch.Port))
	case "port":
		return fmt.Sprintf("%s port %d", ch.Proto, ch.Port)
	}
	if ch.Proto != "" {
		return "transport " + ch.Proto
	}
	return "service " + ch.Service
}

func (ch *Change) describe() string {
	switch ch.What {
	case "new":
		return fmt.Sprintf("new %s: %s (%s, %d bytes)", strings.ReplaceAll(ch.Kind, "_", " "), ch.subject(), plural(ch.Conns, "connection"), ch.Bytes)
	case "gone":
		return fmt.Sprintf("gone %s: %s (baseline: %s, %d bytes)", strings.ReplaceAll(ch.Kind, "_", " "), ch.subject(), plural(ch.BaseConns, "connection"), ch.BaseBytes)
	}
	return fmt.Sprintf("%s grew: %d bytes in %s, usually %.0f bytes in %.1f connections",
		ch.subject(), ch.Bytes, plural(ch.Conns, "connection"), ch.ExpectedBytes, ch.ExpectedConns)
}

// WriteDiffText prints a diff for people.
func WriteDiffText(w io.Writer, d *Diff) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "baseline: %s to %s; this capture: %s to %s (usual volumes scaled by %.3g)\n",
		stamp(d.BaseFirst.Time), stamp(d.BaseLast.Time), stamp(d.First.Time), stamp(d.Last.Time), d.Scale)
	if len(d.Changes) == 0 {
		fmt.Fprintln(ew, "no differences")
		return ew.err
	}
	last := ""
	for _, ch := range d.Changes {
		if ch.What != last {
			fmt.Fprintln(ew)
			fmt.Fprintln(ew, strings.ToUpper(ch.What))
			last = ch.What
		}
		fmt.Fprintf(ew, "  %s\n", ch.Msg)
	}
	return ew.err
}
