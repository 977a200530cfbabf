//go:build unix

package capture

import (
	"os"
	"syscall"
)

// stdin returns standard input ready to be interrupted: a pipe is switched
// to non-blocking mode so that the runtime poller waits on it and Close
// (Reader.Interrupt) wakes a blocked read. A terminal or a regular file is
// left alone.
func stdin() *os.File {
	st, err := os.Stdin.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return os.Stdin
	}
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin
	}
	return os.NewFile(0, "/dev/stdin")
}
