// Package tls is the TLS extractor: it reads the clear part of every TLS
// handshake and writes tls.jsonl, one line per connection, with the field
// names of Zeek's ssl.log: the version and cipher suite the server chose,
// the server name (SNI) and ALPN protocols the client asked for, whether
// the session was resumed and established, the last alert seen in clear,
// and, where the certificate travels in clear (TLS 1.2 and earlier), the
// SHA-256 fingerprint of every certificate of the chain and the leaf's
// subject, issuer, validity and names, read with crypto/x509.
//
// It owns:
//   - the record layer framing, per direction (dirParser): a push parser
//     fed chunks split anywhere; handshake messages split across records
//     and segments are reassembled (bounded: 128 KiB per message, larger
//     ones are skipped and said so); records larger than TLSCiphertext's
//     limit or with an impossible header stop the direction;
//   - the handshake messages it reads (hello.go): ClientHello (legacy
//     version, session ID, number of cipher suites, server_name, ALPN,
//     supported_versions), ServerHello (chosen version, with TLS 1.3 told
//     by supported_versions, cipher suite, ALPN, key_share group,
//     pre_shared_key, HelloRetryRequest), Certificate (TLS 1.2 and
//     earlier), ServerKeyExchange (the ECDHE group);
//   - the names of versions, cipher suites, groups and alerts (names.go),
//     a table of the IANA names in common use; others are "unknown-<n>";
//   - tls.jsonl (type Record).
//
// It does not own deciding which connections are TLS (package detect, by
// content, and extractors.Mux), decrypting anything, or validating
// certificate chains against a trust store: self_signed and
// sni_matches_cert are the only judgements, both from the leaf alone.
//
// Encryption: a direction's handshake is encrypted after its
// ChangeCipherSpec (TLS 1.2 and earlier) or, for the server, right after a
// TLS 1.3 ServerHello; from then on its records are only framed and
// counted. In TLS 1.3 a ChangeCipherSpec is the middlebox-compatibility
// no-op and changes nothing. "established" is true when a ServerHello was
// seen, no fatal alert was seen in clear, and both sides then sent
// encrypted records (TLS 1.2: after their ChangeCipherSpec, which is the
// Finished message on; TLS 1.3: application_data records). Every line says
// "encrypted": true; the traffic analysis marks the connection encrypted.
//
// Call order, per connection, as the engine drives it through the Mux:
//  1. Protocol.New(session, env) when detect names the connection "tls".
//  2. Data per direction, in order: records are framed and handshake
//     messages parsed as their last byte arrives. Gap: the direction's
//     framing is lost; it is not parsed further (noted). End: nothing.
//  3. Close: the record is completed, written to tls.jsonl through
//     env.Logs, and handed to Protocol.Observe.
//
// Malformed input is data: a message that does not parse, a certificate
// crypto/x509 rejects, a record that is not TLS are noted in the line's
// "notes" or "cert_errors"; nothing stops the run but an output error.
// There is no package-level state. Data's slices are not retained.
package tls
