package httpx

import (
	"bytes"
	"io"
	"maps"
	"mime/multipart"
	"strings"
	"time"

	"github.com/streamx/streamx/sink"
)

const (
	// maxHeld bounds the copy of a coded body kept while it is decoded,
	// so that a body that turns out not to decode can still be written as
	// sent. Past it only the start is kept and the file as sent gets a
	// hole (it is then truncated: honest, and bounded).
	maxHeld      = 1 << 20
	maxHeldTotal = 64 << 20 // all bodies at once
	// maxMultipart bounds a multipart body buffered to be split; a larger
	// one is kept whole. maxMultipartTotal bounds all of them at once.
	maxMultipart      = 64 << 20
	maxMultipartTotal = 256 << 20
	// maxParts bounds the parts a multipart body is split into; a body
	// with more is kept whole.
	maxParts = 1000
)

// emode is what an entity does with the body bytes it gets.
type emode uint8

const (
	modeIdentity emode = iota // no coding: bytes go to the target
	modeDecode                // bytes go through the decoder to the target
	modeRaw                   // decoding failed or was impossible: bytes go to the file as sent
	modeDrop                  // decoded output stopped at the size limit
)

// entity carries one message body from the parser to its files: the
// decoded file (or multipart parts, or a piece of a 206 assembly), and the
// body as sent when asked (--keep-encoded) or when it cannot be decoded.
//
// Call order: write / gap in body order, then end once.
type entity struct {
	c    *conn
	m    *message
	mode emode

	// The body as sent (coded).
	rawMeta  sink.Meta
	raw      *plainTarget // nil unless kept or fallen back to
	held     []byte       // coded bytes kept for a fallback, at most maxHeld
	heldFull bool
	seen     int64 // coded bytes so far, gaps included

	// The decoded body.
	dec     *decoder
	out     target
	decoded int64
	lastTS  time.Time
}

// target receives a body's bytes, transfer and content codings removed.
type target interface {
	write(p []byte, ts time.Time)
	gap(n int64, ts time.Time)
	// end closes what the target created, in the given state.
	end(st sink.State, reason string)
	// began reports whether the target created a file.
	began() bool
}

func (e *entity) flag(f string) { e.m.flag(f) }

// write takes the next body bytes.
func (e *entity) write(p []byte, ts time.Time) {
	e.seen += int64(len(p))
	e.lastTS = ts
	switch e.mode {
	case modeIdentity:
		e.out.write(p, ts)
	case modeDecode:
		if e.raw != nil {
			e.raw.write(p, ts)
		} else if !e.heldFull {
			if len(e.held)+len(p) <= maxHeld && e.c.p.codedCopies+int64(len(p)) <= maxHeldTotal {
				e.held = append(e.held, p...)
				e.c.p.codedCopies += int64(len(p))
			} else {
				e.heldFull = true
			}
		}
		e.dec.push(p, e.emit)
		if e.mode == modeDecode && e.dec.err != nil {
			e.abandon("decode-error", e.dec.err.Error())
		}
	case modeRaw:
		e.raw.write(p, ts)
	case modeDrop:
		if e.raw != nil {
			e.raw.write(p, ts)
		}
	}
}

// gap says n body bytes are missing.
func (e *entity) gap(n int64, ts time.Time) {
	switch e.mode {
	case modeIdentity:
		e.out.gap(n, ts)
	case modeDecode:
		// A decompressor cannot cross a hole: the decoded file ends
		// here, and the rest is kept as sent, hole included.
		e.abandon("gap", "")
		e.raw.gap(n, ts)
	case modeRaw:
		e.raw.gap(n, ts)
	case modeDrop:
		if e.raw != nil {
			e.raw.gap(n, ts)
		}
	}
	e.seen += n
}

// emit writes decoded bytes, bounded by MaxDecodedSize.
func (e *entity) emit(p []byte) bool {
	if limit := e.c.env.Options.MaxDecodedSize; limit > 0 && e.decoded+int64(len(p)) > limit {
		if k := limit - e.decoded; k > 0 {
			e.out.write(p[:k], e.lastTS)
			e.decoded += k
		}
		e.out.end(sink.Truncated, "decoded-size-limit")
		e.flag("decoded-size-limit")
		e.mode = modeDrop
		return false
	}
	e.out.write(p, e.lastTS)
	e.decoded += int64(len(p))
	return true
}

