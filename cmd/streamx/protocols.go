package main

import (
	"github.com/streamx/streamx/extractors"
	"github.com/streamx/streamx/extractors/ftp"
	"github.com/streamx/streamx/extractors/httpx"
)

// protocols lists the protocol extractors `extract` runs. Registration is
// explicit here, not in init functions.
func protocols() []extractors.Protocol {
	return []extractors.Protocol{ftp.New(), httpx.New()}
}
