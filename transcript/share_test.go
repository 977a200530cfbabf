package transcript

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestShareSameOutput: renderers that share one buffer, called in turns,
// write exactly what renderers with their own buffers write.
func TestShareSameOutput(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")
	for _, f := range []Format{ASCII, Hex} {
		var own, shared [3]bytes.Buffer
		var ro, rs [3]*Renderer
		var buf []byte
		for i := range ro {
			ro[i] = New(&own[i], f, false, a, b)
			rs[i] = New(&shared[i], f, false, a, b)
			rs[i].Share(&buf)
		}
		rng := rand.New(rand.NewPCG(7, uint64(f)))
		ts := time.Unix(1700000000, 0)
		var off [3][2]int64
		for step := 0; step < 3000; step++ {
			i, dir := rng.IntN(3), rng.IntN(2)
			data := make([]byte, rng.IntN(3000))
			for j := range data {
				if rng.IntN(4) == 0 {
					data[j] = byte(rng.IntN(256))
				} else {
					data[j] = 'a' + byte(rng.IntN(26))
				}
			}
			ts = ts.Add(time.Millisecond)
			switch rng.IntN(10) {
			case 0:
				ro[i].Gap(dir, off[i][dir], 10, ts)
				rs[i].Gap(dir, off[i][dir], 10, ts)
				off[i][dir] += 10
			case 1:
				ro[i].Comment("note %d", step)
				rs[i].Comment("note %d", step)
			default:
				ro[i].Data(dir, data, off[i][dir], ts)
				rs[i].Data(dir, data, off[i][dir], ts)
				off[i][dir] += int64(len(data))
			}
		}
		for i := range ro {
			ro[i].End(0, "fin", ts)
			rs[i].End(0, "fin", ts)
			ro[i].Flush()
			rs[i].Flush()
			if !bytes.Equal(own[i].Bytes(), shared[i].Bytes()) || own[i].Len() == 0 {
				t.Fatalf("format %v renderer %d: shared buffer changes the output (%d vs %d bytes)", f, i, shared[i].Len(), own[i].Len())
			}
		}
	}
}
