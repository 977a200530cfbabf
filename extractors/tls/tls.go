package tls

import (
	"bytes"
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/manifest"
)

// Record is one line of tls.jsonl: one TLS connection, with the field
// names of Zeek's ssl.log (and of x509.log for the validity dates), then
// streamx's own.
type Record struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	// Version is the version the server chose: "TLSv12", "TLSv13"...
	Version      string `json:"version,omitempty"`
	Cipher       string `json:"cipher,omitempty"`
	Curve        string `json:"curve,omitempty"`
	ServerName   string `json:"server_name,omitempty"`
	Resumed      bool   `json:"resumed"`
	LastAlert    string `json:"last_alert,omitempty"`
	NextProtocol string `json:"next_protocol,omitempty"`
	// Established: both sides went on to encrypted records after the
	// handshake (see the package documentation).
	Established bool `json:"established"`
	// SNIMatchesCert is set when both a server name and a server
	// certificate were seen.
	SNIMatchesCert     *bool        `json:"sni_matches_cert,omitempty"`
	CertChainFps       []string     `json:"cert_chain_fps,omitempty"`
	ClientCertChainFps []string     `json:"client_cert_chain_fps,omitempty"`
	Subject            string       `json:"subject,omitempty"`
	Issuer             string       `json:"issuer,omitempty"`
	ClientSubject      string       `json:"client_subject,omitempty"`
	ClientIssuer       string       `json:"client_issuer,omitempty"`
	NotValidBefore     *manifest.TS `json:"not_valid_before,omitempty"`
	NotValidAfter      *manifest.TS `json:"not_valid_after,omitempty"`

	// streamx: what the client offered, more of the server certificate,
	// and what went wrong while reading.
	ClientVersion           string   `json:"client_version,omitempty"`
	ClientSupportedVersions []string `json:"client_supported_versions,omitempty"`
	ALPN                    []string `json:"alpn,omitempty"`
	ClientCiphers           int      `json:"client_ciphers,omitempty"`
	SANDNS                  []string `json:"san_dns,omitempty"`
	Serial                  string   `json:"serial,omitempty"`
	SelfSigned              bool     `json:"self_signed,omitempty"`
	CertErrors              []string `json:"cert_errors,omitempty"`
	HelloRetry              bool     `json:"hello_retry,omitempty"`
	// Encrypted is always true: the connection carries TLS. It is there so
	// that consumers joining logs on uid need not know which log says so.
	Encrypted bool `json:"encrypted"`
	// Records counts the TLS records framed per side (originator,
	// responder), encrypted ones included.
	OrigRecords int      `json:"orig_records"`
	RespRecords int      `json:"resp_records"`
	Notes       []string `json:"notes,omitempty"`
}

// Protocol is the TLS extractor. It has no state of its own; Observe, if
// set, is told every record after it is logged (streamx's traffic analysis
// uses it). The record must not be kept past the call unless copied.
type Protocol struct {
	Observe func(r *Record)
}

// New returns the TLS extractor.
func New() *Protocol { return &Protocol{} }

// Service implements extractors.Protocol.
func (*Protocol) Service() string { return "tls" }

// New implements extractors.Protocol: the handler of one TLS connection.
func (p *Protocol) New(s *engine.Session, env *extractors.Env) engine.Handler {
	c := newConn(s.Conn.UID, connID(s))
	c.observe = p.Observe
	c.env = env
	return c
}

func connID(s *engine.Session) manifest.ConnID {
	return manifest.ConnID{
		OrigH: s.Conn.Orig.Addr(), OrigP: s.Conn.Orig.Port(),
		RespH: s.Conn.Resp.Addr(), RespP: s.Conn.Resp.Port(),
	}
}

// conn is the handler of one connection: a parser per direction and what
// the handshake has told so far.
type conn struct {
	env     *extractors.Env
	observe func(*Record)
	p       [2]*dirParser
	rec     Record
	first   time.Time
	client  int // direction the ClientHello came from; -1 until seen
	sawCH   bool
	sawSH   bool
	version uint16 // chosen by the server; 0 until its ServerHello
	chSID   []byte // the ClientHello's session ID (copied), for resumption
	ccs     [2]bool
	after   [2]bool // a record sent after encryption began in that direction
	fatal   bool
	done    bool
}

func newConn(uid string, id manifest.ConnID) *conn {
	c := &conn{client: -1}
	c.rec.UID, c.rec.ConnID, c.rec.Encrypted = uid, id, true
	c.p[0] = newDirParser(0, c)
	c.p[1] = newDirParser(1, c)
	return c
}

// Data implements engine.Handler.
func (c *conn) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if c.first.IsZero() {
		c.first = ts
	}
	c.p[dir].feed(data, ts)
}

// Gap implements engine.Handler: the direction's record framing is lost.
func (c *conn) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	c.p[dir].stop(fmt.Sprintf("%d bytes missing at offset %d: not parsed further", n, off))
}

// End implements engine.Handler.
func (c *conn) End(s *engine.Session, dir int, reason string, ts time.Time) {}

// Close implements engine.Handler: the connection's line is written to
// tls.jsonl, and Observe is told.
func (c *conn) Close(s *engine.Session) {
	r := c.finish()
	if c.env != nil && c.env.Logs != nil {
		if err := c.env.Logs.Write("tls", r); err != nil {
			s.Fail(err)
		}
	}
	if c.observe != nil {
		c.observe(r)
	}
}

// finish completes the record.
func (c *conn) finish() *Record {
	if c.done {
		return &c.rec
	}
	c.done = true
	r := &c.rec
	r.TS.Time = c.first
	for d := range 2 {
		if c.p[d].pending() {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: a handshake message was cut short by the end of the connection", side(d)))
		}
	}
	r.OrigRecords, r.RespRecords = c.p[0].records, c.p[1].records
	r.Established = c.sawSH && !c.fatal && c.after[0] && c.after[1]
	return r
}