// abandon stops decoding: the decoded file (if any bytes came out) ends
// truncated with reason, and the body goes on as sent, from its start.
func (e *entity) abandon(reason, detail string) {
	e.dec.abort()
	if e.out.began() {
		e.out.end(sink.Truncated, reason)
	}
	if reason == "decode-error" {
		e.flag("decode-error")
		e.c.p.stats.DecodeErrors++
	}
	e.mode = modeRaw
	if e.raw != nil {
		return // kept from the start (--keep-encoded)
	}
	meta := e.rawMeta
	meta.Extra = maps.Clone(meta.Extra)
	meta.Name = e.out0Name()
	if reason == "decode-error" {
		meta.Extra["decode_error"] = detail
	} else {
		meta.Extra["not_decoded"] = reason // "gap", "incomplete-rst"...
	}
	e.raw = &plainTarget{c: e.c, m: e.m, meta: meta}
	if len(e.held) > 0 {
		e.raw.write(e.held, e.lastTS)
	}
	if missing := e.seen - int64(len(e.held)); missing > 0 {
		e.raw.gap(missing, e.lastTS)
	}
	e.dropHeld()
}

// dropHeld forgets the coded copy.
func (e *entity) dropHeld() {
	e.c.p.codedCopies -= int64(len(e.held))
	e.held = nil
	e.heldFull = true
}

// out0Name is the name of the decoded file: a body kept as sent because
// it did not decode gets the plain name (its content is whatever it is;
// sniffing gives the extension when the name has none).
func (e *entity) out0Name() string {
	if pt, ok := e.out.(*plainTarget); ok {
		return pt.meta.Name
	}
	return ""
}

// end: the body ended; ok says its framing ended where the protocol says.
func (e *entity) end(ok bool, reason string) {
	st := sink.Complete
	if !ok {
		st = sink.Truncated
	}
	switch e.mode {
	case modeIdentity:
		e.out.end(st, reason)
	case modeDecode:
		switch {
		case !ok:
			e.dec.abort()
			if e.out.began() {
				e.out.end(sink.Truncated, reason)
			} else if e.seen > 0 {
				// Nothing decoded yet: keep what came, as sent.
				e.abandon(reason, "")
			}
		default:
			err := e.dec.finish(e.emit)
			switch {
			case e.mode != modeDecode:
				// the size limit was met while finishing
			case err != nil:
				e.abandon("decode-error", err.Error())
			default:
				if e.dec.trailing > 0 {
					e.flag("trailing-data")
				}
				e.out.end(sink.Complete, "")
			}
		}
	case modeRaw, modeDrop:
	}
	if e.dec != nil {
		e.dec.abort()
	}
	if e.raw != nil {
		e.raw.end(st, reason)
	}
	e.dropHeld()
}

// plainTarget writes one file, created at its first byte or hole (so a
// body that never carries a byte leaves no empty file behind).
type plainTarget struct {
	c       *conn
	m       *message
	meta    sink.Meta
	f       file
	created bool
	closed  bool
}

func (t *plainTarget) open() file {
	if t.f == nil && !t.closed {
		t.f = t.c.create(t.meta)
		t.created = t.f != nil
		t.closed = t.f == nil
	}
	return t.f
}

func (t *plainTarget) write(p []byte, ts time.Time) {
	if f := t.open(); f != nil {
		if _, err := f.Write(p); err != nil {
			t.c.fail(err)
			return
		}
		f.SetLastTS(ts)
	}
}

func (t *plainTarget) gap(n int64, ts time.Time) {
	if f := t.open(); f != nil {
		f.Gap(n)
	}
}

func (t *plainTarget) end(st sink.State, reason string) {
	if t.f == nil {
		t.closed = true
		return
	}
	f := t.f
	t.f, t.closed = nil, true
	e, err := f.Close(st, reason)
	if err != nil {
		t.c.fail(err)
		return
	}
	t.c.addFile(t.m, fileRecOf(e))
}

