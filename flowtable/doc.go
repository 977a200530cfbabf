// Package flowtable keeps one entry per TCP connection, both directions
// paired, and tracks its lifecycle from the packets alone: the SYN / SYN-ACK /
// ACK handshake, data, the FIN/ACK teardown on each side, RST, mid-stream
// pickup, port reuse and idle expiry by capture time (never the wall clock).
//
// It owns connection identity (the originator, a stable ID in first-seen
// order), per-direction counters (packets, bytes, retransmitted /
// out-of-order / overlapping segments, zero windows) and the state a person
// reads (tcpick's words) next to Zeek's conn_state and history letters. It
// does not own payload: reassembly and missing-byte counts come from the
// assembler, which reports gaps back with AddGap.
//
// Call order:
//  1. New with Options and an Events receiver.
//  2. Packet for every decoded TCP packet, in capture order. It returns the
//     connection and the direction the packet travels (0 = originator to
//     responder, 1 = back) and calls Events.Opened for a new connection and
//     Events.Transition on every change of state, before it returns.
//  3. Sweep(now) periodically (Packet does it itself once per second of
//     capture time): connections idle past IdleTimeout, or closed and quiet
//     for Linger (LingerHeld while Holding says data waits behind a hole),
//     are finished with Events.Closed and dropped.
//  4. Finish at the end of input: every remaining connection is finished.
//
// A Conn stays valid after Closed (its fields are final) but the table no
// longer refers to it.
package flowtable
