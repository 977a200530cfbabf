package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Conversation is what the page shows of one connection's payload: its
// blocks in the order they were reassembled, each side's bytes taken from
// its raw file.
type Conversation struct {
	UID    string   `json:"uid"`
	Orig   string   `json:"orig"`
	Resp   string   `json:"resp"`
	Blocks []Block  `json:"b"`
	Notes  []string `json:"notes,omitempty"` // what was cut, what could not be checked
	Links  []Link   `json:"links,omitempty"` // the raw files
	Shown  int64    `json:"shown"`           // payload bytes inlined
	Total  int64    `json:"total"`           // payload bytes in the raw files
	cost   int64    // bytes of text the page spends on it (hex dumps are about 5 per byte)
}

// Block is one run of one side's bytes, or a marker.
type Block struct {
	Dir    int     `json:"d"`           // 0 originator, 1 responder
	Kind   string  `json:"k"`           // data, gap, end, cut
	TS     string  `json:"t,omitempty"` // time of the block (UTC, from the transcript)
	Off    int64   `json:"o"`           // stream offset
	Len    int64   `json:"n"`           // bytes (data: shown; gap: missing)
	Msg    string  `json:"m,omitempty"` // gap, end and cut markers
	Pieces []Piece `json:"p,omitempty"`
}

// Piece is part of a data block: text (runs alternating plain and escaped,
// starting with plain) or a hex dump of binary bytes.
type Piece struct {
	Text []string `json:"s,omitempty"`
	Hex  string   `json:"x,omitempty"`
}

// Link is a labelled link to a file in the folder.
type Link struct {
	Label string `json:"l"`
	Href  string `json:"h"`
}

// transcript line formats, as package transcript writes them:
//
//	>>> 2026-11-27T00:58:52.402641Z  127.0.0.1:33092 -> 127.0.0.1:8081  offset 0
//	!!! 2026-11-27T00:58:52.436975Z  127.0.0.1:8443 -> 127.0.0.1:53934  no more data (fin)
//	!!! 2024-01-01T00:00:00.004000Z  192.0.2.10:49152 -> 198.51.100.20:80  100 BYTES MISSING at offset 200 (not in the capture)
var (
	reHeader = regexp.MustCompile(`^(>>>|<<<) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)  (\S+) -> (\S+)  offset (\d{1,18})$`)
	reNote   = regexp.MustCompile(`^!!! (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)  (\S+) -> (\S+)  (?:(\d{1,18}) BYTES MISSING at offset (\d{1,18}) \(not in the capture\)|(no more data \([^)]*\)))$`)
	reHex    = regexp.MustCompile(`^(?: {4})?([0-9a-f]{8,16})  ((?:[0-9a-f]{2} +)+)`)
)

// event is a parsed header or marker of the .txt transcript.
type event struct {
	kind string // data, gap, end
	dir  int
	ts   string
	off  int64
	n    int64  // gap: bytes missing
	msg  string // end: the reason
	end  int64  // data: where the block ends (-1 not known yet)
}

// scanCap bounds how much of one .txt transcript is read looking for block
// boundaries.
const scanCap = 64 << 20

