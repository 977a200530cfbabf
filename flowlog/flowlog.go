// Package flowlog turns finished connections into records: one JSON line
// each in flows.jsonl (Zeek conn.log field names where Zeek has the field),
// and the table `streamx flows` prints. It owns the record's shape and its
// rendering, nothing else.
package flowlog

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/manifest"
)

// Record is one connection.
type Record struct {
	TS  manifest.TS `json:"ts"`
	UID string      `json:"uid"`
	manifest.ConnID
	Proto       string            `json:"proto"`
	Service     string            `json:"service,omitempty"`
	Duration    manifest.Duration `json:"duration"`
	OrigBytes   int64             `json:"orig_bytes"`
	RespBytes   int64             `json:"resp_bytes"`
	ConnState   string            `json:"conn_state"`
	MissedBytes uint64            `json:"missed_bytes"`
	History     string            `json:"history"`
	OrigPkts    uint64            `json:"orig_pkts"`
	OrigIPBytes uint64            `json:"orig_ip_bytes"`
	RespPkts    uint64            `json:"resp_pkts"`
	RespIPBytes uint64            `json:"resp_ip_bytes"`
	VLAN        uint16            `json:"vlan,omitempty"`
	RespVLAN    uint16            `json:"resp_vlan,omitempty"`

	// streamx's own fields
	Stream         uint64      `json:"stream"` // tshark's tcp.stream
	LastTS         manifest.TS `json:"last_ts"`
	State          string      `json:"state"`
	EndReason      string      `json:"end_reason"`
	OrigBy         string      `json:"orig_by"`
	OrigMidstream  bool        `json:"orig_midstream,omitempty"`
	RespMidstream  bool        `json:"resp_midstream,omitempty"`
	OrigMissed     uint64      `json:"orig_missed_bytes"`
	RespMissed     uint64      `json:"resp_missed_bytes"`
	OrigRetrans    uint64      `json:"orig_retrans"`
	RespRetrans    uint64      `json:"resp_retrans"`
	OrigOutOfOrder uint64      `json:"orig_out_of_order"`
	RespOutOfOrder uint64      `json:"resp_out_of_order"`
	OrigOverlap    uint64      `json:"orig_overlap"`
	RespOverlap    uint64      `json:"resp_overlap"`
	ZeroWindow     uint64      `json:"zero_window"`
	FirstPacket    uint64      `json:"first_packet"`
	Transcript     string      `json:"transcript,omitempty"`
}

// FromSession builds the record of a finished connection.
func FromSession(s *engine.Session) Record {
	c := s.Conn
	o, r := &c.Dirs[0], &c.Dirs[1]
	return Record{
		TS:  manifest.TS{Time: c.First},
		UID: c.UID,
		ConnID: manifest.ConnID{
			OrigH: c.Orig.Addr(), OrigP: c.Orig.Port(),
			RespH: c.Resp.Addr(), RespP: c.Resp.Port(),
		},
		Proto:          "tcp",
		Service:        c.Service,
		Duration:       manifest.Duration(c.Duration()),
		OrigBytes:      s.Delivered[0],
		RespBytes:      s.Delivered[1],
		ConnState:      c.ConnState(),
		MissedBytes:    c.Missing(),
		History:        c.History(),
		OrigPkts:       o.Packets,
		OrigIPBytes:    o.IPBytes,
		RespPkts:       r.Packets,
		RespIPBytes:    r.IPBytes,
		VLAN:           c.VLAN,
		RespVLAN:       c.RespVLAN,
		Stream:         c.Stream,
		LastTS:         manifest.TS{Time: c.Last},
		State:          c.State.String(),
		EndReason:      c.EndReason,
		OrigBy:         c.OrigBy,
		OrigMissed:     o.Missing,
		RespMissed:     r.Missing,
		OrigRetrans:    o.Retrans,
		RespRetrans:    r.Retrans,
		OrigOutOfOrder: o.OutOfOrder,
		RespOutOfOrder: r.OutOfOrder,
		OrigOverlap:    o.Overlap,
		RespOverlap:    r.Overlap,
		ZeroWindow:     o.ZeroWindow + r.ZeroWindow,
		FirstPacket:    c.FirstPacket,
	}
}

// WriteTable prints records as an aligned table for people.
func WriteTable(w io.Writer, recs []Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tFIRST\tDURATION\tORIGINATOR\tRESPONDER\tSERVICE\tSTATE\tZEEK\tHISTORY\tPKTS >\tBYTES >\tPKTS <\tBYTES <\tMISSING")
	for i := range recs {
		r := &recs[i]
		svc := r.Service
		if svc == "" {
			svc = "-"
		}
		vlan := ""
		if r.VLAN != 0 {
			vlan = fmt.Sprintf(" vlan %d", r.VLAN)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n",
			r.Stream, r.TS.UTC().Format("2006-01-02 15:04:05.000000"),
			fmtDur(time.Duration(r.Duration)),
			endpoint(r.OrigH.String(), r.OrigP), endpoint(r.RespH.String(), r.RespP), vlan,
			svc, r.State, r.ConnState, r.History,
			r.OrigPkts, r.OrigBytes, r.RespPkts, r.RespBytes, r.MissedBytes)
	}
	return tw.Flush()
}

func endpoint(h string, p uint16) string {
	if strings.Contains(h, ":") {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.6fs", d.Seconds())
}
