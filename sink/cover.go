package sink

import (
	"sort"

	"github.com/streamx/streamx/manifest"
)

// span is the half-open byte range [lo, hi).
type span struct{ lo, hi int64 }

// coverage is the set of byte ranges written, as sorted, disjoint,
// non-adjacent spans. Appending at the end of the last span is O(1), so
// sequential writes keep it at one span.
type coverage struct {
	spans []span
}

// add marks [lo, hi) as written.
func (c *coverage) add(lo, hi int64) {
	if lo >= hi {
		return
	}
	n := len(c.spans)
	if n == 0 || lo > c.spans[n-1].hi {
		c.spans = append(c.spans, span{lo, hi})
		return
	}
	if lo >= c.spans[n-1].lo { // overlaps or touches the last span
		c.spans[n-1].hi = max(c.spans[n-1].hi, hi)
		return
	}
	// General case: i is the first span that ends at or after lo, j the
	// first span that starts after hi; spans[i:j] merge with [lo, hi).
	i := sort.Search(n, func(k int) bool { return c.spans[k].hi >= lo })
	j := sort.Search(n, func(k int) bool { return c.spans[k].lo > hi })
	if i == j {
		c.spans = append(c.spans, span{})
		copy(c.spans[i+1:], c.spans[i:])
		c.spans[i] = span{lo, hi}
		return
	}
	merged := span{min(lo, c.spans[i].lo), max(hi, c.spans[j-1].hi)}
	c.spans[i] = merged
	c.spans = append(c.spans[:i+1], c.spans[j:]...)
}

// total is the number of bytes covered.
func (c *coverage) total() int64 {
	var t int64
	for _, s := range c.spans {
		t += s.hi - s.lo
	}
	return t
}

// prefix is the length of the covered run starting at offset 0.
func (c *coverage) prefix() int64 {
	if len(c.spans) == 0 || c.spans[0].lo != 0 {
		return 0
	}
	return c.spans[0].hi
}

// holes lists the ranges of [0, size) not covered.
func (c *coverage) holes(size int64) []manifest.Hole {
	var hs []manifest.Hole
	var at int64
	for _, s := range c.spans {
		if s.lo >= size {
			break
		}
		if s.lo > at {
			hs = append(hs, manifest.Hole{Offset: at, Length: s.lo - at})
		}
		at = s.hi
	}
	if at < size {
		hs = append(hs, manifest.Hole{Offset: at, Length: size - at})
	}
	return hs
}
