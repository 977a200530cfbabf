// Package transcript renders a conversation for people: both directions
// interleaved in the order their bytes were reassembled, with a header per
// block (direction, time, stream offset), a visible marker wherever bytes are
// missing and where each side ended. Formats: ascii (non-printable bytes
// escaped, so a transcript can be shown on a terminal without the capture
// driving it), hex (offset, hex, ASCII, like xxd) and raw (the bytes only).
// It owns presentation only; where the bytes come from is the assembler's
// business and where they go is the caller's io.Writer.
package transcript

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// Format of a rendering.
type Format int

// Formats.
const (
	ASCII Format = iota
	Hex
	Raw
)

// ParseFormat reads "ascii", "hex" or "raw".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "ascii", "text", "":
		return ASCII, nil
	case "hex":
		return Hex, nil
	case "raw":
		return Raw, nil
	}
	return 0, fmt.Errorf("unknown transcript format %q (want ascii, hex or raw)", s)
}

const (
	colorOrig  = "\x1b[31m"
	colorResp  = "\x1b[34m"
	colorNote  = "\x1b[33;1m"
	colorReset = "\x1b[0m"
)

// Renderer writes one conversation. Errors from W are sticky: the first
// one is kept in Err and later calls do nothing.
type Renderer struct {
	W      io.Writer
	Format Format
	Color  bool
	Orig   netip.AddrPort
	Resp   netip.AddrPort
	Err    error

	// FullBinary shows binary data escaped byte by byte in the ascii
	// format; by default a run of binary chunks shows its first bytes and a
	// line saying how many more there are and where (RawNames).
	FullBinary bool
	// RawNames name the byte-faithful files of each direction, for the
	// binary summaries.
	RawNames [2]string

	last     int // direction of the open block, -1 none
	midLine  bool
	buf      []byte
	shared   *[]byte // Share's buffer, lent to buf during a call
	binLen   int64   // bytes in the open binary run
	binShown int64
	binOff   int64
	binDir   int
}

// New returns a Renderer for a conversation between orig and resp.
func New(w io.Writer, f Format, color bool, orig, resp netip.AddrPort) *Renderer {
	return &Renderer{W: w, Format: f, Color: color, Orig: orig, Resp: resp, last: -1}
}

// Share makes the renderer format into *buf during each call instead of a
// buffer of its own (4 KiB per conversation): renderers used from one
// goroutine can share one. The renderer holds nothing in it between calls.
func (r *Renderer) Share(buf *[]byte) {
	r.shared, r.buf = buf, nil
}

// take borrows the shared buffer for a call.
func (r *Renderer) take() {
	if r.shared != nil && r.buf == nil {
		r.buf = (*r.shared)[:0]
	}
}

func (r *Renderer) flush() {
	if r.Err == nil && len(r.buf) > 0 {
		_, r.Err = r.W.Write(r.buf)
	}
	r.buf = r.buf[:0]
	if r.shared != nil {
		*r.shared, r.buf = r.buf, nil
	}
}

