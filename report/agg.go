package report

import (
	"strconv"
)

// aggregate is what the summary, the charts and the hosts and services
// tables need, totalled in one pass over flows.jsonl, in bounded memory.
type aggregate struct {
	n              int
	ob, rb, missed int64
	services       map[string]int64 // connections per service ("" none)
	states         map[string]int64 // per conn_state
	points         []point          // per connection, for the time chart
	hosts          map[string]*hostAgg
	hostsPruned    bool // hosts beyond maxHosts were dropped (the smallest first)
	svc            map[svcKey]*svcAgg
}

type point struct {
	ts, last int64 // µs since the epoch
	ob, rb   int64
}

type hostAgg struct {
	asOrig, asResp, sent, recv int64
	svc                        map[string]bool
}

type svcKey struct {
	svc  string
	port int
}

type svcAgg struct {
	conns, bytes     int64
	servers, clients map[string]bool // bounded by maxDistinct
}

const (
	maxHosts    = 1 << 16
	maxDistinct = 10000
)

func newAggregate() *aggregate {
	return &aggregate{services: map[string]int64{}, states: map[string]int64{}, hosts: map[string]*hostAgg{}, svc: map[svcKey]*svcAgg{}}
}

func (a *aggregate) host(h string) *hostAgg {
	x := a.hosts[h]
	if x == nil {
		if len(a.hosts) >= maxHosts {
			a.prune()
		}
		x = &hostAgg{}
		a.hosts[h] = x
	}
	return x
}

// prune drops the half of the hosts with the least traffic (then fewest
// connections), so the table of the busiest hosts stays right for hosts
// that matter and memory stays bounded on scans and floods.
func (a *aggregate) prune() {
	l := make([]kv, 0, len(a.hosts))
	for h, x := range a.hosts {
		l = append(l, kv{h, (x.sent+x.recv)*1024 + min(x.asOrig+x.asResp, 1023)})
	}
	sortKV(l)
	for _, e := range l[len(l)/2:] {
		delete(a.hosts, e.K)
	}
	a.hostsPruned = true
}

func (a *aggregate) add(f *Flow) {
	a.n++
	a.ob += f.OrigBytes
	a.rb += f.RespBytes
	a.missed += f.MissedBytes
	a.services[f.Service]++
	a.states[f.ConnState]++
	a.points = append(a.points, point{f.TS.UnixMicro(), f.LastTS.UnixMicro(), f.OrigBytes, f.RespBytes})
	o := a.host(f.OrigH)
	o.asOrig++
	o.sent += f.OrigBytes
	o.recv += f.RespBytes
	r := a.host(f.RespH)
	r.asResp++
	r.sent += f.RespBytes
	r.recv += f.OrigBytes
	s := f.Service
	if s == "" {
		s = "unknown"
	}
	if r.svc == nil {
		r.svc = map[string]bool{}
	}
	if len(r.svc) < 64 {
		r.svc[s+"/"+strconv.Itoa(f.RespP)] = true
	}
	k := svcKey{s, f.RespP}
	x := a.svc[k]
	if x == nil {
		x = &svcAgg{servers: map[string]bool{}, clients: map[string]bool{}}
		a.svc[k] = x
	}
	x.conns++
	x.bytes += f.OrigBytes + f.RespBytes
	if len(x.servers) < maxDistinct {
		x.servers[f.RespH] = true
	}
	if len(x.clients) < maxDistinct {
		x.clients[f.OrigH] = true
	}
}
