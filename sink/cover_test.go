package sink

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/streamx/streamx/manifest"
)

// TestCoverageModel checks coverage against a byte map on random spans.
func TestCoverageModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 500 {
		const size = 300
		var c coverage
		var model [size]bool
		for range 1 + r.IntN(30) {
			lo := r.Int64N(size)
			hi := lo + r.Int64N(size-lo+1)
			if r.IntN(4) == 0 && len(c.spans) > 0 { // sequential append
				lo = c.spans[len(c.spans)-1].hi
				hi = min(size, lo+r.Int64N(20))
			}
			c.add(lo, hi)
			for i := lo; i < hi; i++ {
				model[i] = true
			}
		}
		var want []manifest.Hole
		var total, prefix int64
		for i := int64(0); i < size; i++ {
			if model[i] {
				total++
				if prefix == i {
					prefix++
				}
				continue
			}
			if n := len(want); n > 0 && want[n-1].Offset+want[n-1].Length == i {
				want[n-1].Length++
			} else {
				want = append(want, manifest.Hole{Offset: i, Length: 1})
			}
		}
		if got := c.holes(size); !slices.Equal(got, want) {
			t.Fatalf("round %d: holes %v, want %v (spans %v)", round, got, want, c.spans)
		}
		if c.total() != total || c.prefix() != prefix {
			t.Fatalf("round %d: total %d prefix %d, want %d %d", round, c.total(), c.prefix(), total, prefix)
		}
		for i := 1; i < len(c.spans); i++ {
			if c.spans[i-1].hi >= c.spans[i].lo {
				t.Fatalf("round %d: spans not disjoint: %v", round, c.spans)
			}
		}
	}
}
