//go:build !unix

package sink

// oNoFollow: os.Root already refuses symlinks that leave the root.
const oNoFollow = 0
