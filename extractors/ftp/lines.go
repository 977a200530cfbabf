package ftp

import (
	"bytes"
	"strings"
)

// Bounds of the control-channel parser. Everything it holds is bounded
// by these, whatever the traffic.
const (
	// maxLine is the longest control line kept; the rest of a longer line
	// is dropped and the line is flagged cut.
	maxLine = 8 << 10
	// maxReplyLines and maxReplyBytes bound what is kept of one multi-line
	// reply (its lines still all reach the session transcript).
	maxReplyLines = 256
	maxReplyBytes = 64 << 10
)

// lineFlags qualify one line handed on by lineReader.
type lineFlags uint8

const (
	// lineCut: the line was longer than maxLine; only its start is given.
	lineCut lineFlags = 1 << iota
	// lineAfterGap: the first line after missing bytes; it may be the tail
	// of a line whose start was lost.
	lineAfterGap
	// lineNoEOL: the direction ended without a line end.
	lineNoEOL
)

// lineReader is a push splitter of one direction of the control
// connection into lines (CRLF, or a bare LF, ends a line; the CR is
// removed). Bytes arrive in chunks that may split anywhere, including
// between CR and LF.
//
// It owns at most maxLine bytes of the current partial line. The slice
// given to emit is only valid during the call.
type lineReader struct {
	buf      []byte
	cut      bool // the current line passed maxLine: drop until EOL
	afterGap bool // missing bytes before the current line
	// Dropped counts bytes discarded: tails of over-long lines and
	// partial lines broken by a gap.
	Dropped int64
	Lines   int64
	Cut     int64
}

// feed splits data into lines and calls emit for each complete one.
func (r *lineReader) feed(data []byte, emit func(line []byte, fl lineFlags)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		chunk := data
		if i >= 0 {
			chunk = data[:i]
			data = data[i+1:]
		} else {
			data = nil
		}
		if r.cut {
			r.Dropped += int64(len(chunk))
		} else if room := maxLine - len(r.buf); len(chunk) > room {
			r.buf = append(r.buf, chunk[:room]...)
			r.Dropped += int64(len(chunk) - room)
			r.cut = true
		} else {
			r.buf = append(r.buf, chunk...)
		}
		if i < 0 {
			return
		}
		r.emit(emit, 0)
	}
}

func (r *lineReader) emit(emit func([]byte, lineFlags), fl lineFlags) {
	line := r.buf
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if r.cut {
		fl |= lineCut
		r.Cut++
	}
	if r.afterGap {
		fl |= lineAfterGap
	}
	r.Lines++
	r.buf, r.cut, r.afterGap = r.buf[:0], false, false
	emit(line, fl)
	if cap(r.buf) > 2*maxLine {
		r.buf = nil
	}
}

// gap says bytes are missing here: the partial line is dropped and
// returned (for the transcript), and the next line is flagged.
func (r *lineReader) gap() (partial string) {
	partial = string(r.buf)
	r.Dropped += int64(len(r.buf))
	r.buf, r.cut, r.afterGap = r.buf[:0], false, true
	return partial
}

// end hands on a last line without line end, if any.
func (r *lineReader) end(emit func([]byte, lineFlags)) {
	if len(r.buf) > 0 || r.cut {
		r.emit(emit, lineNoEOL)
	}
}

// reply is one complete reply of the server, single- or multi-line.
type reply struct {
	Code int
	// Text is the text of the first line (after "123 " or "123-").
	Text string
	// More holds the following lines of a multi-line reply, each without
	// the "123-"/"123 " prefix when it has one; bounded by maxReplyLines
	// and maxReplyBytes (Omitted counts the rest).
	More    []string
	Omitted int
	// Broken: the reply was cut by missing bytes.
	Broken bool
}

// Last is the text of the last line (the whole text of a one-line reply).
func (r *reply) Last() string {
	if len(r.More) > 0 {
		return r.More[len(r.More)-1]
	}
	return r.Text
}

// Message is the reply text for logs: the lines joined with "\n",
// bounded.
func (r *reply) Message() string {
	if len(r.More) == 0 {
		return r.Text
	}
	var b strings.Builder
	b.WriteString(r.Text)
	for _, m := range r.More {
		if b.Len() > 4096 {
			b.WriteString("\n...")
			break
		}
		b.WriteByte('\n')
		b.WriteString(m)
	}
	return b.String()
}

// replyReader assembles reply lines into replies with net/textproto's
// ReadResponse semantics (RFC 959 4.2): "123-" opens a multi-line reply
// that ends at a line starting "123 " with the same code; lines between
// are text, a "123-" prefix on them is removed. It is the push version of
// textproto.Reader.ReadResponse.
type replyReader struct {
	open  *reply // a multi-line reply in progress
	bytes int
	// Garbage counts lines that are not replies (outside a multi-line
	// reply).
	Garbage int64
}

// line takes one reply line. It returns a complete reply, or nil. bad is
// true for a line that is not a reply at all (it is dropped). After
// missing bytes (fl&lineAfterGap), a multi-line reply in progress ends at
// any well-formed final line: its own terminator may have been lost, and
// the pairing of commands and replies must go on.
func (rr *replyReader) line(line string, fl lineFlags) (done []*reply, bad bool) {
	code, sep, text, ok := parseReplyLine(line)
	if o := rr.open; o != nil {
		switch {
		case ok && code == o.Code && sep != '-':
			rr.open = nil
			rr.add(o, text)
			return []*reply{o}, false
		case ok && code == o.Code && sep == '-':
			rr.add(o, text)
			return nil, false
		case ok && sep != '-' && (fl&lineAfterGap != 0 || o.Broken):
			o.Broken = true
			rr.open = nil
			return []*reply{o, {Code: code, Text: text}}, false
		case ok && sep == '-' && fl&lineAfterGap != 0:
			o.Broken = true
			rr.open = &reply{Code: code, Text: text}
			rr.bytes = len(text)
			return []*reply{o}, false
		}
		if fl&lineAfterGap != 0 {
			o.Broken = true
		}
		rr.add(o, line)
		return nil, false
	}
	if !ok {
		rr.Garbage++
		return nil, true
	}
	if sep == '-' {
		rr.open = &reply{Code: code, Text: text}
		rr.bytes = len(text)
		return nil, false
	}
	return []*reply{{Code: code, Text: text}}, false
}

func (rr *replyReader) add(o *reply, s string) {
	if len(o.More) >= maxReplyLines || rr.bytes+len(s) > maxReplyBytes {
		o.Omitted++
		return
	}
	rr.bytes += len(s)
	o.More = append(o.More, s)
}

// gap marks a multi-line reply in progress as broken.
func (rr *replyReader) gap() {
	if rr.open != nil {
		rr.open.Broken = true
	}
}

// end returns a multi-line reply left open when the direction ended.
func (rr *replyReader) end() *reply {
	o := rr.open
	rr.open = nil
	if o != nil {
		o.Broken = true
	}
	return o
}
