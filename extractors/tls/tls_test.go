package tls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	ctls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamx/streamx/manifest"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// chunk is what one side wrote, in the order the writes happened.
type chunk struct {
	dir  int
	data []byte
}

// recorder keeps every write of both ends of a pipe, in order.
type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

type recConn struct {
	net.Conn
	r   *recorder
	dir int
}

func (c *recConn) Write(p []byte) (int, error) {
	c.r.mu.Lock()
	c.r.chunks = append(c.r.chunks, chunk{c.dir, append([]byte(nil), p...)})
	c.r.mu.Unlock()
	return c.Conn.Write(p)
}

// tcpPair returns the two ends of a loopback TCP connection (a pipe with
// buffers: both ends may write at once, as TLS close_notify does).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// selfSigned makes a throwaway ECDSA certificate for name.
func selfSigned(t *testing.T, name string) (ctls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1234abcd),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"streamx test"}},
		NotBefore:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC),
		DNSNames:     []string{name},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ctls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// handshake runs a real crypto/tls handshake over a pipe, the client
// sending one message and closing, and returns both sides' bytes in write
// order with the client's view of the connection.
func handshake(t *testing.T, client *ctls.Config, server *ctls.Config) ([]chunk, ctls.ConnectionState) {
	t.Helper()
	a, b := tcpPair(t)
	rec := &recorder{}
	cc := ctls.Client(&recConn{a, rec, 0}, client)
	sc := ctls.Server(&recConn{b, rec, 1}, server)
	done := make(chan error, 1)
	go func() {
		defer sc.Close()
		if err := sc.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, 64)
		n, err := sc.Read(buf)
		if err == nil {
			_, err = sc.Write(bytes.ToUpper(buf[:n]))
		}
		done <- err
	}()
	if err := cc.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := cc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := io.ReadFull(cc, buf[:5]); err != nil {
		t.Fatal(err)
	}
	state := cc.ConnectionState()
	cc.Close()
	if err := <-done; err != nil && err != io.EOF {
		t.Fatalf("server: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.chunks, state
}

// replay feeds chunks to a fresh connection handler, each write cut into
// pieces of at most split bytes, and returns its record.
func replay(chunks []chunk, split int) *Record {
	c := newConn("C000000", manifest.ConnID{OrigH: netip.MustParseAddr("192.0.2.1"), OrigP: 50000,
		RespH: netip.MustParseAddr("198.51.100.2"), RespP: 443})
	ts := t0
	for _, ch := range chunks {
		for p := ch.data; len(p) > 0; {
			n := min(split, len(p))
			if c.first.IsZero() {
				c.first = ts
			}
			c.p[ch.dir].feed(p[:n], ts)
			p = p[n:]
			ts = ts.Add(time.Millisecond)
		}
	}
	return c.finish()
}

func fp(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

func TestHandshakes(t *testing.T) {
	cert, leaf := selfSigned(t, "example.test")
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cases := []struct {
		name   string
		client *ctls.Config
		server *ctls.Config
		check  func(t *testing.T, r *Record, st ctls.ConnectionState)
	}{
		{"TLS 1.2 with certificate, SNI and ALPN",
			&ctls.Config{ServerName: "example.test", RootCAs: pool, MaxVersion: ctls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
			&ctls.Config{Certificates: []ctls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
			func(t *testing.T, r *Record, st ctls.ConnectionState) {
				eq(t, "version", r.Version, "TLSv12")
				eq(t, "cipher", r.Cipher, ctls.CipherSuiteName(st.CipherSuite))
				eq(t, "server_name", r.ServerName, "example.test")
				eq(t, "next_protocol", r.NextProtocol, "http/1.1")
				eq(t, "alpn", strings.Join(r.ALPN, ","), "h2,http/1.1")
				eq(t, "cert_chain_fps", strings.Join(r.CertChainFps, ","), fp(leaf.Raw))
				eq(t, "subject", r.Subject, "CN=example.test,O=streamx test")
				eq(t, "issuer", r.Issuer, "CN=example.test,O=streamx test")
				eq(t, "serial", r.Serial, "1234ABCD")
				if r.NotValidBefore == nil || !r.NotValidBefore.Equal(leaf.NotBefore) || r.NotValidAfter == nil || !r.NotValidAfter.Equal(leaf.NotAfter) {
					t.Errorf("validity %v %v, want %v %v", r.NotValidBefore, r.NotValidAfter, leaf.NotBefore, leaf.NotAfter)
				}
				if r.SNIMatchesCert == nil || !*r.SNIMatchesCert {
					t.Errorf("sni_matches_cert %v", r.SNIMatchesCert)
				}
				if !r.SelfSigned {
					t.Error("self_signed not set")
				}
				eq(t, "curve", r.Curve, "x25519")
			}},
		{"TLS 1.3: the certificate is encrypted",
			&ctls.Config{ServerName: "example.test", RootCAs: pool},
			&ctls.Config{Certificates: []ctls.Certificate{cert}},
			func(t *testing.T, r *Record, st ctls.ConnectionState) {
				eq(t, "version", r.Version, "TLSv13")
				eq(t, "cipher", r.Cipher, ctls.CipherSuiteName(st.CipherSuite))
				eq(t, "server_name", r.ServerName, "example.test")
				if len(r.CertChainFps) != 0 || r.Subject != "" {
					t.Errorf("TLS 1.3 certificate read: %v %q", r.CertChainFps, r.Subject)
				}
				if !slicesContain(r.ClientSupportedVersions, "TLSv13") {
					t.Errorf("client_supported_versions %v", r.ClientSupportedVersions)
				}
			}},
		{"TLS 1.3 HelloRetryRequest",
			&ctls.Config{ServerName: "example.test", RootCAs: pool, CurvePreferences: []ctls.CurveID{ctls.X25519, ctls.CurveP256}},
			&ctls.Config{Certificates: []ctls.Certificate{cert}, CurvePreferences: []ctls.CurveID{ctls.CurveP256}},
			func(t *testing.T, r *Record, st ctls.ConnectionState) {
				eq(t, "version", r.Version, "TLSv13")
				if !r.HelloRetry {
					t.Error("hello_retry not set")
				}
				eq(t, "curve", r.Curve, "secp256r1")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunks, st := handshake(t, tc.client, tc.server)
			// whole writes, one byte at a time, and odd pieces: the same record
			var first []byte
			for _, split := range []int{1 << 20, 1, 7, 300} {
				r := replay(chunks, split)
				if !r.Established {
					t.Errorf("split %d: not established", split)
				}
				if len(r.Notes) > 0 {
					t.Errorf("split %d: notes %q", split, r.Notes)
				}
				tc.check(t, r, st)
				r.TS = manifest.TS{}
				b, _ := json.Marshal(r)
				if first == nil {
					first = b
				} else if !bytes.Equal(b, first) {
					t.Errorf("split %d gives\n%s\nwhole writes give\n%s", split, b, first)
				}
			}
		})
	}
}

func TestResumedTLS12(t *testing.T) {
	cert, leaf := selfSigned(t, "example.test")
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &ctls.Config{ServerName: "example.test", RootCAs: pool, MaxVersion: ctls.VersionTLS12,
		ClientSessionCache: ctls.NewLRUClientSessionCache(4)}
	server := &ctls.Config{Certificates: []ctls.Certificate{cert}}
	first, _ := handshake(t, client, server)
	second, st := handshake(t, client, server)
	if !st.DidResume {
		t.Skip("crypto/tls did not resume; nothing to check")
	}
	if r := replay(first, 1<<20); r.Resumed {
		t.Error("first connection marked resumed")
	}
	r := replay(second, 1<<20)
	if !r.Resumed || !r.Established {
		t.Errorf("second connection: resumed %v established %v", r.Resumed, r.Established)
	}
	if len(r.CertChainFps) != 0 {
		t.Errorf("a resumed session carries no certificate: %v", r.CertChainFps)
	}
}

func TestGapStopsDirection(t *testing.T) {
	cert, leaf := selfSigned(t, "example.test")
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	chunks, _ := handshake(t, &ctls.Config{ServerName: "example.test", RootCAs: pool, MaxVersion: ctls.VersionTLS12},
		&ctls.Config{Certificates: []ctls.Certificate{cert}})
	c := newConn("C1", manifest.ConnID{})
	c.Data(nil, chunks[0].dir, chunks[0].data, 0, t0) // ClientHello
	c.Gap(nil, 1, 0, 100, t0)                         // the server's first flight lost
	for _, ch := range chunks[1:] {
		c.Data(nil, ch.dir, ch.data, 0, t0)
	}
	r := c.finish()
	eq(t, "server_name", r.ServerName, "example.test")
	if r.Version != "" || r.Established || len(r.CertChainFps) != 0 {
		t.Errorf("read past a gap: %+v", r)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "responder: 100 bytes missing") {
		t.Errorf("notes %q", r.Notes)
	}
}

// record builds one TLS record.
func record(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

// hs builds one handshake message.
func hs(typ byte, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func TestMalformed(t *testing.T) {
	sh := func() []byte {
		b := []byte{3, 3}
		b = append(b, make([]byte, 32)...)
		b = append(b, 0)          // no session id
		b = append(b, 0xc0, 0x2f) // cipher
		b = append(b, 0)          // compression
		return b
	}
	badCert := []byte{0, 0, 8, 0, 0, 5, 1, 2, 3, 4, 5} // one 5-byte "certificate"
	cases := []struct {
		name  string
		resp  []byte
		check func(t *testing.T, r *Record)
	}{
		{"certificate that is not DER", record(recHandshake, append(hs(hsServerHello, sh()), hs(hsCertificate, badCert)...)),
			func(t *testing.T, r *Record) {
				eq(t, "cipher", r.Cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
				eq(t, "version", r.Version, "TLSv12")
				eq(t, "fps", strings.Join(r.CertChainFps, ","), fp([]byte{1, 2, 3, 4, 5}))
				if len(r.CertErrors) != 1 || !strings.HasPrefix(r.CertErrors[0], "responder: certificate 0: ") {
					t.Errorf("cert_errors %q", r.CertErrors)
				}
			}},
		{"handshake message split over three records",
			append(append(record(recHandshake, hs(hsServerHello, sh())[:10]), record(recHandshake, hs(hsServerHello, sh())[10:20])...),
				record(recHandshake, hs(hsServerHello, sh())[20:])...),
			func(t *testing.T, r *Record) { eq(t, "version", r.Version, "TLSv12") }},
		{"not TLS", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"),
			func(t *testing.T, r *Record) {
				if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not a TLS record header") {
					t.Errorf("notes %q", r.Notes)
				}
			}},
		{"oversized record", []byte{22, 3, 3, 0xff, 0xff},
			func(t *testing.T, r *Record) {
				if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "record of 65535 bytes") {
					t.Errorf("notes %q", r.Notes)
				}
			}},
		{"ServerHello cut short", record(recHandshake, hs(hsServerHello, []byte{3, 3, 1})),
			func(t *testing.T, r *Record) {
				if r.Version != "" || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "ServerHello cut short") {
					t.Errorf("version %q notes %q", r.Version, r.Notes)
				}
			}},
		{"fatal alert in clear", record(recAlert, []byte{2, 40}),
			func(t *testing.T, r *Record) { eq(t, "last_alert", r.LastAlert, "handshake_failure") }},
		{"handshake message over the limit is skipped",
			append(record(recHandshake, []byte{11, 0x10, 0, 0}), record(recHandshake, hs(hsServerHello, sh()))...),
			func(t *testing.T, r *Record) {
				// the 1 MiB message is never completed; the ServerHello
				// bytes are part of its skipped body
				if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "skipped (limit") {
					t.Errorf("notes %q", r.Notes)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, split := range []int{1 << 20, 1} {
				r := replay([]chunk{{1, tc.resp}}, split)
				tc.check(t, r)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{VersionName(0x0304), "TLSv13"}, {VersionName(0x7f17), "TLSv13-draft23"}, {VersionName(0x0a0a), "GREASE"},
		{VersionName(0x1234), "unknown-4660"}, {CipherName(0x1301), "TLS_AES_128_GCM_SHA256"},
		{CipherName(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, {CipherName(0xfefe), "unknown-65278"},
		{CurveName(0x001d), "x25519"}, {AlertName(40), "handshake_failure"},
	} {
		eq(t, "name", c.got, c.want)
	}
	// every suite crypto/tls knows has the same name here
	for _, s := range append(ctls.CipherSuites(), ctls.InsecureCipherSuites()...) {
		eq(t, "cipher", CipherName(s.ID), s.Name)
	}
}

func eq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
