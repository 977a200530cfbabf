package tls

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// reader reads big-endian fields from a handshake message body. Reading
// past the end sets bad and returns zeros: callers check bad once at the
// end (the sticky-error style of archive/tar.Reader).
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.bad, r.b = true, nil
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() int {
	if len(r.b) < 2 {
		r.bad, r.b = true, nil
		return 0
	}
	v := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) u24() int {
	if len(r.b) < 3 {
		r.bad, r.b = true, nil
		return 0
	}
	v := int(r.b[0])<<16 | int(r.b[1])<<8 | int(r.b[2])
	r.b = r.b[3:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8, vec16, vec24 read a vector with a 1-, 2- or 3-byte length prefix.
// extensions reads the extensions block that ends a hello message (none at
// all is allowed) and calls fn with each extension's type and body; what
// names the message in errors.
func extensions(r *reader, what string, fn func(typ int, e *reader)) error {
	if len(r.b) == 0 {
		return nil
	}
	exts := reader{b: r.vec16()}
	if r.bad {
		return errors.New(what + " extensions cut short")
	}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		data := exts.vec16()
		if exts.bad {
			break
		}
		fn(typ, &reader{b: data})
	}
	if exts.bad {
		return errors.New(what + " extension cut short")
	}
	return nil
}

func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }
func (r *reader) vec24() []byte { return r.bytes(r.u24()) }

// Extension types read here (IANA TLS ExtensionType Values).
const (
	extServerName        = 0
	extSupportedGroups   = 10
	extALPN              = 16
	extPreSharedKey      = 41
	extSupportedVersions = 43
	extKeyShare          = 51
)

// clientHello is what streamx keeps of a ClientHello.
type clientHello struct {
	version   uint16 // legacy_version
	sessionID []byte
	ciphers   int // number of cipher suites offered
	sni       string
	alpn      []string
	versions  []uint16 // supported_versions, GREASE removed
}

// parseClientHello reads a ClientHello body (RFC 8446 4.1.2, RFC 5246
// 7.4.1.2), the bytes after the 4-byte handshake header:
//
//	03 03                          legacy_version (TLS 1.2)
//	<32 bytes>                     random
//	20 <32 bytes>                  legacy_session_id
//	00 06 13 01 13 02 c0 2f        cipher_suites
//	01 00                          legacy_compression_methods
//	00 2d                          extensions: type(2) length(2) data
//	  00 00 00 11 00 0f 00 00 0c "example.test"    server_name (host_name)
//	  00 10 00 0b 00 09 08 "http/1.1"              application_layer_protocol_negotiation
//	  00 2b 00 05 04 03 04 03 03                   supported_versions
//
// Extensions are optional (SSLv3 and early TLS clients send none).
func parseClientHello(body []byte) (clientHello, error) {
	var h clientHello
	r := reader{b: body}
	h.version = uint16(r.u16())
	r.bytes(32)
	h.sessionID = r.vec8()
	h.ciphers = len(r.vec16()) / 2
	r.vec8()
	if r.bad {
		return h, errors.New("ClientHello cut short")
	}
	err := extensions(&r, "ClientHello", func(typ int, e *reader) {
		switch typ {
		case extServerName:
			// 00 0f 00 00 0c "example.test": list length, name_type 0
			// (host_name), name length, name.
			list := reader{b: e.vec16()}
			for len(list.b) > 0 && !list.bad {
				kind := list.u8()
				name := list.vec16()
				if kind == 0 && !list.bad && h.sni == "" {
					h.sni = string(name)
				}
			}
		case extALPN:
			// 00 0c 02 "h2" 08 "http/1.1": list length, then each
			// protocol with a 1-byte length.
			list := reader{b: e.vec16()}
			for len(list.b) > 0 && !list.bad {
				p := list.vec8()
				if !list.bad {
					h.alpn = append(h.alpn, string(p))
				}
			}
		case extSupportedVersions:
			// 04 03 04 03 03: list length (1 byte), then versions.
			list := reader{b: e.vec8()}
			for len(list.b) >= 2 {
				v := uint16(list.u16())
				if !isGREASE(v) {
					h.versions = append(h.versions, v)
				}
			}
		}
	})
	return h, err
}

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446 4.1.3): SHA-256("HelloRetryRequest").
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// serverHello is what streamx keeps of a ServerHello.
type serverHello struct {
	legacy    uint16 // legacy_version
	version   uint16 // the chosen version: supported_versions if present, else legacy_version
	sessionID []byte
	cipher    uint16
	alpn      string
	group     uint16 // key_share's group (TLS 1.3), 0 if none
	psk       bool   // pre_shared_key accepted (TLS 1.3 resumption)
	retry     bool   // a HelloRetryRequest
}