// parseEvents reads the headers and markers of a .txt transcript until the
// data blocks in order cover budget bytes (or EOF, or scanCap). sizes are
// the raw files' sizes, raw reads them. It reports whether it read to the
// end.
//
// A payload can hold a line that looks like a header. A header-like line
// is taken as one only when it fits: its endpoints are the connection's,
// its side's offsets go forward, it is not a second header of the side
// whose block is open (package transcript starts a block only when the
// side changes or after a marker), and the line after it is how the raw
// file's bytes at that offset render. Otherwise it is payload.
func parseEvents(r io.Reader, orig, resp string, sizes [2]int64, raw func(d int, off int64, n int) []byte, budget int64) ([]event, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var evs []event
	var read int64
	open := [2]int{-1, -1} // index of each side's data block whose end is not known
	var next [2]int64      // the least offset each side's next block or gap can start at
	var ended [2]bool
	resolved := 0     // evs[:resolved] all have known ends
	var covered int64 // data bytes in evs[:resolved]
	var pending *event
	closeBlock := func(d int, at int64) {
		if i := open[d]; i >= 0 {
			evs[i].end = at
			open[d] = -1
		}
	}
	advance := func() {
		for resolved < len(evs) && (evs[resolved].kind != "data" || evs[resolved].end >= 0) {
			if evs[resolved].kind == "data" {
				covered += evs[resolved].end - evs[resolved].off
			}
			resolved++
		}
	}
	lastData := func(d int) bool {
		return len(evs) > 0 && evs[len(evs)-1].kind == "data" && evs[len(evs)-1].dir == d
	}
	for {
		line, err := br.ReadSlice('\n')
		read += int64(len(line))
		long := errors.Is(err, bufio.ErrBufferFull)
		if long {
			// a long body line: only its start matters
			for errors.Is(err, bufio.ErrBufferFull) {
				var more []byte
				more, err = br.ReadSlice('\n')
				read += int64(len(more))
			}
		}
		if err != nil && err != io.EOF {
			return evs, false, err
		}
		l := bytes.TrimSuffix(line, []byte("\n"))
		if pending != nil {
			first := l[:min(len(l), 4096)]
			if long || len(l) > 4096 {
				// do not end inside an escape (\xNN, \r)
				if k := bytes.LastIndexByte(first, '\\'); k >= 0 && k >= len(first)-4 {
					first = first[:k]
				}
			}
			if firstLineMatches(first, raw(pending.dir, pending.off, len(first)+8), pending.off) {
				d := pending.dir
				closeBlock(d, pending.off)
				evs = append(evs, *pending)
				open[d] = len(evs) - 1
				next[d] = pending.off + 1
			}
			pending = nil
		} else if m := reHeader.FindSubmatch(l); m != nil && !long {
			d := 0
			if m[1][0] == '<' {
				d = 1
			}
			off, _ := strconv.ParseInt(string(m[5]), 10, 64)
			if endpointsMatch(d, string(m[3]), string(m[4]), orig, resp) && !ended[d] && !lastData(d) && off >= next[d] && off < sizes[d] {
				pending = &event{kind: "data", dir: d, ts: string(m[2]), off: off, end: -1}
			}
		} else if m := reNote.FindSubmatch(l); m != nil && !long {
			d := -1
			if endpointsMatch(0, string(m[2]), string(m[3]), orig, resp) {
				d = 0
			} else if endpointsMatch(1, string(m[2]), string(m[3]), orig, resp) {
				d = 1
			}
			switch {
			case d < 0 || ended[d]:
			case len(m[6]) > 0:
				closeBlock(d, sizes[d])
				ended[d] = true
				evs = append(evs, event{kind: "end", dir: d, ts: string(m[1]), msg: string(m[6])})
			default:
				n, _ := strconv.ParseInt(string(m[4]), 10, 64)
				off, _ := strconv.ParseInt(string(m[5]), 10, 64)
				if off >= next[d] && n > 0 {
					closeBlock(d, off)
					next[d] = off + n
					evs = append(evs, event{kind: "gap", dir: d, ts: string(m[1]), off: off, n: n})
				}
			}
		}
		advance()
		if err == io.EOF {
			break
		}
		if covered >= budget || read > scanCap {
			return evs, false, nil
		}
	}
	closeBlock(0, sizes[0])
	closeBlock(1, sizes[1])
	return evs, true, nil
}

func endpointsMatch(dir int, src, dst, orig, resp string) bool {
	if dir == 0 {
		return src == orig && dst == resp
	}
	return src == resp && dst == orig
}