func stamp(b []byte, ts time.Time) []byte {
	return ts.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

func (r *Renderer) endpoints(dir int) (netip.AddrPort, netip.AddrPort) {
	if dir == 0 {
		return r.Orig, r.Resp
	}
	return r.Resp, r.Orig
}

// Comment writes a line of context (ignored in raw format).
func (r *Renderer) Comment(format string, args ...any) {
	r.take()
	if r.Format == Raw {
		return
	}
	r.endBinary()
	r.closeLine()
	r.buf = append(r.buf, "# "...)
	r.buf = fmt.Appendf(r.buf, format, args...)
	r.buf = append(r.buf, '\n')
	r.flush()
}

func (r *Renderer) closeLine() {
	if r.midLine {
		r.buf = append(r.buf, '\n')
		r.midLine = false
	}
}

func (r *Renderer) blockHeader(dir int, off int64, ts time.Time) {
	r.closeLine()
	if r.Color {
		r.buf = append(r.buf, colorReset...)
	}
	if r.last >= 0 {
		r.buf = append(r.buf, '\n')
	}
	src, dst := r.endpoints(dir)
	if dir == 0 {
		r.buf = append(r.buf, ">>> "...)
	} else {
		r.buf = append(r.buf, "<<< "...)
	}
	r.buf = stamp(r.buf, ts)
	r.buf = append(r.buf, "  "...)
	r.buf = src.AppendTo(r.buf)
	r.buf = append(r.buf, " -> "...)
	r.buf = dst.AppendTo(r.buf)
	r.buf = append(r.buf, "  offset "...)
	r.buf = strconv.AppendInt(r.buf, off, 10)
	r.buf = append(r.buf, '\n')
	r.last = dir
}

// Data renders bytes of direction dir (0: originator) at stream offset off.
func (r *Renderer) Data(dir int, data []byte, off int64, ts time.Time) {
	r.take()
	if r.Err != nil {
		return
	}
	if r.Format == Raw {
		_, r.Err = r.W.Write(data)
		return
	}
	bin := r.Format == ASCII && !r.FullBinary && Binary(data)
	if !bin || dir != r.last {
		r.endBinary()
	}
	if dir != r.last {
		r.blockHeader(dir, off, ts)
	}
	if bin && r.binLen > 0 {
		r.binLen += int64(len(data))
		return
	}
	if r.Color {
		if dir == 0 {
			r.buf = append(r.buf, colorOrig...)
		} else {
			r.buf = append(r.buf, colorResp...)
		}
	}
	switch {
	case r.Format == Hex:
		r.hex(dir, data, off)
	case bin:
		r.binDir = dir
		r.binary(dir, data, off)
	default:
		r.ascii(data)
	}
	if r.Color {
		r.buf = append(r.buf, colorReset...)
	}
	r.flush()
}

// byte classes for the ascii format
const (
	clPrint = iota
	clNewline
	clCR
	clEscape
)

var class = func() (t [256]uint8) {
	for i := range t {
		switch {
		case i == '\n':
			t[i] = clNewline
		case i == '\r':
			t[i] = clCR
		case i == '\t' || (i >= 0x20 && i < 0x7f):
			t[i] = clPrint
		default:
			t[i] = clEscape
		}
	}
	return
}()

const (
	lo7s = 0x7f7f7f7f7f7f7f7f
	hi1s = 0x8080808080808080
	ones = 0x0101010101010101
)

// notPrint8 has bit 7 set in each byte of x (8 bytes, little-endian) whose
// class is not clPrint: at 0x80 or above, below 0x20 but for tab, or 0x7f.
// No sum carries into the next byte, so the mask is exact.
func notPrint8(x uint64) uint64 {
	x7 := x & lo7s
	low := ^(x7 + 0x6060606060606060) // bit 7: x7 < 0x20
	del := x7 + ones                  // bit 7: x7 == 0x7f
	y := x ^ (ones * '\t')
	tab := ^(((y & lo7s) + lo7s) | y) // bit 7: the byte is a tab
	return (x | low | del) &^ tab & hi1s
}

func (r *Renderer) ascii(data []byte) {
	for i := 0; i < len(data); {
		// a run of printable bytes in one append, found 8 bytes at a time
		j := i
		for j+8 <= len(data) {
			if m := notPrint8(binary.LittleEndian.Uint64(data[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(data) && class[data[j]] == clPrint {
			j++
		}
		if j > i {
			r.buf = append(r.buf, data[i:j]...)
			r.midLine = true
			i = j
			if len(r.buf) > 32<<10 {
				r.flush()
			}
			continue
		}
		c := data[i]
		switch class[c] {
		case clNewline:
			r.buf = append(r.buf, '\n')
			r.midLine = false
		case clCR:
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
				continue
			}
			r.buf = append(r.buf, `\r`...)
			r.midLine = true
		default:
			// a run of escaped bytes (binary data shown in full)
			for {
				r.buf = append(r.buf, '\\', 'x', hexdigits[c>>4], hexdigits[c&15])
				i++
				if i == len(data) {
					break
				}
				if c = data[i]; class[c] != clEscape {
					break
				}
			}
			r.midLine = true
			continue
		}
		i++
	}
	if len(r.buf) > 32<<10 {
		r.flush()
	}
}

// Binary reports whether a chunk looks like binary data rather than text:
// control characters (other than tab, CR, LF) in more than 1 byte in 20, or
// a third of bytes above 0x7f without being UTF-8.
//
// Only the first 256 bytes are looked at: enough to tell, and cheap on the
// per-chunk path.
func Binary(data []byte) bool {
	if len(data) > 256 {
		data = data[:256]
	}
	n := len(data)
	// Branch-free counting (random binary data defeats the branch
	// predictor): a byte's weight holds its control count in the low 16
	// bits and its high count in the upper 16; four sums run side by side.
	var a0, a1, a2, a3 uint32
	i := 0
	for ; i+64 <= n; i += 64 {
		d := data[i : i+64 : i+64]
		for k := 0; k < 64; k += 4 {
			a0 += binWeight[d[k]]
			a1 += binWeight[d[k+1]]
			a2 += binWeight[d[k+2]]
			a3 += binWeight[d[k+3]]
		}
		if int((a0+a1+a2+a3)&0xffff)*20 > n {
			return true // enough control characters already
		}
	}
	for ; i+4 <= n; i += 4 {
		d := data[i : i+4 : i+4]
		a0 += binWeight[d[0]]
		a1 += binWeight[d[1]]
		a2 += binWeight[d[2]]
		a3 += binWeight[d[3]]
	}
	for _, c := range data[i:] {
		a0 += binWeight[c]
	}
	acc := a0 + a1 + a2 + a3
	ctrl, high := int(acc&0xffff), int(acc>>16)
	return ctrl*20 > n || (high*3 > n && !utf8.Valid(data))
}

// binWeight is what a byte adds to Binary's counts: 1 for a control
// character (escaped in the ascii format, not a high byte), 1<<16 for a
// byte above 0x7f.
var binWeight = func() (t [256]uint32) {
	for i := range t {
		switch {
		case i >= 0x80:
			t[i] = 1 << 16
		case class[i] == clEscape:
			t[i] = 1
		}
	}
	return
}()

// binaryPreview is how much of a binary run the ascii format shows before
// summarising the rest.
const binaryPreview = 64

func (r *Renderer) binary(dir int, data []byte, off int64) {
	if r.binLen == 0 {
		n := min(len(data), binaryPreview)
		r.ascii(data[:n])
		r.binOff, r.binShown = off, int64(n)
	}
	r.binLen += int64(len(data))
}

// endBinary writes the summary of a binary run, if one is open.
func (r *Renderer) endBinary() {
	if r.binLen == 0 {
		return
	}
	if hidden := r.binLen - r.binShown; hidden > 0 {
		r.closeLine()
		r.buf = append(r.buf, "[... "...)
		r.buf = strconv.AppendInt(r.buf, hidden, 10)
		r.buf = append(r.buf, " more bytes of binary data, offsets "...)
		r.buf = strconv.AppendInt(r.buf, r.binOff+r.binShown, 10)
		r.buf = append(r.buf, '-')
		r.buf = strconv.AppendInt(r.buf, r.binOff+r.binLen-1, 10)
		if name := r.RawNames[r.binDir]; name != "" {
			r.buf = append(r.buf, ", in "...)
			r.buf = append(r.buf, name...)
		}
		r.buf = append(r.buf, "]\n"...)
	}
	r.binLen, r.binShown = 0, 0
}

const hexdigits = "0123456789abcdef"

// hexDot is the hex format's ASCII column: printable bytes as they are,
// others as '.'.
var hexDot = func() (t [256]byte) {
	for i := range t {
		t[i] = '.'
		if i >= 0x20 && i < 0x7f {
			t[i] = byte(i)
		}
	}
	return
}()

// appendOffset appends off as %08x does.
func appendOffset(b []byte, off int64) []byte {
	if off < 0 {
		return fmt.Appendf(b, "%08x", off)
	}
	var d [16]byte
	i := len(d)
	for v := uint64(off); v > 0 || i > len(d)-8; v >>= 4 {
		i--
		d[i] = hexdigits[v&15]
	}
	return append(b, d[i:]...)
}

func (r *Renderer) hex(dir int, data []byte, off int64) {
	for len(data) > 0 {
		n := min(16, len(data))
		if dir == 1 {
			r.buf = append(r.buf, "    "...)
		}
		r.buf = appendOffset(r.buf, off)
		r.buf = append(r.buf, "  "...)
		for i := 0; i < 16; i++ {
			if i < n {
				r.buf = append(r.buf, hexdigits[data[i]>>4], hexdigits[data[i]&15], ' ')
			} else {
				r.buf = append(r.buf, "   "...)
			}
			if i == 7 {
				r.buf = append(r.buf, ' ')
			}
		}
		r.buf = append(r.buf, " |"...)
		for _, c := range data[:n] {
			r.buf = append(r.buf, hexDot[c])
		}
		r.buf = append(r.buf, "|\n"...)
		data = data[n:]
		off += int64(n)
		if len(r.buf) > 3000 {
			r.flush()
		}
	}
}

// Flush writes out what is pending (an open binary run's summary). Call it
// when the conversation is over.
func (r *Renderer) Flush() {
	r.take()
	if r.Format == Raw {
		return
	}
	r.endBinary()
	r.closeLine()
	r.flush()
}

// Gap marks n bytes missing from direction dir at offset off.
func (r *Renderer) Gap(dir int, off, n int64, ts time.Time) {
	r.take()
	if r.Format == Raw {
		return
	}
	r.note(dir, ts, fmt.Sprintf("%d BYTES MISSING at offset %d (not in the capture)", n, off))
	r.last = -2 // the next data gets a fresh header
}

// End marks the end of direction dir.
func (r *Renderer) End(dir int, reason string, ts time.Time) {
	r.take()
	if r.Format == Raw {
		return
	}
	r.note(dir, ts, "no more data ("+reason+")")
	r.last = -2
}

func (r *Renderer) note(dir int, ts time.Time, msg string) {
	r.endBinary()
	r.closeLine()
	if r.last != -1 {
		r.buf = append(r.buf, '\n')
	}
	if r.Color {
		r.buf = append(r.buf, colorNote...)
	}
	r.buf = append(r.buf, "!!! "...)
	r.buf = stamp(r.buf, ts)
	r.buf = append(r.buf, "  "...)
	src, dst := r.endpoints(dir)
	r.buf = src.AppendTo(r.buf)
	r.buf = append(r.buf, " -> "...)
	r.buf = dst.AppendTo(r.buf)
	r.buf = append(r.buf, "  "...)
	r.buf = append(r.buf, msg...)
	if r.Color {
		r.buf = append(r.buf, colorReset...)
	}
	r.buf = append(r.buf, '\n')
	r.flush()
}

// Escape returns s with non-printable bytes escaped as in the ascii format,
// for names and fields from the wire shown on a terminal.
func Escape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		if c >= 0x80 {
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn != utf8.RuneError && rn >= 0xa0 && !bidi(rn) {
				out = append(out, s[i:i+size]...)
				i += size
				continue
			}
		}
		out = append(out, '\\', 'x', hexdigits[c>>4], hexdigits[c&15])
		i++
	}
	return string(out)
}

// bidi reports the invisible direction controls that make "gpj.exe" read
// as "exe.jpg"; Escape shows them as bytes.
func bidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}
