package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the hidden --cpuprofile / --memprofile outputs (for
// make bench and for people chasing a slow capture); the returned function
// stops and writes them.
func startProfiles(cpu, mem string) (func(), error) {
	var cpuf *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		cpuf = f
	}
	return func() {
		if cpuf != nil {
			pprof.StopCPUProfile()
			cpuf.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				runtime.GC()
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}, nil
}
