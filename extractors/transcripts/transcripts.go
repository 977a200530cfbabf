// Package transcripts is the extractor that writes every connection's
// conversation: one byte-faithful raw file per direction (what the
// originator sent, what the responder sent, gaps kept as holes so offsets
// stay true) and one combined, interleaved transcript for people. It owns
// the transcript files' names and contents; the rendering is package
// transcript's, the descriptors are bounded by an fdpool.
package transcripts

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/internal/fdpool"
	"github.com/streamx/streamx/transcript"
)

// Writer makes the per-connection handlers. Files go to Dir (which must
// exist and is owned by the caller).
type Writer struct {
	Dir    string
	Format transcript.Format // of the combined transcript (ascii or hex)
	// FullBinary escapes binary data byte by byte in the ascii transcript
	// instead of summarising it (the raw files always hold every byte).
	FullBinary bool
	Pool       *fdpool.Pool

	Files int   // files written
	Bytes int64 // bytes written to raw files

	scratch []byte // the renderers' shared buffer (one goroutine uses a Writer)
}

// BaseName is the stem of a connection's transcript files: the stream ID and
// both endpoints, made only of characters safe in any file system.
func BaseName(uid string, orig, resp netip.AddrPort) string {
	return uid + "_" + ep(orig) + "-" + ep(resp)
}

func ep(a netip.AddrPort) string {
	return strings.ReplaceAll(a.Addr().String(), ":", "_") + "." + fmt.Sprint(a.Port())
}

// Paths are a connection's transcript files, relative to the output folder's
// transcripts directory; empty when not written.
type Paths struct {
	Orig, Resp, Text string
}

// Conn is the handler of one connection.
type Conn struct {
	w     *Writer
	s     *engine.Session
	base  string
	raw   [2]*fdpool.File
	text  *fdpool.File
	r     *transcript.Renderer
	Paths Paths
}

// Open returns the handler for a connection.
func (w *Writer) Open(s *engine.Session) *Conn {
	return &Conn{w: w, s: s, base: BaseName(s.Conn.UID, s.Conn.Orig, s.Conn.Resp)}
}

func (c *Conn) fail(err error) {
	c.s.Fail(fmt.Errorf("transcripts: %w", err))
}

func (c *Conn) rawFile(dir int) *fdpool.File {
	if c.raw[dir] == nil {
		suffix := ".orig"
		if dir == 1 {
			suffix = ".resp"
		}
		f, err := c.w.Pool.Create(filepath.Join(c.w.Dir, c.base+suffix))
		if err != nil {
			c.fail(err)
			return nil
		}
		c.w.Files++
		c.raw[dir] = f
		if dir == 0 {
			c.Paths.Orig = c.base + suffix
		} else {
			c.Paths.Resp = c.base + suffix
		}
	}
	return c.raw[dir]
}

func (c *Conn) renderer() *transcript.Renderer {
	if c.r == nil {
		f, err := c.w.Pool.Create(filepath.Join(c.w.Dir, c.base+".txt"))
		if err != nil {
			c.fail(err)
			return nil
		}
		c.w.Files++
		c.text = f
		c.Paths.Text = c.base + ".txt"
		cn := c.s.Conn
		c.r = transcript.New(f, c.w.Format, false, cn.Orig, cn.Resp)
		c.r.Share(&c.w.scratch)
		c.r.FullBinary = c.w.FullBinary
		c.r.RawNames = [2]string{c.base + ".orig", c.base + ".resp"}
		c.r.Comment("streamx transcript of %s (its first packet is frame %d)", cn.UID, cn.FirstPacket)
		c.r.Comment("originator %s  ->  responder %s (originator chosen by %s)", cn.Orig, cn.Resp, cn.OrigBy)
		c.r.Comment("first packet %s", cn.First.UTC().Format(time.RFC3339Nano))
		c.r.Comment(">>> marks what the originator sent, <<< what the responder sent, !!! events (missing bytes, end of a side)")
	}
	return c.r
}

// Data implements engine.Handler.
func (c *Conn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if f := c.rawFile(dir); f != nil {
		if _, err := f.Write(data); err != nil {
			c.fail(err)
		}
		c.w.Bytes += int64(len(data))
	}
	if r := c.renderer(); r != nil {
		r.Data(dir, data, off, ts)
		if r.Err != nil {
			c.fail(r.Err)
		}
	}
}

// Gap implements engine.Handler. The raw file gets a hole of zeros, so every
// byte keeps its true stream offset; the text transcript gets a marker.
func (c *Conn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if f := c.rawFile(dir); f != nil {
		if err := f.Skip(n); err != nil {
			c.fail(err)
		}
	}
	if r := c.renderer(); r != nil {
		r.Gap(dir, off, n, ts)
	}
}

// End implements engine.Handler.
func (c *Conn) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if c.r != nil {
		c.r.End(dir, reason, ts)
	}
}

// Close implements engine.Handler.
func (c *Conn) Close(s *engine.Session) {
	if c.r != nil {
		cn := s.Conn
		c.r.Comment("end: %s (conn_state %s, history %s, %s); originator sent %d bytes, responder %d; %d bytes missing",
			cn.State, cn.ConnState(), cn.History(), cn.EndReason, s.Delivered[0], s.Delivered[1], cn.Missing())
	}
	for _, f := range []*fdpool.File{c.raw[0], c.raw[1], c.text} {
		if f != nil {
			if err := f.Close(); err != nil {
				c.fail(err)
			}
		}
	}
}
