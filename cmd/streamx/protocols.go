package main

import (
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/extractors/ftp"
	"github.com/streamx/streamx/extractors/httpx"
	"github.com/streamx/streamx/extractors/tls"
)

// protocols lists the protocol extractors `extract` runs. Registration is
// explicit here, not in init functions.
func protocols() []extractors.Protocol {
	h := httpx.New()
	// 206 pieces of one object may come on connections that do not
	// overlap in time: keep them until the end of the run (extract closes
	// the protocols that are io.Closers).
	h.HoldRanges = true
	return []extractors.Protocol{ftp.New(), h, tls.New()}
}
