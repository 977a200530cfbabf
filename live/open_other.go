//go:build !linux

package live

import "errors"

// Open starts capturing on the interface named iface. This build captures
// only on Linux (AF_PACKET); elsewhere, capture with tcpdump -w and read
// the file.
func Open(iface string, o Options) (*Source, error) {
	return nil, errors.New("live capture (-i) needs Linux in this build; capture with tcpdump -w FILE and read FILE")
}