// checkEvents checks the parsed structure against the raw files: per side,
// offsets in order and blocks inside the file.
func checkEvents(evs []event, sizes [2]int64) error {
	var next [2]int64
	for i := range evs {
		e := &evs[i]
		switch e.kind {
		case "data":
			if e.off < next[e.dir] {
				return fmt.Errorf("side %d: block at offset %d before %d", e.dir, e.off, next[e.dir])
			}
			end := e.end
			if end < 0 {
				end = sizes[e.dir]
			}
			if e.off > sizes[e.dir] || end > sizes[e.dir] || end < e.off {
				return fmt.Errorf("side %d: block %d-%d outside its raw file (%d bytes)", e.dir, e.off, end, sizes[e.dir])
			}
			next[e.dir] = end
		case "gap":
			if e.off < next[e.dir] {
				return fmt.Errorf("side %d: gap at offset %d before %d", e.dir, e.off, next[e.dir])
			}
			next[e.dir] = e.off + e.n
		}
	}
	return nil
}

// firstLineMatches reports whether a block's first body line in the .txt
// is how the transcript renders raw (the bytes at the block's offset):
// ascii (printable bytes as they are, CR LF as a newline, others \r or
// \xNN) or hex (offset, hex bytes).
func firstLineMatches(line, raw []byte, off int64) bool {
	if m := reHex.FindSubmatch(line); m != nil {
		if o, err := strconv.ParseInt(string(m[1]), 16, 64); err == nil && o == off && hexMatches(strings.Fields(string(m[2])), raw) {
			return true
		}
	}
	j := 0
	for i := 0; i < len(raw) && j < len(line); i++ {
		c := raw[i]
		switch {
		case c == '\n':
			return j == len(line)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			if line[j] != c {
				return false
			}
			j++
		case c == '\r' && i+1 < len(raw) && raw[i+1] == '\n' && j == len(line):
			return true
		case c == '\r' && bytes.HasPrefix(line[j:], []byte(`\r`)):
			j += 2
		default:
			if !bytes.HasPrefix(line[j:], []byte{'\\', 'x', hexdigits[c>>4], hexdigits[c&15]}) {
				return false
			}
			j += 4
		}
	}
	return j == len(line)
}

func hexMatches(hx []string, raw []byte) bool {
	if len(hx) > len(raw) {
		return false
	}
	for i, h := range hx {
		b, err := strconv.ParseUint(h, 16, 8)
		if err != nil || byte(b) != raw[i] {
			return false
		}
	}
	return true
}

const hexdigits = "0123456789abcdef"

// rawFiles reads ranges of a connection's two raw files.
type rawFiles struct {
	f     [2]*os.File
	sizes [2]int64
}

func (r *rawFiles) read(d int, off int64, n int) []byte {
	if r.f[d] == nil || off >= r.sizes[d] || n <= 0 {
		return nil
	}
	n = int(min(int64(n), r.sizes[d]-off))
	b := make([]byte, n)
	m, _ := r.f[d].ReadAt(b, off)
	return b[:m]
}

func (r *rawFiles) close() {
	for _, f := range r.f {
		if f != nil {
			f.Close()
		}
	}
}

