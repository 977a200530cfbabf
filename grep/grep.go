package grep

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kind says how a Pattern's text is read.
type Kind int

const (
	Regexp Kind = iota // Go regular expression (RE2 syntax)
	Fixed              // a literal string
	Hex                // bytes in hex, e.g. "4d5a9000" (spaces and colons allowed)
)

// Pattern is one thing to look for.
type Pattern struct {
	Kind Kind
	Text string
}

// Defaults.
const (
	DefaultMaxMatch = 4096
	DefaultChunk    = 64 << 10
)

// Options tune a Matcher. Zero values take the defaults.
type Options struct {
	IgnoreCase bool // regular expressions and fixed strings; not hex
	// MaxMatch is the longest match guaranteed to be found whole.
	MaxMatch int
	// Before and After are the bytes of context handed with each match.
	Before, After int
	// Chunk is the most bytes added to the window at once; a longer Write
	// is searched in pieces of this size.
	Chunk int
}

// Matcher is a compiled set of patterns; it is safe for concurrent use by
// several Streams.
type Matcher struct {
	opts     Options
	re       *regexp.Regexp // (?m)(p1)|(p2)...: used at a stream's start
	reCtx    *regexp.Regexp // (?m)(?s:.)(?:(p1)|(p2)...): one byte of context first
	groups   []int          // capture group of each regexp pattern (same in re and reCtx)
	reIdx    []int          // pattern number of each regexp group
	lits     [][]byte       // hex patterns
	litIdx   []int          // pattern number of each hex pattern
	patterns []Pattern
}

