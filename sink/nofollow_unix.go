//go:build unix

package sink

import "syscall"

// oNoFollow makes an open fail on a symlink. os.Root adds it as well; it
// is kept explicit here so every open in this package states it.
const oNoFollow = syscall.O_NOFOLLOW