// loadConversation rebuilds flow f's conversation, inlining at most budget
// payload bytes.
func (fo *Folder) loadConversation(f *Flow, budget int64) *Conversation {
	c := &Conversation{UID: visible(f.UID), Orig: visible(f.Orig()), Resp: visible(f.Resp())}
	base := strings.TrimSuffix(f.Transcript, ".txt")
	if f.Transcript == "" || base == f.Transcript {
		return c
	}
	var rf rawFiles
	defer rf.close()
	for d, suffix := range []string{".orig", ".resp"} {
		p, ok := fo.links.clean(base + suffix)
		if !ok {
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			continue
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			continue
		}
		rf.f[d], rf.sizes[d] = fh, st.Size()
		label := "originator's bytes"
		if d == 1 {
			label = "responder's bytes"
		}
		c.Links = append(c.Links, Link{Label: label + " (" + suffix[1:] + ")", Href: fo.links.link(base + suffix)})
	}
	c.Total = rf.sizes[0] + rf.sizes[1]
	txt, ok := fo.links.clean(f.Transcript)
	if ok {
		c.Links = append(c.Links, Link{Label: "transcript (.txt)", Href: fo.links.link(f.Transcript)})
	}
	if budget <= 0 {
		if c.Total > 0 {
			c.Notes = append(c.Notes, "not inlined: the report's total budget for conversations is used up; open the files below")
		}
		return c
	}
	var evs []event
	var err error
	if ok {
		var fh *os.File
		fh, err = os.Open(txt)
		if err == nil {
			evs, _, err = parseEvents(fh, f.Orig(), f.Resp(), rf.sizes, rf.read, budget)
			fh.Close()
		}
		if err == nil {
			err = checkEvents(evs, rf.sizes)
		}
	} else {
		err = errors.New("no .txt transcript")
	}
	if err != nil {
		// Show each side whole, one after the other.
		c.Notes = append(c.Notes, "the order of the two sides could not be taken from the transcript ("+visible(err.Error())+"); each side is shown on its own")
		evs = evs[:0]
		for d := range 2 {
			if rf.sizes[d] > 0 {
				evs = append(evs, event{kind: "data", dir: d, off: 0, end: rf.sizes[d]})
			}
		}
	}
	left := budget
loop:
	for _, e := range evs {
		switch e.kind {
		case "gap":
			c.Blocks = append(c.Blocks, Block{Dir: e.dir, Kind: "gap", TS: shortTS(e.ts), Off: e.off, Len: e.n,
				Msg: fmt.Sprintf("%d bytes missing at offset %d (not in the capture)", e.n, e.off)})
		case "end":
			c.Blocks = append(c.Blocks, Block{Dir: e.dir, Kind: "end", TS: shortTS(e.ts), Msg: e.msg})
		case "data":
			end := e.end
			if end < 0 {
				end = rf.sizes[e.dir]
			}
			n := end - e.off
			if n <= 0 {
				continue
			}
			if left <= 0 {
				c.Blocks = append(c.Blocks, Block{Dir: e.dir, Kind: "cut", Off: e.off,
					Msg: fmt.Sprintf("cut here: --report-max-transcript (%s) reached; the rest is in the files below", human(budget))})
				break loop
			}
			show := min(n, left)
			b := rf.read(e.dir, e.off, int(show))
			left -= int64(len(b))
			c.Shown += int64(len(b))
			ps := pieces(b, e.off)
			for _, p := range ps {
				c.cost += int64(len(p.Hex))
				for _, r := range p.Text {
					c.cost += int64(len(r))
				}
			}
			c.Blocks = append(c.Blocks, Block{Dir: e.dir, Kind: "data", TS: shortTS(e.ts), Off: e.off, Len: int64(len(b)), Pieces: ps})
			if int64(len(b)) < n {
				c.Blocks = append(c.Blocks, Block{Dir: e.dir, Kind: "cut", Off: e.off + int64(len(b)),
					Msg: fmt.Sprintf("cut here: %d more bytes in this block; --report-max-transcript (%s) reached; the rest is in the files below", n-int64(len(b)), human(budget))})
				break loop
			}
		}
	}
	if c.Shown < c.Total && len(c.Notes) == 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("showing %s of %s; the whole conversation is in the files below", human(c.Shown), human(c.Total)))
	}
	return c
}

// shortTS turns 2026-11-27T00:58:52.402641Z into 2026-11-27 00:58:52.402641.
func shortTS(ts string) string {
	return strings.TrimSuffix(strings.Replace(ts, "T", " ", 1), "Z")
}

// pieces splits a block's bytes into text and binary runs: lines (or
// 256-byte stretches) that look binary become hex dumps, the rest text; a
// binary run of fewer than 8 bytes between text stays text (escaped).
func pieces(b []byte, off int64) []Piece {
	type span struct {
		start, end int
		bin        bool
	}
	var spans []span
	add := func(s span) {
		if n := len(spans); n > 0 && spans[n-1].bin == s.bin {
			spans[n-1].end = s.end
			return
		}
		spans = append(spans, s)
	}
	for i := 0; i < len(b); {
		j := i + bytes.IndexByte(b[i:min(len(b), i+256)], '\n') + 1
		if j <= i {
			j = min(len(b), i+256)
		}
		add(span{i, j, looksBinary(b[i:j])})
		i = j
	}
	var merged []span
	for k, s := range spans {
		if s.bin && s.end-s.start < 8 && k > 0 && k < len(spans)-1 {
			s.bin = false
		}
		if n := len(merged); n > 0 && merged[n-1].bin == s.bin {
			merged[n-1].end = s.end
			continue
		}
		merged = append(merged, s)
	}
	out := make([]Piece, 0, len(merged))
	for _, s := range merged {
		if s.bin {
			out = append(out, Piece{Hex: hexDump(b[s.start:s.end], off+int64(s.start))})
		} else {
			out = append(out, Piece{Text: textRuns(b[s.start:s.end])})
		}
	}
	return out
}

