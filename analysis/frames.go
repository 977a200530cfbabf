package analysis

import (
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/streamx/streamx/decode"
	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/flowtable"
)

// frames counts the frames (packets and bytes on the wire) of TCP
// connections, per flow-table key, until the connection they belong to is
// finished and takes them (take).
//
// Packet adds every TCP frame from the reading goroutine; the connections
// are finished by the flow tables of the workers, later and in any order
// between keys, but in order on one key (a key's connections all live in
// one flow table, one after the other). By the time a connection is
// finished, the reader has counted all its frames, and maybe already some
// of the next connection on the same key. A connection owns the first
// frames of its key that no earlier connection took: as many, in each
// direction, as the flow table counted for it. Where the next connection's
// frames begin is only known exactly at a frame where a new connection can
// begin, so packet remembers the running totals before every such frame
// (a cut):
//   - a SYN without ACK (port reuse: the flow table finishes the old
//     connection on it);
//   - any frame after FINs both ways or a RST on the key (a closed or reset
//     connection is finished once quiet for the linger time, then whatever
//     comes next starts a new one);
//   - a frame coming at least quietCut after the key's previous one, by
//     the latest TCP timestamp read (an idle connection is finished after
//     the idle timeout, which is longer);
//   - the key's latest frame (the engine without workers finishes a
//     connection while it accounts the first frame of the next one).
//
// A connection evicted from a full flow table can be followed by a new one
// on its key at any frame; if the reader had already gone past that frame
// when the connection is finished, its share is told from its packet
// counts, and its bytes are estimated from the average frame size there.
type frames struct {
	mu           sync.Mutex
	tcp          map[tcpKey]*tcpAcc
	latest       time.Time // the latest TCP timestamp read
	unattributed uint64    // packets a finished connection counted but no frame was read for
}

// quietCut: a frame this long after its key's previous frame may start a
// new connection (the flow table's idle timeout is longer: 10 minutes by
// default).
const quietCut = time.Second

// tcpAcc is the frames of one key, in the key's orientation (index 0:
// from a to b).
type tcpAcc struct {
	total [2]Count   // every frame counted on the key
	taken [2]Count   // the part finished connections took
	cuts  [][2]Count // totals before frames where a connection may begin, after taken
	// the key's latest frame
	lastDir   uint8
	lastBytes uint32
	lastTS    time.Time
	// closing: FINs seen each way (bits 0 and 1, by the key's
	// orientation) and RST (bit 2), since the last SYN
	closing uint8
}

func (a *tcpAcc) pending() bool { return a.total != a.taken }

// packet counts one TCP frame.
func (f *frames) packet(p *decode.Packet) {
	k, dir := tcpKeyOf(p)
	syn := p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN
	f.mu.Lock()
	if p.TS.After(f.latest) {
		f.latest = p.TS
	}
	a := f.tcp[k]
	if a == nil {
		a = &tcpAcc{}
		f.tcp[k] = a
	} else if a.pending() && (syn || a.closing == 3 || a.closing&4 != 0 || f.latest.Sub(a.lastTS) >= quietCut) {
		a.cuts = append(a.cuts, a.total)
	}
	switch {
	case syn:
		a.closing = 0
	case p.Flags&decode.FlagRST != 0:
		a.closing |= 4
	case p.Flags&decode.FlagFIN != 0:
		a.closing |= 1 << dir
	}
	a.total[dir].add(p.Len)
	a.lastDir, a.lastBytes, a.lastTS = uint8(dir), uint32(p.Len), p.TS
	f.mu.Unlock()
}

// keyShare is where a finished connection's frames may be on one key.
type keyShare struct {
	k    tcpKey
	a    *tcpAcc
	flip int // 1 when the key's orientation is the connection's reversed
	// candidate ends of the connection's frames on this key, in order:
	// totals (key orientation) from taken to total
	ends [][2]Count
}