func (t *plainTarget) began() bool { return t.created }

// multipartTarget buffers a multipart body (bounded) and, once it is
// whole, splits it into its parts with mime/multipart: form-data parts
// become one file each; byteranges parts (a 206 with several ranges) go to
// their object's assembly. A body that has a hole, outgrows the bounds,
// does not parse or has too many parts is kept whole instead.
type multipartTarget struct {
	c          *conn
	m          *message
	boundary   string
	byteranges *rangeInfo // set for multipart/byteranges
	whole      *plainTarget
	buf        []byte
	spilled    bool
}

func (t *multipartTarget) spill(why string) {
	if t.spilled {
		return
	}
	t.spilled = true
	if why != "" {
		t.m.flag(why)
	}
	t.c.p.mpBytes -= int64(len(t.buf))
	if len(t.buf) > 0 {
		t.whole.write(t.buf, t.m.ts)
	}
	t.buf = nil
}

func (t *multipartTarget) write(p []byte, ts time.Time) {
	if !t.spilled && (len(t.buf)+len(p) > maxMultipart || t.c.p.mpBytes+int64(len(p)) > maxMultipartTotal) {
		t.spill("multipart-too-large")
	}
	if t.spilled {
		t.whole.write(p, ts)
		return
	}
	t.buf = append(t.buf, p...)
	t.c.p.mpBytes += int64(len(p))
}

func (t *multipartTarget) gap(n int64, ts time.Time) {
	t.spill("")
	t.whole.gap(n, ts)
}

func (t *multipartTarget) began() bool { return len(t.buf) > 0 || t.whole.began() }

func (t *multipartTarget) end(st sink.State, reason string) {
	if t.spilled || st != sink.Complete {
		t.spill("")
		t.whole.end(st, reason)
		return
	}
	buf := t.buf
	t.c.p.mpBytes -= int64(len(buf))
	t.buf = nil
	if n, ok := countParts(buf, t.boundary); !ok || n == 0 || n > maxParts {
		t.spilled = true
		t.m.flag("multipart-unsplit")
		if len(buf) > 0 {
			t.whole.write(buf, t.m.ts)
		}
		t.whole.end(st, reason)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(buf), t.boundary)
	for i := 1; ; i++ {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if t.byteranges != nil {
			t.c.rangePart(t.m, t.byteranges, part)
			continue
		}
		filename, field := dispositionFilename(part.Header.Get("Content-Disposition"))
		meta := t.whole.meta
		meta.Extra = maps.Clone(meta.Extra)
		meta.Name = filename
		meta.ExpectedSize = -1
		meta.DeclaredMIME, _ = mediaType(part.Header.Get("Content-Type"))
		meta.Extra["part"] = i
		if field != "" {
			meta.Extra["form_field"] = field
		}
		pt := &plainTarget{c: t.c, m: t.m, meta: meta}
		var scratch [32 << 10]byte
		empty := true
		for {
			n, err := part.Read(scratch[:])
			if n > 0 {
				empty = false
				pt.write(scratch[:n], t.m.ts)
			}
			if err != nil {
				break
			}
		}
		if empty && filename != "" {
			// An empty upload is still an upload: make its file.
			pt.open()
		}
		pt.end(sink.Complete, "")
	}
}

// countParts walks a multipart body and reports how many parts it has,
// and whether it is well formed to its closing boundary.
func countParts(body []byte, boundary string) (int, bool) {
	if boundary == "" {
		return 0, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return n, true
		}
		if err != nil {
			return n, false
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			return n, false
		}
		if n++; n > maxParts {
			return n, true
		}
	}
}

// codingSuffix is the file-name suffix of a body kept as sent, after its
// outermost coding: "gzip, br" gives ".br".
func codingSuffix(contentCodings []string) string {
	if len(contentCodings) == 0 {
		return ""
	}
	switch strings.ToLower(contentCodings[len(contentCodings)-1]) {
	case "gzip", "x-gzip":
		return ".gz"
	case "deflate":
		return ".deflate"
	case "br":
		return ".br"
	case "zstd":
		return ".zst"
	case "compress", "x-compress":
		return ".Z"
	}
	return ".encoded"
}
