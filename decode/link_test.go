package decode_test

import "github.com/gopacket/gopacket/layers"

func layersLink(n int) layers.LinkType { return layers.LinkType(n) }
