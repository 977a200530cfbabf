package main

import "github.com/streamx/streamx/extractors"

// protocols lists the protocol extractors `extract` runs. Registration is
// explicit here, not in init functions.
func protocols() []extractors.Protocol {
	return nil
}
