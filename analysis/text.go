package analysis

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

const stampFormat = "2006-01-02T15:04:05.000000Z"

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(stampFormat)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteText prints the report for people: one section per question, tables
// aligned, every finding with its reason and where to look.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	r.writeOverview(ew)
	r.writeHosts(ew)
	r.writeConversations(ew)
	r.writeServices(ew)
	r.writeHealth(ew)
	r.writeEncryption(ew)
	r.writeTLS(ew)
	r.writeNotices(ew)
	if len(r.Connections) > 0 {
		r.writeConnections(ew)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func heading(w io.Writer, title string, shown, total int, what string) {
	fmt.Fprintln(w)
	if shown < total {
		fmt.Fprintf(w, "%s (top %d of %d, %s)\n", title, shown, total, what)
	} else {
		fmt.Fprintf(w, "%s (%d, %s)\n", title, total, what)
	}
}

func (r *Report) writeOverview(w io.Writer) {
	fmt.Fprintln(w, "CAPTURE")
	if c := r.Capture; c != nil {
		fmt.Fprintf(w, "  files: %s\n", strings.Join(c.Files, ", "))
		fmt.Fprintf(w, "  read: %d packets, %d bytes", c.Packets, c.Bytes)
		if c.Filtered > 0 {
			fmt.Fprintf(w, "; %d left out by the filter", c.Filtered)
		}
		fmt.Fprintln(w)
		if len(c.NotDecoded) > 0 {
			var parts []string
			for k, v := range c.NotDecoded {
				parts = append(parts, fmt.Sprintf("%s %d", k, v))
			}
			slices.Sort(parts)
			fmt.Fprintf(w, "  not decoded: %s\n", strings.Join(parts, ", "))
		}
		for _, f := range c.Faults {
			fmt.Fprintf(w, "  DAMAGED: %s\n", f)
		}
	}
	fmt.Fprintf(w, "  time span: %s to %s (%.6fs)\n", stamp(r.First.Time), stamp(r.Last.Time), time.Duration(r.Duration).Seconds())
	tw := table(w)
	fmt.Fprintln(tw, "  PROTOCOL\tPACKETS\tBYTES")
	for _, p := range r.Protocols {
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", p.Proto, p.Packets, p.Bytes)
	}
	tw.Flush()
	if r.Excluded.Packets > 0 {
		fmt.Fprintf(w, "  broadcast/multicast: %d packets (%d bytes) left out of the host and conversation tables (--keep-broadcast keeps them)\n",
			r.Excluded.Packets, r.Excluded.Bytes)
	}
}

func (r *Report) writeHosts(w io.Writer) {
	heading(w, "HOSTS", len(r.Hosts), r.HostsTotal, "by bytes; as tshark -z endpoints,ip")
	tw := table(w)
	fmt.Fprintln(tw, "  ADDRESS\tPACKETS\tBYTES\tTX PACKETS\tTX BYTES\tRX PACKETS\tRX BYTES")
	for _, h := range r.Hosts {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\n", h.Addr, h.Packets, h.Bytes, h.TxPackets, h.TxBytes, h.RxPackets, h.RxBytes)
	}
	tw.Flush()
}

func (r *Report) writeConversations(w io.Writer) {
	heading(w, "CONVERSATIONS", len(r.Conversations), r.ConversationsTotal, "by bytes; as tshark -z conv,tcp / conv,udp; A is the originator")
	tw := table(w)
	fmt.Fprintln(tw, "  PROTO\tA\tB\tSERVICE\tFRAMES A>B\tBYTES A>B\tFRAMES B>A\tBYTES B>A\tFRAMES\tBYTES\tSTART\tDURATION\tUID")
	for _, c := range r.Conversations {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%.6fs\t%s\n", c.Proto, c.A, c.B, dash(c.Service),
			c.AtoB.Packets, c.AtoB.Bytes, c.BtoA.Packets, c.BtoA.Bytes, c.Total.Packets, c.Total.Bytes,
			since(r.First.Time, c.Start.Time), time.Duration(c.Duration).Seconds(), dash(c.UID))
	}
	tw.Flush()
}

func (r *Report) writeServices(w io.Writer) {
	heading(w, "SERVICES", len(r.Services), r.ServicesTotal, "by server port: what the content says next to what the port suggests")
	tw := table(w)
	fmt.Fprintln(tw, "  PROTO\tPORT\tCONTENT\tPORT SUGGESTS\tCONNS\tSERVERS\tCLIENTS\tBYTES\t")
	for _, s := range r.Services {
		port := fmt.Sprint(s.Port)
		if s.Service == "ftp-data" {
			port = "(data)"
		}
		flag := ""
		if s.Mismatch {
			flag = "MISMATCH"
		}
		content := s.Service
		if content == "" && s.Proto == "tcp" {
			content = "unknown"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.Proto, port, dash(content), dash(s.PortHint),
			s.Conns, s.Servers, s.Clients, s.Bytes, flag)
	}
	tw.Flush()
}

