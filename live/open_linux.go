//go:build linux

package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The ring's geometry. TPACKET_V3 packs packets of any size into blocks;
// the kernel hands a block over when it is full or retireTimeout after its
// first packet, so a quiet link still shows its packets within that time.
const (
	frameSize     = 4096
	maxBlockSize  = 1 << 20
	retireTimeout = 50 * time.Millisecond
)

// Open starts capturing on the interface named iface.
func Open(iface string, o Options) (*Source, error) {
	o = o.withDefaults()
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, noSuchInterface(iface)
	}
	if err := probePermission(); err != nil {
		if isPermission(err) {
			return nil, &PermissionError{Interface: iface}
		}
		return nil, fmt.Errorf("capturing on %s: packet socket: %w", iface, err)
	}
	link, dgram, known := linkOf(hardwareType(ifc.Index))
	var h handle
	var method string
	var ringErr error
	if o.Method != "socket" {
		var rh *ringHandle
		rh, ringErr = openRing(ifc, o, dgram)
		if ringErr == nil {
			h, method = rh, rh.describe()
		} else if isPermission(ringErr) {
			return nil, &PermissionError{Interface: iface}
		} else if o.Method == "ring" {
			return nil, fmt.Errorf("capturing on %s: cannot set up the packet ring: %w", iface, ringErr)
		}
	}
	if h == nil {
		if dgram && known {
			return nil, fmt.Errorf("capturing on %s: cannot set up the packet ring (%v), and the plain socket does not support this link type", iface, ringErr)
		}
		sh, err := openSocket(ifc, o)
		if err != nil {
			if isPermission(err) {
				return nil, &PermissionError{Interface: iface}
			}
			if ringErr != nil {
				return nil, fmt.Errorf("capturing on %s: %w (and the packet ring: %v)", iface, err, ringErr)
			}
			return nil, fmt.Errorf("capturing on %s: %w", iface, err)
		}
		h, method = sh, "AF_PACKET socket"
		if ringErr != nil {
			method += " (no ring: " + ringErr.Error() + ")"
		}
	}
	return newSource(iface, ifc.Index, link, method, h, o)
}

func noSuchInterface(name string) error {
	e := &NoInterfaceError{Name: name}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			e.Have = append(e.Have, i.Name)
		}
	}
	return e
}

// probePermission opens and closes a packet socket that receives nothing,
// to tell a missing privilege from every other failure before anything
// else is set up.
func probePermission() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func isPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}

// hardwareType asks the kernel (rtnetlink) for the interface's ARPHRD_*
// type; 0 when it cannot tell.
func hardwareType(index int) uint16 {
	tab, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return 0
	}
	msgs, err := syscall.ParseNetlinkMessage(tab)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		// struct ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		if int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))) == index {
			return binary.NativeEndian.Uint16(m.Data[2:4])
		}
	}
	return 0
}

// linkOf maps an ARPHRD_* type to the link type of captured frames.
// Ethernet-like devices (and loopback, which carries a blank Ethernet
// header) are read whole; layer-3 devices (tun, WireGuard, IP tunnels,
// PPP) from the IP header on (SOCK_DGRAM), as raw IP. known is false for
// types not listed, which are read as Ethernet.
func linkOf(arphrd uint16) (link layers.LinkType, dgram, known bool) {
	switch arphrd {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK, unix.ARPHRD_IEEE802:
		return layers.LinkTypeEthernet, false, true
	case unix.ARPHRD_NONE, unix.ARPHRD_RAWIP, unix.ARPHRD_PPP, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6,
		unix.ARPHRD_SIT, unix.ARPHRD_IPGRE, unix.ARPHRD_IP6GRE:
		return layers.LinkTypeRaw, true, true
	}
	return layers.LinkTypeEthernet, false, false
}

