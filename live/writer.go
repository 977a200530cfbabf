package live

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// WriterOptions say how Writer lays packets out in files.
type WriterOptions struct {
	LinkType layers.LinkType
	Snaplen  uint32 // written in each file's header
	// RotateSize starts a new file before one would grow past this many
	// bytes (0: never). A file always holds at least one packet, so a
	// packet larger than RotateSize gets a file of its own.
	RotateSize int64
	// RotateEvery starts a new file when a packet's timestamp is this far
	// past the first packet of the current file (0: never).
	RotateEvery time.Duration
}

// Writer saves packets to classic pcap files (nanosecond timestamps,
// little-endian), as tcpdump -w does: FILE, then on rotation FILE.1,
// FILE.2, … (RotatedName). Read them back in that order, as one capture:
// streamx extract FILE FILE.1 FILE.2 … (or $(ls -v FILE FILE.*)).
//
// A Writer never overwrites: Create refuses a FILE or FILE.N that already
// exists, and each file is created exclusively. Errors are sticky and are
// *WriteError. A Writer is not safe for concurrent use.
type Writer struct {
	path  string
	opts  WriterOptions
	f     *os.File
	bw    *bufio.Writer
	pw    *pcapgo.Writer
	size  int64     // bytes in the current file, header included
	start time.Time // first packet of the current file
	pkts  int64     // packets in the current file
	files []string
	err   error
}

// WriteError is a failure to write the -w capture (a full disk, a
// permission): the tool's own failure, not the traffic's.
type WriteError struct {
	Path string
	Err  error
}

func (e *WriteError) Error() string { return fmt.Sprintf("writing %s: %v", e.Path, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// RotatedName is the name of the i-th file (0-based) a Writer makes from path.
func RotatedName(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}

// CreateWriter creates path and writes its pcap header.
func CreateWriter(path string, o WriterOptions) (*Writer, error) {
	if o.Snaplen == 0 {
		o.Snaplen = DefaultSnaplen
	}
	if err := checkFree(path); err != nil {
		return nil, err
	}
	w := &Writer{path: path, opts: o}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// checkFree refuses to start when path or one of its rotated names exists:
// a capture is evidence, and an old one must not be mixed up with it.
func checkFree(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return &WriteError{path, fmt.Errorf("%w (not overwritten)", fs.ErrExist)}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &WriteError{path, fmt.Errorf("folder %s does not exist", dir)}
		}
		return &WriteError{path, err}
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), base+".")
		if _, err := strconv.Atoi(rest); ok && err == nil {
			return &WriteError{path, fmt.Errorf("%s: %w (a rotated file of an earlier capture; not overwritten)", filepath.Join(dir, e.Name()), fs.ErrExist)}
		}
	}
	return nil
}

func (w *Writer) open() error {
	name := RotatedName(w.path, len(w.files))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		w.err = &WriteError{name, err}
		return w.err
	}
	w.f, w.bw = f, bufio.NewWriterSize(f, 256<<10)
	w.pw = pcapgo.NewWriterNanos(w.bw)
	w.files = append(w.files, name)
	w.size, w.pkts, w.start = 24, 0, time.Time{}
	if err := w.pw.WriteFileHeader(w.opts.Snaplen, w.opts.LinkType); err != nil {
		w.err = &WriteError{name, err}
		return w.err
	}
	return nil
}

// closeFile flushes and closes the current file.
func (w *Writer) closeFile() error {
	if w.f == nil {
		return nil
	}
	name := w.files[len(w.files)-1]
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f, w.bw, w.pw = nil, nil, nil
	if err != nil {
		return &WriteError{name, err}
	}
	return nil
}

// WritePacket appends one packet, first starting a new file if the current
// one is full (RotateSize) or old enough (RotateEvery, by packet time).
// data is not kept.
func (w *Writer) WritePacket(ci gopacket.CaptureInfo, data []byte) error {
	if w.err != nil {
		return w.err
	}
	ci.CaptureLength = len(data)
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	rec := int64(16 + len(data))
	if w.pkts > 0 && ((w.opts.RotateSize > 0 && w.size+rec > w.opts.RotateSize) ||
		(w.opts.RotateEvery > 0 && ci.Timestamp.Sub(w.start) >= w.opts.RotateEvery)) {
		if err := w.closeFile(); err != nil {
			w.err = err
			return err
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.pkts == 0 {
		w.start = ci.Timestamp
	}
	if err := w.pw.WritePacket(ci, data); err != nil {
		w.err = &WriteError{w.files[len(w.files)-1], err}
		return w.err
	}
	w.size += rec
	w.pkts++
	return nil
}

// Flush pushes buffered packets to the current file, so that it can be
// read while the capture goes on.
func (w *Writer) Flush() error {
	if w.err != nil || w.bw == nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = &WriteError{w.files[len(w.files)-1], err}
	}
	return w.err
}

// Close flushes and closes the current file. It returns the first error
// the Writer met, if any.
func (w *Writer) Close() error {
	if w.err == errClosed {
		return nil
	}
	err := w.closeFile()
	if w.err == nil {
		w.err = err
	}
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	return nil
}

var errClosed = errors.New("writer closed")

// Files lists the files written so far, in order.
func (w *Writer) Files() []string { return append([]string(nil), w.files...) }
