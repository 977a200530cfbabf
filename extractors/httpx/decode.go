package httpx

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// maxLayers bounds the content codings undone on one body (suricata's
// default is similar); a body with more is kept as sent.
const maxLayers = 8

// zstdMaxWindow bounds a zstd stream's window (the decoder's memory).
const zstdMaxWindow = 8 << 20

var errStopped = errors.New("decoding stopped")

// decodable reports whether every coding is one the decoder undoes, and
// names the first that is not.
func decodable(codings []string) (bool, string) {
	if len(codings) > maxLayers {
		return false, fmt.Sprintf("%d layers (at most %d)", len(codings), maxLayers)
	}
	for _, c := range codings {
		switch c {
		case "gzip", "x-gzip", "deflate", "br", "zstd":
		default:
			return false, "unsupported coding " + c
		}
	}
	return true, ""
}

// decodeOrder turns a message's codings, as listed in its header
// (applied first to last), into the order they must be undone: transfer
// codings other than chunked first (they were applied last), then content
// codings, each list reversed. "identity" is dropped.
//
//	Content-Encoding: gzip, deflate    ->  [deflate gzip]
func decodeOrder(contentCodings, transferCodings []string) []string {
	var out []string
	for i := len(transferCodings) - 1; i >= 0; i-- {
		if c := transferCodings[i]; c != "chunked" && c != "identity" {
			out = append(out, c)
		}
	}
	for i := len(contentCodings) - 1; i >= 0; i-- {
		if c := contentCodings[i]; c != "identity" {
			out = append(out, c)
		}
	}
	return out
}

// decoder undoes a body's codings as its bytes arrive, without buffering
// the body and without a goroutine waiting on a reader.
//
// The decompressors of the standard library, brotli and zstd are pull
// readers. decoder runs the chain of them inside a coroutine (iter.Pull):
// when the innermost reader needs input, the coroutine yields back to the
// pusher, which returns; the next push resumes it. Control passes back and
// forth on one goroutine at a time, so nothing runs concurrently, nothing
// can deadlock, and the coroutine is joined by finish or abort. One decoder
// exists per encoded body in progress; its memory is the decompressors'
// windows (flate 32 KiB, brotli up to 16 MiB, zstd bounded to 8 MiB) and a
// 32 KiB output buffer.
//
// Call order: push any number of times, then finish or abort once.
type decoder struct {
	codings []string
	next    func() ([]byte, bool)
	stop    func()
	in      []byte // input the coroutine may read; empty when push returns
	eof     bool
	ended   bool  // the coroutine returned
	err     error // why decoding failed; nil if it did not (yet)
	// out counts decoded bytes; trailing, input bytes after the end of
	// the coded stream.
	out, trailing int64
	live          *int // decoders whose coroutine is not joined yet
}

// newDecoder starts a decoder for codings (in decode order; all
// decodable).
func newDecoder(codings []string, live *int) *decoder {
	d := &decoder{codings: codings, live: live}
	d.next, d.stop = iter.Pull(d.run)
	if live != nil {
		*live++
	}
	return d
}

// feeder is the innermost reader: it hands the coroutine what push gave,
// and yields when it has nothing.
type feeder struct {
	d     *decoder
	yield func([]byte) bool
}

func (f *feeder) Read(p []byte) (int, error) {
	d := f.d
	for len(d.in) == 0 {
		if d.eof {
			return 0, io.EOF
		}
		if !f.yield(nil) {
			return 0, errStopped
		}
	}
	n := copy(p, d.in)
	d.in = d.in[n:]
	return n, nil
}

// run is the coroutine: it builds the chain and copies decoded bytes out.
func (d *decoder) run(yield func([]byte) bool) {
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
		if r := recover(); r != nil && d.err == nil {
			d.err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	var r io.Reader = &feeder{d: d, yield: yield}
	for _, c := range d.codings {
		var err error
		var closer func()
		r, closer, err = layer(c, r, &d.trailing)
		if closer != nil {
			closers = append(closers, closer)
		}
		if err != nil {
			if !errors.Is(err, errStopped) {
				d.err = fmt.Errorf("%s: %w", c, err)
			}
			return
		}
	}
	bp := outBufs.Get().(*[]byte)
	defer outBufs.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			d.out += int64(n)
			if !yield(buf[:n]) {
				return
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			return
		case errors.Is(err, errStopped):
			return
		default:
			d.err = err
			return
		}
	}
}

