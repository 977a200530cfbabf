package analysis

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// connStates are the conn_state values a connAttempt can hold, by index.
var connStates = []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

func stateIndex(s string) uint8 {
	for i, x := range connStates {
		if x == s {
			return uint8(i)
		}
	}
	return uint8(len(connStates) - 1) // OTH
}

// Flags of a connAttempt.
const (
	attFailed    = 1 << iota // failedAttempt
	attNoAnswer              // noAnswer
	attSynAck                // the responder sent a SYN-ACK
	attOrigAcked             // the originator sent an ACK or data
)

// connAttempt is what is kept of a failed connection attempt (refused,
// unanswered, reset before any data): scans are told once all of them are
// in. Compact on purpose: a SYN flood makes millions.
type connAttempt struct {
	idx        uint64 // the connection's index: its uid is "C" + idx, zero-padded
	ts, last   int64  // first and last packet, Unix nanoseconds
	orig, resp [16]byte
	oport      uint16
	rport      uint16
	origPkts   uint32
	v4         bool
	state      uint8
	flags      uint8
	nhist      uint8
	hist       [8]byte
}

func compactAttempt(cs *connInfo, idx uint64) connAttempt {
	a := connAttempt{idx: idx, ts: cs.TS.UnixNano(), last: cs.LastTS.UnixNano(), orig: cs.OrigH.As16(), resp: cs.RespH.As16(),
		oport: cs.OrigP, rport: cs.RespP, origPkts: uint32(min(cs.OrigPkts, 1<<32-1)), v4: cs.OrigH.Is4(),
		state: stateIndex(cs.ConnState)}
	if failedAttempt(cs) {
		a.flags |= attFailed
	}
	if noAnswer(cs) {
		a.flags |= attNoAnswer
	}
	if cs.synAck {
		a.flags |= attSynAck
	}
	if cs.origAcked {
		a.flags |= attOrigAcked
	}
	a.nhist = uint8(copy(a.hist[:], cs.History))
	return a
}

func (a *connAttempt) uid() string          { return fmt.Sprintf("C%06d", a.idx) }
func (a *connAttempt) first() time.Time     { return time.Unix(0, a.ts).UTC() }
func (a *connAttempt) lastTime() time.Time  { return time.Unix(0, a.last).UTC() }
func (a *connAttempt) connState() string    { return connStates[a.state] }
func (a *connAttempt) history() string      { return string(a.hist[:a.nhist]) }
func (a *connAttempt) origAddr() netip.Addr { return unpack(a.orig, a.v4) }
func (a *connAttempt) respAddr() netip.Addr { return unpack(a.resp, a.v4) }

func unpack(b [16]byte, v4 bool) netip.Addr {
	a := netip.AddrFrom16(b)
	if v4 {
		return a.Unmap()
	}
	return a
}

// attemptList stores attempts in fixed-size chunks: it grows without
// copying what it holds.
type attemptList struct {
	chunks [][]connAttempt
	n      int
}

const attemptChunk = 4096

func (l *attemptList) add(a connAttempt) {
	if l.n%attemptChunk == 0 {
		l.chunks = append(l.chunks, make([]connAttempt, 0, attemptChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, a)
	l.n++
}

// sorted returns every attempt by time, then connection: not in the order
// they were added, which depends on how the connections were spread over
// workers.
func (l *attemptList) sorted() []*connAttempt {
	out := make([]*connAttempt, 0, l.n)
	for _, ch := range l.chunks {
		for i := range ch {
			out = append(out, &ch[i])
		}
	}
	slices.SortFunc(out, func(a, b *connAttempt) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.idx, b.idx)) })
	return out
}