// ringGeometry returns the block size and count for a ring of about
// ringSize bytes holding packets of up to snaplen bytes: blocks of 1 MiB
// (or one packet, if larger), at least two of them.
func ringGeometry(ringSize int64, snaplen int) (block, blocks int) {
	page := unix.Getpagesize()
	unit := max(page, frameSize)
	need := snaplen + 256 // tpacket3_hdr, sockaddr_ll, alignment, a re-inserted VLAN tag
	block = max(maxBlockSize, (need+unit-1)/unit*unit)
	for block > unit && int64(block) > ringSize/4 && block/2 >= need {
		block /= 2
	}
	blocks = int(ringSize / int64(block))
	return block, max(blocks, 2)
}

// kernelFilter is the classic BPF program the socket runs on each packet,
// nil when none is needed. Its return value is how many bytes the kernel
// keeps (0: none), so a snap length shorter than a whole packet never
// takes room in the ring. On loopback every packet passes twice, going out
// and coming in; like libpcap, keep only the incoming copy.
func kernelFilter(snaplen int, loopback bool) []bpf.RawInstruction {
	if snaplen >= DefaultSnaplen && !loopback {
		return nil
	}
	var prog []bpf.Instruction
	if loopback {
		prog = append(prog,
			bpf.LoadExtension{Num: bpf.ExtType}, // sll_pkttype
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
			bpf.RetConstant{Val: 0},
		)
	}
	prog = append(prog, bpf.RetConstant{Val: uint32(snaplen)})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err) // a fixed program: cannot fail
	}
	return raw
}

// ringHandle reads through afpacket's TPACKET_V3 memory-mapped ring.
type ringHandle struct {
	tp            *afpacket.TPacket
	block, blocks int
	recv, dropped uint64
}

func openRing(ifc *net.Interface, o Options, dgram bool) (*ringHandle, error) {
	block, blocks := ringGeometry(o.RingSize, o.Snaplen)
	opts := []any{
		afpacket.OptInterface(ifc.Name),
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(frameSize),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(retireTimeout),
		afpacket.OptPollTimeout(o.Poll),
		afpacket.OptAddVLANHeader(true), // the tag the NIC stripped goes back in, as libpcap does
	}
	if dgram {
		opts = append(opts, afpacket.SocketDgram)
	}
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		return nil, err
	}
	h := &ringHandle{tp: tp, block: block, blocks: blocks}
	if prog := kernelFilter(o.Snaplen, ifc.Flags&net.FlagLoopback != 0); prog != nil {
		if err := tp.SetBPF(prog); err != nil {
			tp.Close()
			return nil, fmt.Errorf("kernel filter: %w", err)
		}
	}
	if o.Promisc {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	return h, nil
}

func (h *ringHandle) describe() string {
	return fmt.Sprintf("AF_PACKET TPACKET_V3 ring, %d blocks of %s", h.blocks, Size(h.block))
}

func (h *ringHandle) read() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := h.tp.ZeroCopyReadPacketData()
	if err == afpacket.ErrTimeout {
		return nil, ci, errTimeout
	}
	return data, ci, err
}

func (h *ringHandle) stats() (uint64, uint64) {
	if _, s, err := h.tp.SocketStats(); err == nil {
		// afpacket adds up what each call reads (the kernel resets its
		// counters on every read)
		h.recv, h.dropped = uint64(s.Packets()), uint64(s.Drops())
	}
	return h.recv, h.dropped
}

func (h *ringHandle) lag() time.Duration { return retireTimeout }

// wake: the ring's poll wakes by itself every Options.Poll.
func (h *ringHandle) wake() {}

func (h *ringHandle) close() error {
	h.stats() // the counters die with the socket
	h.tp.Close()
	return nil
}

// socketHandle reads a plain packet socket through pcapgo.EthernetHandle.
// EthernetHandle blocks in the Go poller and has no timeout, so one
// goroutine reads and hands each frame over; it reads the next only once
// read is called again, so a frame stays valid until then (zero copy).
type socketHandle struct {
	eh      *pcapgo.EthernetHandle
	poll    time.Duration
	frames  chan frame    // reader to read: one frame
	more    chan struct{} // read to reader: the last frame is done with, read another
	wakeup  chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	pending bool // a frame was handed out and more not yet sent
	timer   *time.Timer
	vbuf    []byte
	recv    uint64
	dropped uint64
	once    sync.Once
}

