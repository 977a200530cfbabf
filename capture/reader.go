// Package capture reads packets from capture files: classic pcap (µs and ns
// resolution, either byte order, gzip-compressed or not) and pcapng (any
// number of sections and interfaces, mixed link types). The format is told by
// the file's magic number, never by its name. It owns opening, format
// detection and locating faults (file, packet number, byte offset); it does
// not decode packets.
//
// Call order:
//  1. Open (or NewReader on an io.Reader, "-" is standard input in Open).
//  2. Next until it returns io.EOF (clean end) or a *Fault (damaged input).
//  3. Close.
//
// The data returned by Next is owned by the Reader and overwritten by the next
// call: copy what you keep.
package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is the container format of a capture file.
type Format string

// Formats told apart by magic number.
const (
	FormatPcap   Format = "pcap"
	FormatPcapNS Format = "pcap-ns"
	FormatPcapNG Format = "pcapng"
)

// Fault describes damaged input: where it is and what is wrong. Packets read
// before it are good.
type Fault struct {
	File   string
	Packet uint64 // 1-based number, within the file, of the packet that could not be read
	Offset int64  // byte offset in the file (in the decompressed stream for gzip input); -1 if unknown
	Err    error
}

func (f *Fault) Error() string {
	if f.Offset >= 0 {
		return fmt.Sprintf("%s: packet %d at byte offset %d: %v", f.File, f.Packet, f.Offset, f.Err)
	}
	return fmt.Sprintf("%s: packet %d: %v", f.File, f.Packet, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// Packet is what Next returns besides the bytes.
type Packet struct {
	CI       gopacket.CaptureInfo
	LinkType layers.LinkType
	Num      uint64 // 1-based packet number within this file
	Offset   int64  // byte offset of the record in the file; -1 where the format does not tell
}

// Reader reads one capture file.
type Reader struct {
	Name   string
	Format Format
	Gzip   bool

	closer io.Closer
	src    io.Reader // what Interrupt may close
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	link   layers.LinkType
	count  *countingReader
	num    uint64
	off    int64 // classic pcap: offset of the next record
	snap   uint32
}

// Open opens a capture file by name; "-" reads standard input.
func Open(name string) (*Reader, error) {
	if name == "-" {
		in := stdin()
		r, err := NewReader(in, "<stdin>")
		if r != nil {
			r.src = in
		}
		return r, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, name)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer, r.src = f, f
	return r, nil
}

// Interrupt makes a Next blocked on input (a pipe, standard input) return:
// it closes what the Reader reads from. Safe to call from another
// goroutine; the Reader is unusable afterwards.
func (r *Reader) Interrupt() {
	if c, ok := r.src.(io.Closer); ok {
		c.Close()
	}
}

const (
	magicPcapUS   = 0xa1b2c3d4
	magicPcapNS   = 0xa1b23c4d
	magicPcapNGSH = 0x0a0d0d0a
)

// NewReader reads a capture from r; name is used in messages.
func NewReader(r io.Reader, name string) (*Reader, error) {
	cr := &Reader{Name: name}
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			if len(head) == 0 {
				return nil, fmt.Errorf("%s: empty file, not a capture", name)
			}
			return nil, fmt.Errorf("%s: file too short (%d bytes) to be a capture", name, len(head))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var src io.Reader = br
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		cr.Gzip = true
		zbr := bufio.NewReaderSize(zr, 1<<20)
		head, err = zbr.Peek(4)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip-compressed, but %w", name, err)
		}
		src = zbr
	}
	cr.count = &countingReader{r: src}
	le := binary.LittleEndian.Uint32(head)
	be := binary.BigEndian.Uint32(head)
	switch {
	case le == magicPcapNGSH:
		cr.Format = FormatPcapNG
		ng, err := pcapgo.NewNgReader(cr.count, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: pcapng section header: %w", name, err)
		}
		cr.ng = ng
	case le == magicPcapUS || be == magicPcapUS || le == magicPcapNS || be == magicPcapNS:
		cr.Format = FormatPcap
		if le == magicPcapNS || be == magicPcapNS {
			cr.Format = FormatPcapNS
		}
		pr, err := pcapgo.NewReader(cr.count)
		if err != nil {
			return nil, fmt.Errorf("%s: pcap file header: %w", name, err)
		}
		cr.pcap = pr
		cr.link = pr.LinkType()
		cr.snap = pr.Snaplen()
		cr.off = 24
	default:
		return nil, fmt.Errorf("%s: not a pcap or pcapng file (magic %02x %02x %02x %02x)", name, head[0], head[1], head[2], head[3])
	}
	return cr, nil
}

// maxRecord bounds a single record: no link type carries more than this in
// one frame, and a larger length is a corrupt header, not a packet.
const maxRecord = 1 << 20

// Next returns the next packet. It returns io.EOF at a clean end of file and
// a *Fault when the file is damaged (truncated record, corrupt header, bad
// block); after a Fault, the rest of the file cannot be trusted.
func (r *Reader) Next() ([]byte, Packet, error) {
	var p Packet
	r.num++
	p.Num = r.num
	if r.pcap != nil {
		p.Offset = r.off
		data, ci, err := r.pcap.ZeroCopyReadPacketData()
		if err == io.EOF && r.count.n > r.off {
			// pcapgo says EOF both at a record boundary and when a
			// record's header is whole but its data is missing; at the
			// end of input the whole file has been read, so bytes past
			// the last complete record mean it was cut.
			err = fmt.Errorf("capture ends inside a packet record (file truncated, %d bytes after the last complete record)", r.count.n-r.off)
		}
		if err != nil {
			return nil, p, r.fault(err, p.Offset, true)
		}
		if ci.CaptureLength > maxRecord {
			return nil, p, r.fault(fmt.Errorf("record length %d is beyond any link type's frame size", ci.CaptureLength), p.Offset, false)
		}
		r.off += 16 + int64(ci.CaptureLength)
		p.CI = ci
		p.LinkType = r.link
		return data, p, nil
	}
	data, ci, err := r.ng.ZeroCopyReadPacketData()
	if err != nil {
		return nil, p, r.fault(err, -1, true)
	}
	p.Offset = -1
	p.CI = ci
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			p.LinkType = lt
		}
	}
	return data, p, nil
}

func (r *Reader) fault(err error, off int64, allowEOF bool) error {
	if allowEOF && err == io.EOF {
		r.num--
		return io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("capture ends inside a packet record (file truncated)")
	}
	if off < 0 {
		// pcapng: the reader is buffered, so say how far the file was read.
		return &Fault{File: r.Name, Packet: r.num, Offset: -1, Err: fmt.Errorf("%w (after reading %d bytes)", err, r.count.n)}
	}
	return &Fault{File: r.Name, Packet: r.num, Offset: off, Err: err}
}

// Close closes the underlying file (not standard input).
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// LinkTypeName names a link type for messages.
func LinkTypeName(lt layers.LinkType) string {
	return fmt.Sprintf("%s (%d)", lt.String(), int(lt))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Pos is how many bytes of the (decompressed) stream have been consumed so
// far, read-ahead included: good for progress, not for locating a packet.
func (r *Reader) Pos() int64 { return r.count.n }