// looksBinary: control characters (other than tab, CR, LF) in more than
// 1 byte in 20, or invalid UTF-8.
func looksBinary(b []byte) bool {
	ctrl := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			ctrl++
		}
	}
	if ctrl*20 > len(b) {
		return true
	}
	bad := 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			bad++
		}
		i += n
	}
	return bad*20 > len(b)
}

// textRuns renders text: runs alternating plain text and escapes (bytes
// as \xNN, invisible or direction-changing characters as <U+XXXX>). CR LF
// shows as a newline.
func textRuns(b []byte) []string {
	var runs []string
	var cur strings.Builder
	esc := false // is cur an escape run?
	put := func(e bool, s string) {
		if e != esc {
			runs = append(runs, cur.String())
			cur.Reset()
			esc = e
		}
		cur.WriteString(s)
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			i++
			continue
		case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f):
			put(false, string(rune(c)))
			i++
			continue
		case c < 0x80:
			put(true, `\x`+string(hexdigits[c>>4])+string(hexdigits[c&15]))
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			put(true, `\x`+string(hexdigits[c>>4])+string(hexdigits[c&15]))
		case invisible(r):
			put(true, fmt.Sprintf("<U+%04X>", r))
		default:
			put(false, string(r))
		}
		i += n
	}
	runs = append(runs, cur.String())
	return runs
}

// invisible reports characters that change how text around them reads
// without showing themselves: C1 controls, format characters (bidi
// overrides and isolates, zero-width), line and paragraph separators.
func invisible(r rune) bool {
	return (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 || r == 0xfeff
}

// visible returns s with what would not show as itself escaped: control
// characters and bytes that are not UTF-8 as \xNN, invisible and
// direction-changing characters as <U+XXXX>. For names, URLs and fields
// from the capture shown on one line.
func visible(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		if c < 0x80 {
			b.WriteString(`\x` + string(hexdigits[c>>4]) + string(hexdigits[c&15]))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + string(hexdigits[c>>4]) + string(hexdigits[c&15]))
		case invisible(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// hexDump renders b like xxd: offset, 16 bytes in hex, the printable ones.
func hexDump(b []byte, off int64) string {
	var s strings.Builder
	s.Grow(len(b)/16*78 + 78)
	for len(b) > 0 {
		n := min(16, len(b))
		fmt.Fprintf(&s, "%08x  ", off)
		for i := range 16 {
			if i < n {
				s.WriteByte(hexdigits[b[i]>>4])
				s.WriteByte(hexdigits[b[i]&15])
				s.WriteByte(' ')
			} else {
				s.WriteString("   ")
			}
			if i == 7 {
				s.WriteByte(' ')
			}
		}
		s.WriteString(" |")
		for _, c := range b[:n] {
			if c >= 0x20 && c < 0x7f {
				s.WriteByte(c)
			} else {
				s.WriteByte('.')
			}
		}
		s.WriteString("|\n")
		b = b[n:]
		off += int64(n)
	}
	return s.String()
}

// human formats a byte count: 512 B, 64 KiB, 1.5 MiB.
func human(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return trimZero(float64(n)/1024) + " KiB"
	case n < 1<<30:
		return trimZero(float64(n)/(1<<20)) + " MiB"
	}
	return trimZero(float64(n)/(1<<30)) + " GiB"
}

func trimZero(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}