type frame struct {
	data []byte
	ci   gopacket.CaptureInfo
	err  error
}

func openSocket(ifc *net.Interface, o Options) (*socketHandle, error) {
	eh, err := pcapgo.NewEthernetHandle(ifc.Name)
	if err != nil {
		return nil, err
	}
	if err := eh.SetCaptureLength(o.Snaplen); err != nil {
		eh.Close()
		return nil, err
	}
	if prog := kernelFilter(o.Snaplen, ifc.Flags&net.FlagLoopback != 0); prog != nil {
		if err := eh.SetBPF(prog); err != nil {
			eh.Close()
			return nil, fmt.Errorf("kernel filter: %w", err)
		}
	}
	if o.Promisc {
		if err := eh.SetPromiscuous(true); err != nil {
			eh.Close()
			return nil, fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	eh.Stats() // reset the kernel's counters: count from here
	h := &socketHandle{eh: eh, poll: o.Poll, frames: make(chan frame), more: make(chan struct{}, 1),
		wakeup: make(chan struct{}, 1), done: make(chan struct{}), timer: time.NewTimer(o.Poll)}
	h.more <- struct{}{}
	h.wg.Add(1)
	go h.reader()
	return h, nil
}

func (h *socketHandle) reader() {
	defer h.wg.Done()
	for {
		select {
		case <-h.more:
		case <-h.done:
			return
		}
		data, ci, err := h.eh.ZeroCopyReadPacketData()
		select {
		case h.frames <- frame{data, ci, err}:
		case <-h.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (h *socketHandle) read() ([]byte, gopacket.CaptureInfo, error) {
	if h.pending {
		h.pending = false
		h.more <- struct{}{}
	}
	h.timer.Reset(h.poll)
	select {
	case f := <-h.frames:
		if f.err != nil {
			return nil, f.ci, f.err
		}
		h.pending = true
		return h.withVLAN(f.data, &f.ci), f.ci, nil
	case <-h.timer.C:
		return nil, gopacket.CaptureInfo{}, errTimeout
	case <-h.wakeup:
		return nil, gopacket.CaptureInfo{}, errTimeout
	}
}

// withVLAN puts back the 802.1Q tag the kernel stripped (EthernetHandle
// reports it aside, in AncillaryData).
func (h *socketHandle) withVLAN(data []byte, ci *gopacket.CaptureInfo) []byte {
	if len(ci.AncillaryData) == 0 || len(data) < 12 {
		return data
	}
	vlan, ok := ci.AncillaryData[0].(int)
	if !ok || vlan == 0 {
		return data
	}
	h.vbuf = append(h.vbuf[:0], data[:12]...)
	h.vbuf = append(h.vbuf, 0x81, 0x00, byte(vlan>>8), byte(vlan))
	h.vbuf = append(h.vbuf, data[12:]...)
	ci.Length += 4
	return h.vbuf
}

func (h *socketHandle) stats() (uint64, uint64) {
	// each read of the kernel's counters resets them
	if s, err := h.eh.Stats(); err == nil && s != nil {
		h.recv += uint64(s.Packets)
		h.dropped += uint64(s.Drops)
	}
	return h.recv, h.dropped
}

func (h *socketHandle) lag() time.Duration { return 0 }

func (h *socketHandle) wake() {
	select {
	case h.wakeup <- struct{}{}:
	default:
	}
}

func (h *socketHandle) close() error {
	var err error
	h.once.Do(func() {
		h.stats()
		close(h.done)
		err = h.eh.Close() // ends a read blocked in the reader
		h.wg.Wait()
		h.timer.Stop()
	})
	return err
}
