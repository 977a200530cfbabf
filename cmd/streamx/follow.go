package main

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/streamx/streamx/engine"
	"github.com/streamx/streamx/transcript"
)

type followCmd struct {
	inputFlags
	Stream    int64  `short:"s" default:"-1" help:"The connection to print, by its STREAM number (tshark's tcp.stream, as 'streamx flows' lists it)."`
	Endpoints string `short:"e" placeholder:"A:P,B:P" help:"The connection to print, by its two endpoints in either order, e.g. 10.0.0.1:51234,10.0.0.2:80 or [2001:db8::1]:443,[2001:db8::2]:50000. Every connection on that 4-tuple is printed."`
	Format    string `default:"ascii" enum:"ascii,hex,raw" help:"ascii (non-printable bytes escaped), hex (offset, hex and ASCII), raw (the bytes as sent)."`
	Side      string `default:"both" enum:"both,orig,resp" help:"Print both sides, or only what the originator (orig) or the responder (resp) sent."`
	Color     string `default:"auto" enum:"auto,always,never" help:"Colour the two sides (originator red, responder blue). auto: on a terminal, unless NO_COLOR is set."`
	Binary    string `default:"summary" enum:"summary,full" help:"Binary data in the ascii format: summary (first 64 bytes, then how many more) or full (every byte escaped)."`
	Quiet     bool   `short:"q" help:"No closing summary on stderr."`
}

func (c *followCmd) Help() string {
	return `Examples:
  streamx follow -s 3 capture.pcap
  streamx follow -e 192.0.2.10:51234,198.51.100.7:80 --format hex capture.pcap
  streamx follow -s 0 --format raw --side resp capture.pcap > response.bin`
}

func (c *followCmd) Run(e *env) error {
	if c.Stream < 0 && c.Endpoints == "" {
		return usageErr("follow needs a connection: --stream N (see 'streamx flows') or --endpoints A:P,B:P")
	}
	var a, b netip.AddrPort
	if c.Endpoints != "" {
		parts := strings.Split(c.Endpoints, ",")
		if len(parts) != 2 {
			return usageErr("--endpoints wants two endpoints separated by a comma, got %q", c.Endpoints)
		}
		var err error
		if a, err = netip.ParseAddrPort(strings.TrimSpace(parts[0])); err != nil {
			return usageErr("--endpoints: %v", err)
		}
		if b, err = netip.ParseAddrPort(strings.TrimSpace(parts[1])); err != nil {
			return usageErr("--endpoints: %v", err)
		}
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	format, _ := transcript.ParseFormat(c.Format)
	color := false
	if f, ok := e.stdout.(*os.File); ok && c.Color == "auto" {
		color = e.isTTY(f) && os.Getenv("NO_COLOR") == ""
	}
	if c.Color == "always" {
		color = true
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	found := 0
	cfg.NewHandler = func(s *engine.Session) engine.Handler {
		cn := s.Conn
		if c.Stream >= 0 && cn.Stream != uint64(c.Stream) {
			return nil
		}
		if c.Endpoints != "" && !((cn.Orig == a && cn.Resp == b) || (cn.Orig == b && cn.Resp == a)) {
			return nil
		}
		found++
		r := transcript.New(out, format, color, cn.Orig, cn.Resp)
		r.FullBinary = c.Binary == "full"
		r.Comment("stream %d (%s): %s -> %s", cn.Stream, cn.UID, cn.Orig, cn.Resp)
		return &follower{r: r, side: c.Side}
	}
	sum, runErr := engine.Run(e.ctx, cfg)
	if err := out.Flush(); err != nil {
		return &exitError{exitOutput, err}
	}
	if !c.Quiet {
		writeSummary(e.stderr, sum, nil)
	}
	if found == 0 && runErr == nil {
		if c.Stream >= 0 {
			return &exitError{exitUsage, errorf("no TCP connection with stream number %d carried data (the capture has %d connections, numbered from 0)", c.Stream, sum.Conns)}
		}
		return &exitError{exitUsage, errorf("no TCP connection between %s and %s carried data", a, b)}
	}
	return finish(e, sum, runErr)
}

type follower struct {
	r    *transcript.Renderer
	side string
}

func (f *follower) want(dir int) bool {
	return f.side == "both" || (f.side == "orig" && dir == 0) || (f.side == "resp" && dir == 1)
}

func (f *follower) Data(s *engine.Session, dir int, data []byte, off int64, ts time.Time) {
	if f.want(dir) {
		f.r.Data(dir, data, off, ts)
	}
}

func (f *follower) Gap(s *engine.Session, dir int, off, n int64, ts time.Time) {
	if f.want(dir) {
		f.r.Gap(dir, off, n, ts)
	}
}

func (f *follower) End(s *engine.Session, dir int, reason string, ts time.Time) {
	if f.want(dir) {
		f.r.End(dir, reason, ts)
	}
}

func (f *follower) Close(s *engine.Session) {
	cn := s.Conn
	f.r.Comment("end of stream %d: %s (conn_state %s, history %s); originator sent %d bytes, responder %d; %d missing",
		cn.Stream, cn.State, cn.ConnState(), cn.History(), s.Delivered[0], s.Delivered[1], cn.Missing())
	if f.r.Err != nil {
		s.Fail(f.r.Err)
	}
}