// layer wraps r in the decompressor of one coding.
func layer(coding string, r io.Reader, trailing *int64) (io.Reader, func(), error) {
	switch coding {
	case "gzip", "x-gzip":
		br := bufio.NewReader(r)
		z, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if z == nil {
			z, err = gzip.NewReader(br)
		} else {
			err = z.Reset(br)
		}
		if err != nil {
			if z != nil {
				gzipReaders.Put(z)
			}
			return nil, nil, err
		}
		z.Multistream(false)
		return &gzipMembers{br: br, z: z, trailing: trailing}, func() { gzipReaders.Put(z) }, nil
	case "deflate":
		// "deflate" is zlib (RFC 1950) by the letter, raw deflate
		// (RFC 1951) by many servers: the zlib header says which.
		br := bufio.NewReader(r)
		h, err := br.Peek(2)
		if err != nil && len(h) < 2 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
		if isZlibHeader(h[0], h[1]) {
			z, err := zlib.NewReader(br)
			if err != nil {
				return nil, nil, err
			}
			return z, nil, nil
		}
		f := flate.NewReader(br)
		return f, func() { f.Close() }, nil
	case "br":
		return brotli.NewReader(r), nil, nil
	case "zstd":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return nil, nil, fmt.Errorf("unsupported coding %s", coding)
}

// Reused between bodies: a decoder's output buffer, and gzip readers
// (their 32 KiB windows). Several workers' decoders share the pools.
var (
	outBufs     = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	gzipReaders sync.Pool
)

// isZlibHeader: CM 8 (deflate), CINFO <= 7, and the header check.
//
//	78 9c   (default compression)
//	78 01   (none)   78 da (best)
func isZlibHeader(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}

// push decodes p. emit gets each decoded piece (valid during the call); it
// returns false to stop decoding (a size limit), which aborts the decoder.
func (d *decoder) push(p []byte, emit func([]byte) bool) {
	if d.ended {
		d.trailing += int64(len(p))
		return
	}
	d.in = p
	d.pump(emit)
	if d.ended {
		d.trailing += int64(len(d.in))
	}
	d.in = nil
}

// finish says the coded stream is whole: what the decoder still holds
// comes out. A stream that ends early is an error (io.ErrUnexpectedEOF).
func (d *decoder) finish(emit func([]byte) bool) error {
	if !d.ended {
		d.eof = true
		d.pump(emit)
		d.abort()
	}
	return d.err
}

// abort stops the decoder where it is and joins its coroutine.
func (d *decoder) abort() {
	if d.stop != nil {
		d.stop()
		d.stop, d.next = nil, nil
		if d.live != nil {
			*d.live--
		}
	}
	d.ended = true
}

func (d *decoder) pump(emit func([]byte) bool) {
	for {
		out, ok := d.next()
		if !ok {
			d.ended = true
			d.abort()
			return
		}
		if out == nil {
			return // wants input
		}
		if !emit(out) {
			d.abort()
			return
		}
	}
}

// gzipMembers reads the gzip members of a body one after the other (RFC
// 1952 allows several); bytes after the last member that are not one are
// trailing data, counted, not a failure of what decoded.
type gzipMembers struct {
	br       *bufio.Reader
	z        *gzip.Reader
	done     bool
	trailing *int64
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for !g.done {
		n, err := g.z.Read(p)
		if err != io.EOF {
			return n, err
		}
		// End of a member: another one, the end, or trailing bytes.
		switch rerr := g.z.Reset(g.br); {
		case rerr == nil:
			g.z.Multistream(false)
		case errors.Is(rerr, errStopped):
			return n, rerr
		default:
			g.done = true
			if rerr != io.EOF {
				*g.trailing++
			}
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}