// parseServerHello reads a ServerHello body (RFC 8446 4.1.3):
//
//	03 03                          legacy_version
//	<32 bytes>                     random (HelloRetryRequest: a fixed value)
//	20 <32 bytes>                  legacy_session_id_echo
//	13 01                          cipher_suite
//	00                             legacy_compression_method
//	00 2e                          extensions
//	  00 2b 00 02 03 04            supported_versions: TLS 1.3
//	  00 33 00 24 00 1d 00 20 ...  key_share: x25519 and the key
//
// A TLS 1.2 server may send no extensions at all.
func parseServerHello(body []byte) (serverHello, error) {
	var h serverHello
	r := reader{b: body}
	h.legacy = uint16(r.u16())
	h.version = h.legacy
	random := r.bytes(32)
	h.sessionID = r.vec8()
	h.cipher = uint16(r.u16())
	r.u8()
	if r.bad {
		return h, errors.New("ServerHello cut short")
	}
	h.retry = bytes.Equal(random, helloRetryRandom)
	err := extensions(&r, "ServerHello", func(typ int, e *reader) {
		switch typ {
		case extSupportedVersions:
			if v := uint16(e.u16()); !e.bad {
				h.version = v
			}
		case extALPN:
			list := reader{b: e.vec16()}
			if p := list.vec8(); !list.bad {
				h.alpn = string(p)
			}
		case extKeyShare:
			// ServerHello: group(2) key_exchange<1..2^16-1>;
			// HelloRetryRequest: selected_group(2) only.
			if g := uint16(e.u16()); !e.bad {
				h.group = g
			}
		case extPreSharedKey:
			h.psk = true
		}
	})
	return h, err
}

// certInfo is what streamx keeps of a certificate chain.
type certInfo struct {
	fps    []string // SHA-256 of each certificate's DER, leaf first
	leaf   *x509.Certificate
	errors []string // one per certificate that did not parse, and framing errors
}

// maxChain bounds the certificates read from one Certificate message.
const maxChain = 16

// parseCertificate reads a TLS 1.2 (and earlier) Certificate body
// (RFC 5246 7.4.2):
//
//	00 0a 3c                   certificate_list length
//	00 05 1e 30 82 05 1a ...   each certificate: length (3 bytes), ASN.1 DER
//
// Every certificate gets its fingerprint, parsed or not; a certificate that
// crypto/x509 cannot parse is recorded as an error, never fatal.
func parseCertificate(body []byte) certInfo {
	var ci certInfo
	r := reader{b: body}
	list := reader{b: r.vec24()}
	if r.bad {
		ci.errors = append(ci.errors, "Certificate message cut short")
		return ci
	}
	for i := 0; len(list.b) > 0 && !list.bad; i++ {
		der := list.vec24()
		if list.bad {
			ci.errors = append(ci.errors, fmt.Sprintf("certificate %d cut short", i))
			break
		}
		if i >= maxChain {
			ci.errors = append(ci.errors, fmt.Sprintf("more than %d certificates: the rest not read", maxChain))
			break
		}
		sum := sha256.Sum256(der)
		ci.fps = append(ci.fps, hex.EncodeToString(sum[:]))
		if i == 0 {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				ci.errors = append(ci.errors, fmt.Sprintf("certificate 0: %v", err))
				continue
			}
			ci.leaf = c
		}
	}
	return ci
}

// parseServerKeyExchangeCurve returns the named group of an ECDHE
// ServerKeyExchange (RFC 8422 5.4), 0 for other key exchanges:
//
//	03          curve_type: named_curve
//	00 17       namedcurve: secp256r1
//	41 04 ...   public key
func parseServerKeyExchangeCurve(body []byte) uint16 {
	if len(body) >= 4 && body[0] == 3 && int(body[3]) > 0 && len(body) >= 4+int(body[3]) {
		return uint16(body[1])<<8 | uint16(body[2])
	}
	return 0
}

// validity returns a certificate's NotBefore/NotAfter, in UTC.
func validity(c *x509.Certificate) (time.Time, time.Time) {
	return c.NotBefore.UTC(), c.NotAfter.UTC()
}
