//go:build !unix

package capture

import "os"

func stdin() *os.File { return os.Stdin }
