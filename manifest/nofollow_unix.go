//go:build unix

package manifest

import "syscall"

const oNoFollow = syscall.O_NOFOLLOW
