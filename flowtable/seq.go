package flowtable

// seqTrack classifies the segments of one direction as new, retransmitted,
// out-of-order (filling a hole) or overlapping, in sequence space relative
// to the first byte seen, wrap-around safe. It remembers a few holes only:
// a direction with more holes than that stops telling out-of-order from
// retransmission for the oldest ones, but its memory stays fixed.
type seqTrack struct {
	base    uint32 // sequence number of relative offset 0
	hi      int64  // relative end of the highest byte seen
	started bool
	holes   [4]span
	nholes  uint8
}

type span struct{ lo, hi int64 }

type segKind uint8

const (
	segNew segKind = iota
	segRetrans
	segOutOfOrder
	segOverlap
)

func (s *seqTrack) start(seq uint32) {
	s.base, s.hi, s.started = seq, 0, true
}

// segment accounts a segment carrying n bytes from seq.
func (s *seqTrack) segment(seq, n uint32) segKind {
	if !s.started {
		s.start(seq)
	}
	// position relative to hi, wrap-safe: within ±2 GiB of the highest byte
	cur := s.base + uint32(s.hi)
	start := s.hi + int64(int32(seq-cur))
	end := start + int64(n)
	switch {
	case start == s.hi:
		s.hi = end
		return segNew
	case start > s.hi:
		s.addHole(s.hi, start)
		s.hi = end
		return segNew
	case end <= s.hi:
		if s.fill(start, end) {
			return segOutOfOrder
		}
		return segRetrans
	default: // start < hi < end
		filled := s.fill(start, s.hi)
		s.hi = end
		if filled {
			return segOutOfOrder
		}
		return segOverlap
	}
}

func (s *seqTrack) addHole(lo, hi int64) {
	if int(s.nholes) == len(s.holes) {
		copy(s.holes[:], s.holes[1:])
		s.nholes--
	}
	s.holes[s.nholes] = span{lo, hi}
	s.nholes++
}

// fill removes [lo,hi) from the holes and reports whether it covered any.
func (s *seqTrack) fill(lo, hi int64) bool {
	hit := false
	for i := 0; i < int(s.nholes); i++ {
		h := s.holes[i]
		if hi <= h.lo || lo >= h.hi {
			continue
		}
		hit = true
		switch {
		case lo <= h.lo && hi >= h.hi: // whole hole filled
			copy(s.holes[i:], s.holes[i+1:s.nholes])
			s.nholes--
			i--
		case lo <= h.lo:
			s.holes[i].lo = hi
		case hi >= h.hi:
			s.holes[i].hi = lo
		default: // split
			s.holes[i].hi = lo
			if int(s.nholes) < len(s.holes) {
				copy(s.holes[i+2:], s.holes[i+1:s.nholes])
				s.holes[i+1] = span{hi, h.hi}
				s.nholes++
				i++
			}
		}
	}
	return hit
}