func side(dir int) string {
	if dir == 0 {
		return "originator"
	}
	return "responder"
}

// --- events ---

func (c *conn) note(dir int, msg string) {
	if len(c.rec.Notes) < 16 {
		c.rec.Notes = append(c.rec.Notes, side(dir)+": "+msg)
	}
}

func (c *conn) record(dir int, typ byte, length int, ts time.Time) {
	if c.p[dir].cipher || (typ == recApplicationData && c.sawSH) {
		c.after[dir] = true
	}
}

func (c *conn) changeCipherSpec(dir int, ts time.Time) {
	if c.rec.HelloRetry || (c.sawSH && isTLS13(c.version)) {
		// TLS 1.3 (a HelloRetryRequest is 1.3 only): the middlebox
		// compatibility ChangeCipherSpec (RFC 8446 D.4) changes nothing.
		return
	}
	c.ccs[dir] = true
	c.p[dir].cipher = true
}

func (c *conn) alert(dir int, level, desc byte, ts time.Time) {
	c.rec.LastAlert = AlertName(desc)
	if level == 2 {
		c.fatal = true
	}
}

func (c *conn) handshake(dir int, typ byte, body []byte, ts time.Time) {
	switch typ {
	case hsClientHello:
		c.clientHello(dir, body)
	case hsServerHello:
		c.serverHello(dir, body)
	case hsCertificate:
		if c.sawSH && isTLS13(c.version) {
			return // never in clear in TLS 1.3
		}
		c.certificate(dir, body)
	case hsServerKeyExchange:
		if g := parseServerKeyExchangeCurve(body); g != 0 && c.rec.Curve == "" {
			c.rec.Curve = CurveName(g)
		}
	}
}

func (c *conn) clientHello(dir int, body []byte) {
	h, err := parseClientHello(body)
	if err != nil {
		c.note(dir, err.Error())
	}
	if c.sawCH {
		// the second ClientHello, after a HelloRetryRequest: same server
		// name, new key shares.
		if c.rec.ServerName == "" {
			c.rec.ServerName = h.sni
		}
		return
	}
	c.sawCH, c.client = true, dir
	if dir == 1 {
		c.note(dir, "the ClientHello came from the responder")
	}
	c.chSID = bytes.Clone(h.sessionID)
	c.rec.ServerName = h.sni
	c.rec.ALPN = h.alpn
	c.rec.ClientCiphers = h.ciphers
	c.rec.ClientVersion = VersionName(h.version)
	for _, v := range h.versions {
		c.rec.ClientSupportedVersions = append(c.rec.ClientSupportedVersions, VersionName(v))
	}
}

func (c *conn) serverHello(dir int, body []byte) {
	h, err := parseServerHello(body)
	if err != nil {
		c.note(dir, err.Error())
		return
	}
	if h.retry {
		c.rec.HelloRetry = true
		if h.group != 0 {
			c.rec.Curve = CurveName(h.group)
		}
		return
	}
	if c.sawSH {
		return
	}
	c.sawSH = true
	c.version = h.version
	c.rec.Version = VersionName(h.version)
	c.rec.Cipher = CipherName(h.cipher)
	c.rec.NextProtocol = h.alpn
	if h.group != 0 {
		c.rec.Curve = CurveName(h.group)
	}
	if isTLS13(h.version) {
		c.rec.Resumed = h.psk
		// Everything the server sends after its ServerHello is encrypted.
		c.p[dir].cipher = true
	} else {
		c.rec.Resumed = len(h.sessionID) > 0 && bytes.Equal(h.sessionID, c.chSID)
	}
}

func (c *conn) certificate(dir int, body []byte) {
	ci := parseCertificate(body)
	clientSide := c.client >= 0 && dir == c.client
	for _, e := range ci.errors {
		c.rec.CertErrors = append(c.rec.CertErrors, side(dir)+": "+e)
	}
	if clientSide {
		c.rec.ClientCertChainFps = ci.fps
		if ci.leaf != nil {
			c.rec.ClientSubject = ci.leaf.Subject.String()
			c.rec.ClientIssuer = ci.leaf.Issuer.String()
		}
		return
	}
	if c.rec.CertChainFps != nil {
		return // a second server Certificate (renegotiation): keep the first
	}
	c.rec.CertChainFps = ci.fps
	leaf := ci.leaf
	if leaf == nil {
		return
	}
	c.rec.Subject = leaf.Subject.String()
	c.rec.Issuer = leaf.Issuer.String()
	nb, na := validity(leaf)
	c.rec.NotValidBefore = &manifest.TS{Time: nb}
	c.rec.NotValidAfter = &manifest.TS{Time: na}
	c.rec.SANDNS = leaf.DNSNames
	if leaf.SerialNumber != nil {
		c.rec.Serial = serialHex(leaf.SerialNumber)
	}
	// self-signed: issued by its own subject and signed by its own key
	// (CheckSignatureFrom would also want the CA flag, which a throwaway
	// certificate often lacks).
	c.rec.SelfSigned = bytes.Equal(leaf.RawSubject, leaf.RawIssuer) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	if sni := c.rec.ServerName; sni != "" {
		ok := leaf.VerifyHostname(sni) == nil
		c.rec.SNIMatchesCert = &ok
	}
}

// serialHex spells a serial number as Zeek's x509.log does: upper-case
// hex, no separators.
func serialHex(n *big.Int) string {
	return fmt.Sprintf("%X", n)
}

// Server returns the responder's endpoint of the record.
func (r *Record) Server() netip.AddrPort { return netip.AddrPortFrom(r.RespH, r.RespP) }
