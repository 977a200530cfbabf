package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/flowlog"
	"github.com/streamx/streamx/flowtable"
	"github.com/streamx/streamx/manifest"
)

type flowsCmd struct {
	inputFlags
	JSON    bool `help:"One JSON object per line (Zeek conn.log field names) instead of a table."`
	Events  bool `help:"Print each connection's state changes as they happen (like tcpick), instead of the table at the end."`
	Quiet   bool `short:"q" help:"No closing summary on stderr."`
	Workers int  `default:"0" placeholder:"N" help:"Goroutines sharing the connections, spread by address pair (0: one per CPU core; --events uses one). The output is the same for any N."`
}

func (c *flowsCmd) Help() string {
	return `Examples:
  streamx flows capture.pcap
  streamx flows --json day1.pcap day2.pcap.gz | jq 'select(.conn_state=="REJ")'
  streamx flows --events -f 'port 21' capture.pcapng

Columns: STREAM is tshark's tcp.stream; STATE uses tcpick's words (SYN-SENT,
SYN-RECEIVED, ESTABLISHED, FIN-WAIT, CLOSED, RESET, EXPIRED); ZEEK and
HISTORY are Zeek's conn_state and history letters (upper case: originator);
BYTES are stream bytes each way (> originator to responder), MISSING the
bytes absent from the capture.`
}

type event struct {
	TS     manifest.TS `json:"ts"`
	UID    string      `json:"uid"`
	Stream uint64      `json:"stream"`
	manifest.ConnID
	From string `json:"from"`
	To   string `json:"to"`
}

func (c *flowsCmd) Run(e *env) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	defer out.Flush()
	var recs []flowlog.Record
	enc := json.NewEncoder(out)
	if c.Events {
		live := c.Interface != "" // live: each transition shows as it happens, like tcpick
		cfg.Transition = func(cn *flowtable.Conn, from, to flowtable.State, ts time.Time) {
			if c.JSON {
				enc.Encode(event{TS: manifest.TS{Time: ts}, UID: cn.UID, Stream: cn.Stream,
					ConnID: manifest.ConnID{OrigH: cn.Orig.Addr(), OrigP: cn.Orig.Port(), RespH: cn.Resp.Addr(), RespP: cn.Resp.Port()},
					From:   from.String(), To: to.String()})
			} else {
				fmt.Fprintf(out, "%s  %-7d %-22s > %-22s %s\n", ts.UTC().Format("2006-01-02T15:04:05.000000Z"), cn.Stream, cn.Orig, cn.Resp, to)
			}
			if live {
				out.Flush()
			}
		}
	} else {
		cfg.Workers = c.Workers
		if cfg.Workers <= 0 {
			cfg.Workers = runtime.GOMAXPROCS(0)
		}
		shards := make([][]flowlog.Record, cfg.Workers)
		cfg.Shard = func(i int, _ func() uint64) engine.Hooks {
			return engine.Hooks{Closed: func(s *engine.Session) {
				shards[i] = append(shards[i], flowlog.FromSession(s))
			}}
		}
		cfg.Progress = progress(e)
		sum, runErr := engine.Run(e.ctx, cfg)
		for _, sh := range shards {
			recs = append(recs, sh...)
		}
		return c.print(e, out, enc, recs, sum, runErr)
	}
	cfg.Progress = progress(e)
	sum, runErr := engine.Run(e.ctx, cfg)
	return c.print(e, out, enc, recs, sum, runErr)
}

// print writes the table or the JSON lines (not --events) and the summary.
func (c *flowsCmd) print(e *env, out *bufio.Writer, enc *json.Encoder, recs []flowlog.Record, sum *engine.Summary, runErr error) error {
	if !c.Events {
		// in the order of first packets, numbered as tshark's tcp.stream
		// (each worker's flow table numbers only its own share)
		sort.Slice(recs, func(i, j int) bool { return recs[i].FirstPacket < recs[j].FirstPacket })
		for i := range recs {
			recs[i].Stream = uint64(i)
		}
		if c.JSON {
			for i := range recs {
				if err := enc.Encode(&recs[i]); err != nil {
					return &exitError{exitOutput, err}
				}
			}
		} else if err := flowlog.WriteTable(out, recs); err != nil {
			return &exitError{exitOutput, err}
		}
	}
	if err := out.Flush(); err != nil {
		return &exitError{exitOutput, err}
	}
	if !c.Quiet {
		writeSummary(e.stderr, sum, nil)
	}
	return finish(e, sum, runErr)
}