// pendingAt is what the connection would take from the key up to end,
// originator to responder first.
func (ks *keyShare) pendingAt(end [2]Count) [2]Count {
	var out [2]Count
	for d := range 2 {
		out[d^ks.flip] = Count{end[d].Packets - ks.a.taken[d].Packets, end[d].Bytes - ks.a.taken[d].Bytes}
	}
	return out
}

// take returns the frames of the finished connection s, originator to
// responder first, and forgets them.
func (f *frames) take(s *engine.Session) [2]Count {
	c := s.Conn
	want := [2]uint64{c.Dirs[0].Packets, c.Dirs[1].Packets}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := []tcpKey{flowtable.KeyFor(c.Orig, c.Resp, c.VLAN)}
	if c.RespVLAN != 0 && c.RespVLAN != c.VLAN {
		keys = append(keys, flowtable.KeyFor(c.Orig, c.Resp, c.RespVLAN))
	}
	shares := f.shares(c.Orig, keys)
	// The flow table joins untagged packets to a tagged connection (one
	// direction tagged, the other not): its RespVLAN is then 0, which also
	// means "same VLAN"; the untagged key may be the other half.
	var untagged []keyShare
	if c.VLAN != 0 && c.RespVLAN == 0 {
		untagged = f.shares(c.Orig, []tcpKey{flowtable.KeyFor(c.Orig, c.Resp, 0)})
	}
	if ends := exactEnds(shares, want); ends != nil {
		return f.takeAt(shares, ends)
	}
	if len(untagged) > 0 {
		all := slices.Concat(shares, untagged)
		if ends := exactEnds(all, want); ends != nil {
			return f.takeAt(all, ends)
		}
	}
	// No frame where the connection can have ended matches its packet
	// counts.
	var got [2]uint64
	for i := range shares {
		p := shares[i].pendingAt(shares[i].a.total)
		got[0] += p[0].Packets
		got[1] += p[1].Packets
	}
	if got[0]+got[1] < want[0]+want[1] && len(untagged) > 0 {
		shares = slices.Concat(shares, untagged)
		p := untagged[0].pendingAt(untagged[0].a.total)
		got[0] += p[0].Packets
		got[1] += p[1].Packets
	}
	if got[0] <= want[0] && got[1] <= want[1] {
		// fewer frames than the connection counted: all of them
		ends := make([][2]Count, len(shares))
		for i := range shares {
			ends[i] = shares[i].a.total
		}
		f.unattributed += want[0] + want[1] - got[0] - got[1]
		return f.takeAt(shares, ends)
	}
	return f.takeEstimated(shares, want)
}

// shares returns the keys that hold frames not taken yet, with their
// candidate ends.
func (f *frames) shares(orig netip.AddrPort, keys []tcpKey) []keyShare {
	var out []keyShare
	for _, k := range keys {
		a := f.tcp[k]
		if a == nil || !a.pending() {
			continue
		}
		ks := keyShare{k: k, a: a}
		if k.A != orig {
			ks.flip = 1
		}
		// After an estimated share (takeEstimated) taken need not be a
		// place in the key's sequence of frames: only the ends past it in
		// both directions are.
		ks.ends = append(ks.ends, a.taken)
		for _, e := range a.cuts {
			if covers(e, a.taken) && e != ks.ends[len(ks.ends)-1] {
				ks.ends = append(ks.ends, e)
			}
		}
		beforeLast := a.total
		beforeLast[a.lastDir].Packets--
		beforeLast[a.lastDir].Bytes -= uint64(a.lastBytes)
		if covers(beforeLast, a.taken) && beforeLast != ks.ends[len(ks.ends)-1] {
			ks.ends = append(ks.ends, beforeLast)
		}
		ks.ends = append(ks.ends, a.total)
		out = append(out, ks)
	}
	return out
}

