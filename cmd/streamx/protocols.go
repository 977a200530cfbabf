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
	return []extractors.Protocol{ftp.New(), httpx.New(), tls.New()}
}