func (r *Report) writeHealth(w io.Writer) {
	h := r.TCP
	fmt.Fprintln(w)
	fmt.Fprintln(w, "TCP HEALTH")
	fmt.Fprintf(w, "  connections: %d; handshakes completed: %d of %d attempts (%.1f%%)\n",
		h.Connections, h.Completed, h.Attempts, 100*h.CompletionRate)
	fmt.Fprintf(w, "  never answered (S0): %d; rejected (REJ): %d; reset by originator: %d, by responder: %d\n",
		h.NoAnswer, h.Rejected, h.ResetByOrig, h.ResetByResp)
	fmt.Fprintf(w, "  picked up mid-stream: %d; retransmissions: %d; out of order: %d; zero windows: %d\n",
		h.Midstream, h.Retransmissions, h.OutOfOrder, h.ZeroWindows)
	fmt.Fprintf(w, "  missing bytes: %d in %d connections\n", h.MissingBytes, h.ConnsWithGaps)
	keys := make([]string, 0, len(h.States))
	for k := range h.States {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, h.States[k]))
	}
	fmt.Fprintf(w, "  conn_state: %s\n", dash(strings.Join(parts, ", ")))
	if h.Unattributed > 0 {
		fmt.Fprintf(w, "  %d TCP frames could not be given to a connection\n", h.Unattributed)
	}
}

func (r *Report) writeEncryption(w io.Writer) {
	e := r.Encryption
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ENCRYPTION (per TCP connection)")
	fmt.Fprintf(w, "  encrypted: %d; plaintext: %d; unknown: %d; no data: %d\n",
		e.Classes[ClassEncrypted], e.Classes[ClassPlaintext], e.Classes[ClassUnknown], e.Classes[ClassNoData])
	if len(e.ByService) == 0 {
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "  CLASS\tSERVICE\tHOW\tCONNS\tBYTES")
	for _, x := range e.ByService {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\n", x.Class, dash(x.Service), x.How, x.Conns, x.Bytes)
	}
	tw.Flush()
}

func (r *Report) writeTLS(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "TLS SERVERS (%d)\n", len(r.TLSServers))
	if len(r.TLSServers) == 0 {
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "  SERVER\tSERVER NAME\tVERSION\tCIPHER\tCERTIFICATE SUBJECT\tCONNS\tESTABLISHED")
	for _, s := range r.TLSServers {
		subj := strings.Join(s.Subjects, "; ")
		if s.SelfSigned {
			subj += " (self-signed)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%d\n", s.Server, dash(strings.Join(s.ServerNames, ", ")),
			dash(strings.Join(s.Versions, ", ")), dash(strings.Join(s.Ciphers, ", ")), dash(subj), s.Conns, s.Established)
	}
	tw.Flush()
}

func (r *Report) writeNotices(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "FINDINGS (%d)\n", len(r.Notices))
	for _, n := range r.Notices {
		where := ""
		switch {
		case n.RespH.IsValid():
			where = fmt.Sprintf("%s -> %s", n.OrigH, netip.AddrPortFrom(n.RespH, n.RespP))
		case n.Dst.IsValid():
			where = fmt.Sprintf("%s -> %s", n.Src, n.Dst)
		case n.Src.IsValid():
			where = n.Src.String()
		}
		count := ""
		if n.N > 1 {
			count = fmt.Sprintf(" (x%d)", n.N)
		}
		fmt.Fprintf(w, "  %s  %-32s %s  %s%s\n", stamp(n.TS.Time), n.Note, where, dash(n.UID), count)
		fmt.Fprintf(w, "      %s\n", n.Msg)
		if len(n.UIDs) > 1 {
			fmt.Fprintf(w, "      connections: %s\n", strings.Join(n.UIDs, " "))
		}
	}
}

func (r *Report) writeConnections(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "CONNECTIONS (%d)\n", len(r.Connections))
	tw := table(w)
	fmt.Fprintln(tw, "  UID\tORIGINATOR\tRESPONDER\tSERVICE\tCLASS\tHOW")
	for _, c := range r.Connections {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", c.UID, c.Orig, c.Resp, dash(c.Service), c.Class, c.How)
	}
	tw.Flush()
}