// exactEnds finds an end on every key such that the frames up to them are
// want packets in each direction, or returns nil. The ends of a key are in
// order, so its counts only grow: the search stops at the first end past
// want. Earlier ends are tried first.
func exactEnds(shares []keyShare, want [2]uint64) [][2]Count {
	if len(shares) == 0 {
		return nil
	}
	ends := make([][2]Count, len(shares))
	budget := 1 << 16 // combinations tried, at most
	var try func(i int, left [2]uint64) bool
	try = func(i int, left [2]uint64) bool {
		ks := &shares[i]
		for _, e := range ks.ends {
			if budget--; budget < 0 {
				return false
			}
			p := ks.pendingAt(e)
			if p[0].Packets > left[0] || p[1].Packets > left[1] {
				return false // so are the later ends
			}
			rest := [2]uint64{left[0] - p[0].Packets, left[1] - p[1].Packets}
			ends[i] = e
			if i == len(shares)-1 {
				if rest == [2]uint64{} {
					return true
				}
				continue
			}
			if try(i+1, rest) {
				return true
			}
		}
		return false
	}
	if try(0, want) {
		return ends
	}
	return nil
}

// takeAt hands over the frames of every key up to its end.
func (f *frames) takeAt(shares []keyShare, ends [][2]Count) [2]Count {
	var out [2]Count
	for i := range shares {
		ks := &shares[i]
		p := ks.pendingAt(ends[i])
		for d := range 2 {
			out[d].Packets += p[d].Packets
			out[d].Bytes += p[d].Bytes
		}
		f.advance(ks, ends[i])
	}
	return out
}

// advance marks the key's frames up to end taken.
func (f *frames) advance(ks *keyShare, end [2]Count) {
	a := ks.a
	a.taken = end
	n := end[0].Packets + end[1].Packets
	i := 0
	for i < len(a.cuts) && a.cuts[i][0].Packets+a.cuts[i][1].Packets <= n {
		i++
	}
	a.cuts = a.cuts[i:]
	if len(a.cuts) == 0 {
		a.cuts = nil
	}
	if !a.pending() {
		delete(f.tcp, ks.k)
	}
}

// takeEstimated hands over want packets when no end matches: on each key,
// the frames up to the last end within what is still wanted, then from the
// frames after it as many packets as are still wanted, at their average
// size.
func (f *frames) takeEstimated(shares []keyShare, want [2]uint64) [2]Count {
	var out [2]Count
	left := want
	for i := range shares {
		ks := &shares[i]
		end := ks.a.taken
		next := ks.a.total
		for j, e := range ks.ends {
			p := ks.pendingAt(e)
			if p[0].Packets > left[0] || p[1].Packets > left[1] {
				next = e
				break
			}
			end = e
			if j == len(ks.ends)-1 {
				next = e
			}
		}
		p := ks.pendingAt(end)
		for d := range 2 {
			left[d] -= p[d].Packets
			out[d].Packets += p[d].Packets
			out[d].Bytes += p[d].Bytes
		}
		// part of the segment from end to next, in the key's orientation
		for kd := range 2 {
			d := kd ^ ks.flip
			segP := next[kd].Packets - end[kd].Packets
			segB := next[kd].Bytes - end[kd].Bytes
			n := min(left[d], segP)
			if n == 0 {
				continue
			}
			hi, lo := bits.Mul64(segB, n)
			b, _ := bits.Div64(hi, lo, segP) // n <= segP: it fits
			end[kd].Packets += n
			end[kd].Bytes += b
			left[d] -= n
			out[d].Packets += n
			out[d].Bytes += b
		}
		f.advance(ks, end)
	}
	f.unattributed += left[0] + left[1]
	return out
}

// pendingFrames is the frames no finished connection took.
func (f *frames) pendingFrames() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.unattributed
	for _, a := range f.tcp {
		n += a.total[0].Packets + a.total[1].Packets - a.taken[0].Packets - a.taken[1].Packets
	}
	return n
}

// covers reports whether a is at or past b in both directions.
func covers(a, b [2]Count) bool {
	return a[0].Packets >= b[0].Packets && a[1].Packets >= b[1].Packets && a[0].Bytes >= b[0].Bytes && a[1].Bytes >= b[1].Bytes
}
