// Command streamx turns packet captures into evidence: it reassembles every
// TCP conversation, tracks each connection's lifecycle and writes out what
// crossed the wire. Run `streamx --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/streamx/streamx/internal/memlimit"
)

// Exit codes, documented in the README and in --help.
const (
	exitOK      = 0 // everything read and written
	exitDamaged = 1 // some input was damaged or unreadable; what could be read was processed and written
	exitUsage   = 2 // bad command line
	exitOutput  = 3 // could not write the output
	exitSignal  = 130
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

type cli struct {
	Flows   flowsCmd   `cmd:"" help:"List every TCP connection, like tcpick or Zeek's conn.log."`
	Follow  followCmd  `cmd:"" help:"Print one conversation, like Wireshark's Follow TCP Stream."`
	Extract extractCmd `cmd:"" help:"Reassemble everything into an output folder: transcripts, flows.jsonl, manifest.jsonl."`
	Report  reportCmd  `cmd:"" help:"Rebuild an output folder's report.html: one self-contained HTML page of everything in it."`
	Grep    grepCmd    `cmd:"" help:"Search the reassembled streams (and with --decoded the carved files) for patterns, like ngrep across segments."`
	analysisCmds
	Version versionCmd `cmd:"" help:"Print the version."`

	MemoryLimit byteSize `default:"96MiB" help:"Soft memory target (Go's GOMEMLIMIT, raised as far as the live data needs: never an out-of-memory error); 0: Go's default, collecting at twice the live heap. GOMEMLIMIT in the environment overrides it."`

	CPUProfile string `hidden:"" name:"cpuprofile" type:"path" help:"Write a CPU profile (pprof) of the run to this file."`
	MemProfile string `hidden:"" name:"memprofile" type:"path" help:"Write a heap profile (pprof) at the end of the run to this file."`
}

const description = `streamx reassembles the TCP conversations in packet captures (pcap, pcapng,
gzip-compressed or not; several files are read as one capture), tracks each
connection's lifecycle and writes out what crossed the wire.

Exit status: 0 clean; 1 some input was damaged (what could be read was
processed and written, the summary says where the damage is); 2 bad usage;
3 the output could not be written; 130 interrupted (output flushed).`

var version = "dev"

type versionCmd struct{}

func (versionCmd) Run(env *env) error {
	fmt.Fprintln(env.stdout, "streamx", version)
	return nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	return runWith(args, os.Stdout, os.Stderr)
}

// runWith runs the command line with the given outputs (tests use it).
func runWith(args []string, stdout, stderr io.Writer) int {
	var c cli
	e := newEnv()
	e.stdout, e.stderr = stdout, stderr
	parser, err := kong.New(&c,
		kong.Name("streamx"),
		kong.Description(description),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, Summary: true}),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
	)
	if err != nil {
		fmt.Fprintln(e.stderr, "streamx:", err)
		return exitUsage
	}
	code := exitOK
	func() {
		defer func() {
			if r := recover(); r != nil {
				if ec, ok := r.(exitPanic); ok {
					code = int(ec)
					return
				}
				panic(r)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			fmt.Fprintln(e.stderr, "streamx:", err)
			if kctx != nil {
				_ = kctx.PrintUsage(true)
			}
			code = exitUsage
			return
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first Ctrl-C the run winds down; a second one
			// kills it the ordinary way.
			<-ctx.Done()
			stop()
		}()
		e.ctx = ctx
		stopProfile, err := startProfiles(c.CPUProfile, c.MemProfile)
		if err != nil {
			fmt.Fprintln(e.stderr, "streamx:", err)
			code = exitUsage
			return
		}
		defer stopProfile()
		defer memlimit.Start(int64(c.MemoryLimit))()
		if err := kctx.Run(e); err != nil {
			fmt.Fprintln(e.stderr, "streamx:", err)
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else {
				code = exitDamaged
			}
		}
	}()
	return code
}

type exitPanic int
