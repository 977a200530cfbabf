// Package live captures packets from a network interface as they arrive,
// for the engine to read like a capture file (an engine.Source), and can
// save what it captured to pcap files with rotation.
//
// It owns the packet socket (an AF_PACKET TPACKET_V3 memory-mapped ring on
// Linux, a plain packet socket through pcapgo.EthernetHandle where the
// ring cannot be set up), promiscuous mode, the snap length, the end of a
// capture (--duration, --count, Interrupt), the kernel's drop counters and
// the -w pcap writer. It does not decode, filter or reassemble: the engine
// does that, the same way as for a file, so --filter and every command
// work the same live.
//
// Call order:
//  1. Open(iface, opts) checks the interface, opens the socket and sets it
//     up (errors say what is missing: the interface, or the privilege);
//  2. Next, from one goroutine, until it returns io.EOF (Count packets
//     read, Duration elapsed, or Interrupt called); while no packet
//     arrives it returns engine.ErrIdle every Options.Poll with the time
//     that has surely passed, so the engine can expire idle connections;
//  3. Drops, for the kernel's received and dropped counts;
//  4. Close, which closes the socket and the pcap writer.
//
// Interrupt may be called from any goroutine at any time; a Next blocked
// waiting for packets returns within Options.Poll.
//
// Buffer ownership: the frame Next returns points into the kernel ring (or
// the socket's buffer) and is valid only until the next call to Next.
// Packets go to the -w file before Next returns them, so the file holds
// every packet the engine saw, whatever --filter keeps for the analysis.
package live
