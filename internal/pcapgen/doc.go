// Package pcapgen writes deterministic synthetic TCP captures: small
// hand-written cases for unit and golden tests of TCP tracking and
// reassembly, and large mixed HTTP/FTP captures for benchmarks.
//
// Everything regenerates byte for byte: timestamps come from a clock that
// starts at Options.Start (default 2024-01-01T00:00:00Z) and advances by
// Options.Step (default 1 ms) after every packet; addresses, ports and ISNs
// are fixed by the caller (the cases use the documentation ranges
// 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32); randomness comes from a
// seeded math/rand/v2 PCG. Packets are built with gopacket.SerializeLayers
// (Ethernet with optional 802.1Q/QinQ tags, Linux SLL, BSD null or raw IP;
// IPv4 or IPv6; TCP with correct checksums) and written with pcapgo as a
// classic little-endian pcap with microsecond or nanosecond timestamps.
//
// # Writing a capture
//
//	w, _ := pcapgen.NewWriter(f, pcapgen.Options{})
//	c := w.NewConn(pcapgen.ConnConfig{
//		Client:    netip.MustParseAddrPort("192.0.2.10:49152"),
//		Server:    netip.MustParseAddrPort("198.51.100.20:80"),
//		ClientISN: 1000000, ServerISN: 2000000,
//	})
//	c.Handshake()                              // SYN, SYN/ACK, ACK
//	c.Send(true, []byte("GET / HTTP/1.0\r\n\r\n")) // MSS segments, each ACKed
//	c.Send(false, body)
//	c.Close()                                  // FIN, ACK, FIN, ACK
//	err := w.Flush()
//
// Conn tracks each side's next sequence number, so normal use needs no
// arithmetic. For unusual traffic: Plan records data and returns its
// segments without writing them, Emit writes any segments in any order
// (reordering, duplicates, overlaps with other bytes, left-out segments for
// capture gaps), Segment writes one hand-made segment, SendOrder writes the
// planned segments in a given order, Retransmit resends recorded bytes,
// SendFragmented/EmitFragmented split a segment into IPv4 fragments or IPv6
// Fragment-header packets, RST and CloseSimultaneous cover the other
// endings, and Writer.Advance makes idle periods. Sent returns what each
// side's application sent (the record of truth to compare reassembled
// streams with).
//
// Writer errors are sticky (like bufio.Writer): Conn methods return
// nothing, and Writer.Err/Flush report the first error.
//
// # Test cases
//
// Cases lists the synthetic cases committed under testdata/synthetic (one
// directory per case with capture.pcap and a README.md describing the
// connections, ISNs, bytes sent and every packet). Regenerate them from the
// repository root with
//
//	go run ./cmd/streamx-gencap -cases testdata/synthetic
//
// The package tests regenerate each case in memory and fail if a committed
// file differs, and decode every packet back with gopacket (checksums
// verified, fragments reassembled) to compare the streams with Sent.
//
// # Benchmark captures
//
// Bench writes about N bytes of interleaved HTTP/1.1 (keep-alive GETs with
// Content-Length, chunked and gzip bodies; POST uploads) and FTP (control
// and passive data connections, RETR and STOR) over IPv4 and IPv6, with some
// reordered and duplicated segments, and returns a Truth listing every file
// on the wire with its SHA-256 (Truth.WriteJSON). From the repository root:
//
//	go run ./cmd/streamx-gencap -bench /tmp/bench.pcap -size 1G -seed 1 -truth /tmp/bench.json
package pcapgen
