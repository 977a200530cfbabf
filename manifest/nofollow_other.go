//go:build !unix

package manifest

const oNoFollow = 0
