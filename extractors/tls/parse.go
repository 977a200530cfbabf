package tls

import (
	"fmt"
	"time"
)

// Record content types (RFC 8446 5.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24
)

// Handshake message types (RFC 8446 4, RFC 5246 7.4).
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsCertificate       = 11
	hsServerKeyExchange = 12
)

// Bounds.
const (
	// maxRecord is the largest record body accepted: TLSCiphertext's
	// 2^14 + 2048 (RFC 5246 6.2.3). A larger length means the bytes are
	// not TLS records (or the stream lost its framing): the direction stops.
	maxRecord = 1<<14 + 2048
	// maxHandshake is the largest handshake message buffered. A larger one
	// (a certificate chain of more than 128 KiB) is skipped, and said so.
	maxHandshake = 128 << 10
)

// events is what a direction's parser reports, in wire order. conn
// implements it; tests use their own.
type events interface {
	record(dir int, typ byte, length int, ts time.Time)
	handshake(dir int, typ byte, body []byte, ts time.Time)
	changeCipherSpec(dir int, ts time.Time)
	alert(dir int, level, desc byte, ts time.Time)
	note(dir int, msg string)
}

// dirParser is the push parser of one direction's TLS records: fed any
// number of bytes at a time, split anywhere, it frames records, reassembles
// handshake messages split across records (and across segments), and
// reports them. Once the direction's handshake is encrypted (after its
// ChangeCipherSpec, or a TLS 1.3 ServerHello), records are only framed and
// counted. It stops for good at a gap or at bytes that are not a TLS record
// header; stopped says why.
//
// Buffers: a record header (5 bytes), an alert (2 bytes), and the handshake
// message being assembled (up to maxHandshake). Data passed to feed is not
// retained.
type dirParser struct {
	dir     int
	ev      events
	hdr     [5]byte
	nhdr    int
	typ     byte
	length  int // body length of the current record
	left    int // body bytes of the current record still to come
	inBody  bool
	alert   [2]byte
	nalert  int
	hs      []byte // the handshake message being assembled, header included
	hsLen   int    // its body length; -1 while its 4-byte header is incomplete
	hsSkip  int    // bytes of an oversized handshake message still to skip
	cipher  bool   // handshake and alert records are encrypted from here on
	stopped string // why parsing stopped; "" while it goes on
	records int
}

func newDirParser(dir int, ev events) *dirParser {
	return &dirParser{dir: dir, ev: ev, hsLen: -1}
}

// stop ends parsing of the direction, with the reason.
func (p *dirParser) stop(why string) {
	if p.stopped == "" {
		p.stopped = why
		p.hs = nil
		p.ev.note(p.dir, why)
	}
}

// feed parses the next bytes of the direction.
//
// A record (RFC 8446 5.1):
//
//	16 03 01 00 f4    content type 22 (handshake), legacy version 3.1, length 244
//	01 00 00 f0 ...   the fragment: here a ClientHello's handshake header and body
func (p *dirParser) feed(data []byte, ts time.Time) {
	for len(data) > 0 && p.stopped == "" {
		if !p.inBody {
			n := copy(p.hdr[p.nhdr:], data)
			p.nhdr += n
			data = data[n:]
			if p.nhdr < len(p.hdr) {
				return
			}
			p.nhdr = 0
			typ, major, minor := p.hdr[0], p.hdr[1], p.hdr[2]
			length := int(p.hdr[3])<<8 | int(p.hdr[4])
			if typ < recChangeCipherSpec || typ > recHeartbeat || major != 3 || minor > 4 {
				p.stop(fmt.Sprintf("not a TLS record header (% x) after %d records: not parsed further", p.hdr[:], p.records))
				return
			}
			if length > maxRecord {
				p.stop(fmt.Sprintf("record of %d bytes (more than %d) after %d records: not parsed further", length, maxRecord, p.records))
				return
			}
			p.records++
			p.typ, p.length, p.left, p.inBody, p.nalert = typ, length, length, true, 0
			p.ev.record(p.dir, typ, length, ts)
			if length == 0 {
				p.endRecord(ts)
			}
			continue
		}
		n := min(p.left, len(data))
		body := data[:n]
		data = data[n:]
		p.left -= n
		switch p.typ {
		case recHandshake:
			if !p.cipher {
				p.handshakeBytes(body, ts)
			}
		case recAlert:
			if !p.cipher && p.length == 2 {
				p.nalert += copy(p.alert[p.nalert:], body)
			}
		}
		if p.left == 0 {
			p.endRecord(ts)
		}
	}
}

// endRecord reports what a complete record means once its last byte is in.
func (p *dirParser) endRecord(ts time.Time) {
	p.inBody = false
	switch p.typ {
	case recChangeCipherSpec:
		// 14 03 03 00 01 01
		p.ev.changeCipherSpec(p.dir, ts)
	case recAlert:
		// 15 03 03 00 02 02 28: fatal (2) handshake_failure (40)
		if !p.cipher && p.length == 2 && p.nalert == 2 {
			p.ev.alert(p.dir, p.alert[0], p.alert[1], ts)
		}
	}
}

// handshakeBytes reassembles handshake messages from the bodies of
// handshake records: a message may span records, and a record may hold
// several messages.
//
//	02 00 00 76 03 03 ...   type 2 (ServerHello), length 118, body
func (p *dirParser) handshakeBytes(b []byte, ts time.Time) {
	for len(b) > 0 && !p.cipher && p.stopped == "" {
		if p.hsSkip > 0 {
			n := min(p.hsSkip, len(b))
			p.hsSkip -= n
			b = b[n:]
			continue
		}
		if p.hsLen < 0 {
			n := min(4-len(p.hs), len(b))
			p.hs = append(p.hs, b[:n]...)
			b = b[n:]
			if len(p.hs) < 4 {
				return
			}
			p.hsLen = int(p.hs[1])<<16 | int(p.hs[2])<<8 | int(p.hs[3])
			if p.hsLen > maxHandshake {
				p.ev.note(p.dir, fmt.Sprintf("handshake message type %d of %d bytes skipped (limit %d)", p.hs[0], p.hsLen, maxHandshake))
				p.hsSkip = p.hsLen
				p.hs, p.hsLen = p.hs[:0], -1
				continue
			}
		}
		n := min(4+p.hsLen-len(p.hs), len(b))
		p.hs = append(p.hs, b[:n]...)
		b = b[n:]
		if len(p.hs) == 4+p.hsLen {
			msg := p.hs
			p.hs, p.hsLen = p.hs[:0], -1
			p.ev.handshake(p.dir, msg[0], msg[4:], ts)
			if cap(p.hs) > 16<<10 {
				p.hs = nil // do not keep a large buffer for the rest of the connection
			}
		}
	}
}

// pending reports whether a handshake message was left incomplete.
func (p *dirParser) pending() bool { return p.stopped == "" && (len(p.hs) > 0 || p.hsSkip > 0) }