// New compiles patterns.
func New(patterns []Pattern, opts Options) (*Matcher, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("no pattern")
	}
	if opts.MaxMatch <= 0 {
		opts.MaxMatch = DefaultMaxMatch
	}
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	opts.Before, opts.After = max(opts.Before, 0), max(opts.After, 0)
	m := &Matcher{opts: opts, patterns: patterns}
	var alts []string
	group := 1
	for i, p := range patterns {
		switch p.Kind {
		case Hex:
			b, err := ParseHex(p.Text)
			if err != nil {
				return nil, err
			}
			if len(b) > opts.MaxMatch {
				return nil, fmt.Errorf("hex pattern %q is longer than the maximum match length (%d bytes)", p.Text, opts.MaxMatch)
			}
			m.lits = append(m.lits, b)
			m.litIdx = append(m.litIdx, i)
			continue
		case Fixed:
			if p.Text == "" {
				return nil, fmt.Errorf("empty fixed string")
			}
			if len(p.Text) > opts.MaxMatch {
				return nil, fmt.Errorf("fixed string %q is longer than the maximum match length (%d bytes)", p.Text, opts.MaxMatch)
			}
		}
		src := p.Text
		if p.Kind == Fixed {
			src = regexp.QuoteMeta(src)
		}
		one, err := regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p.Text, err)
		}
		if opts.IgnoreCase {
			src = "(?i:" + src + ")"
		}
		alts = append(alts, "("+src+")")
		m.groups = append(m.groups, group)
		m.reIdx = append(m.reIdx, i)
		group += 1 + one.NumSubexp()
	}
	if len(alts) > 0 {
		body := strings.Join(alts, "|")
		var err error
		if m.re, err = regexp.Compile("(?m)" + body); err != nil {
			return nil, err
		}
		if m.reCtx, err = regexp.Compile("(?m)(?s:.)(?:" + body + ")"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Patterns returns the patterns as given to New.
func (m *Matcher) Patterns() []Pattern { return m.patterns }

// Options returns the options in effect (defaults filled in).
func (m *Matcher) Options() Options { return m.opts }

// ParseHex reads a hex byte pattern: "4d5a9000", "4d 5a 90 00", "4d:5a",
// with an optional 0x prefix.
func ParseHex(s string) ([]byte, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	t = strings.NewReplacer(" ", "", ":", "", "\t", "").Replace(t)
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("hex pattern %q: %v", s, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("empty hex pattern")
	}
	return b, nil
}

// Match is one match. Its slices point into the Stream's window and are
// only valid during the callback.
type Match struct {
	Pattern int   // index into the patterns given to New
	Off     int64 // stream offset of the match's first byte
	Data    []byte
	// Before and After are up to Options.Before/After bytes of context
	// (fewer at the stream's start, end, or next to a hole).
	Before, After []byte
}

// Stream searches one byte stream. It is not safe for concurrent use.
type Stream struct {
	m     *Matcher
	fn    func(Match)
	buf   []byte
	base  int64   // stream offset of buf[0]
	start int64   // offset where the current run of bytes began (stream start or after a hole)
	rpos  int64   // next offset a regexp match may start at
	lpos  []int64 // same, per hex pattern
	found []hit
}

type hit struct {
	s, e int64
	pat  int
}

// NewStream starts a stream at offset 0; fn is called for each match, in
// offset order within each Write (and across Writes for one pattern kind).
func (m *Matcher) NewStream(fn func(Match)) *Stream {
	st := &Stream{m: m, fn: fn, lpos: make([]int64, len(m.lits))}
	st.buf = make([]byte, 0, m.opts.Chunk+st.keep()+1)
	return st
}

// keep is the most bytes the window holds besides the newest chunk.
func (st *Stream) keep() int {
	o := st.m.opts
	return o.MaxMatch + o.After + max(o.Before, 1) + 1
}

// Buffered is how many bytes the window holds now (for tests of the bound).
func (st *Stream) Buffered() int { return len(st.buf) }

// Cap is the window's capacity: it never grows past Chunk+MaxMatch+Before+After+2.
func (st *Stream) Cap() int { return cap(st.buf) }

// Offset is the stream offset of the next byte Write expects.
func (st *Stream) Offset() int64 { return st.base + int64(len(st.buf)) }

// Write adds the next bytes of the stream and reports every match that is
// decided.
func (st *Stream) Write(data []byte) {
	chunk := st.m.opts.Chunk
	for len(data) > 0 {
		n := min(len(data), chunk)
		st.buf = append(st.buf, data[:n]...)
		data = data[n:]
		st.scan(false)
		st.trim()
	}
}

// Flush reports the matches still held back (the stream ended, or a hole
// follows). Reset must follow before more Writes if bytes are missing.
func (st *Stream) Flush() {
	st.scan(true)
	end := st.Offset()
	st.buf = st.buf[:0]
	st.base, st.start, st.rpos = end, end, end
	for i := range st.lpos {
		st.lpos[i] = end
	}
}

// Reset flushes and continues at stream offset off (after a hole).
func (st *Stream) Reset(off int64) {
	st.Flush()
	st.base, st.start, st.rpos = off, off, off
	for i := range st.lpos {
		st.lpos[i] = off
	}
}

func (st *Stream) scan(final bool) {
	o := st.m.opts
	end := st.base + int64(len(st.buf))
	st.found = st.found[:0]
	if st.m.re != nil {
		for st.rpos < end {
			var loc []int
			var from int64
			if st.rpos == st.start {
				from = st.rpos
				loc = st.m.re.FindSubmatchIndex(st.buf[from-st.base:])
			} else {
				from = st.rpos - 1
				loc = st.m.reCtx.FindSubmatchIndex(st.buf[from-st.base:])
			}
			if loc == nil {
				if !final {
					st.rpos = max(st.rpos, end-int64(o.MaxMatch)-1)
				} else {
					st.rpos = end
				}
				break
			}
			s, e, pat := int64(-1), int64(-1), -1
			for i, g := range st.m.groups {
				if loc[2*g] >= 0 {
					s, e, pat = from+int64(loc[2*g]), from+int64(loc[2*g+1]), st.m.reIdx[i]
					break
				}
			}
			if !final && s+int64(o.MaxMatch)+int64(o.After) >= end {
				// Not decided yet: a match starting before s may still
				// appear once more bytes come, if it starts within
				// MaxMatch of the end.
				st.rpos = max(st.rpos, min(s, end-int64(o.MaxMatch)-1))
				break
			}
			if e == s {
				st.rpos = s + 1
				continue
			}
			st.found = append(st.found, hit{s, e, pat})
			st.rpos = e
		}
	}
	for i, lit := range st.m.lits {
		n := int64(len(lit))
		for st.lpos[i] < end {
			j := bytes.Index(st.buf[st.lpos[i]-st.base:], lit)
			if j < 0 {
				if final {
					st.lpos[i] = end
				} else {
					st.lpos[i] = max(st.lpos[i], end-n+1)
				}
				break
			}
			s := st.lpos[i] + int64(j)
			if !final && s+n+int64(o.After) > end {
				st.lpos[i] = s
				break
			}
			st.found = append(st.found, hit{s, s + n, st.m.litIdx[i]})
			st.lpos[i] = s + n
		}
	}
	slices.SortStableFunc(st.found, func(a, b hit) int {
		if a.s != b.s {
			if a.s < b.s {
				return -1
			}
			return 1
		}
		return a.pat - b.pat
	})
	for _, h := range st.found {
		bs := max(h.s-int64(o.Before), st.base, st.start)
		ae := min(h.e+int64(o.After), end)
		st.fn(Match{Pattern: h.pat, Off: h.s,
			Data:   st.buf[h.s-st.base : h.e-st.base : h.e-st.base],
			Before: st.buf[bs-st.base : h.s-st.base : h.s-st.base],
			After:  st.buf[h.e-st.base : ae-st.base : ae-st.base]})
	}
}

// trim drops the bytes no undecided match or context can need.
func (st *Stream) trim() {
	from := st.Offset()
	if st.m.re != nil {
		from = st.rpos
	}
	for _, p := range st.lpos {
		from = min(from, p)
	}
	from -= int64(max(st.m.opts.Before, 1))
	from = max(from, st.base)
	if from <= st.base {
		return
	}
	n := copy(st.buf, st.buf[from-st.base:])
	st.buf = st.buf[:n]
	st.base = from
}
