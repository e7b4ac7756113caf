package hooks

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/vigil-sec/vigil/internal/proc"
)

// Collect takes a snapshot of every hook in the running kernel. It reads
// /proc, tracefs, securityfs and sysfs and asks the kernel for BPF
// programs and links; it mounts tracefs or securityfs when they are
// missing and it may. ctx is checked between the stages.
func Collect(ctx context.Context) *Snapshot {
	s := &Snapshot{Taken: time.Now().UTC(), Kernel: proc.Host.KernelRelease(), BPF: []BPFProgram{}, Seccomp: []SeccompProcess{}}
	progs, problems := collectBPF()
	s.Problems = append(s.Problems, problems...)
	if ctx.Err() != nil {
		s.Problems = append(s.Problems, ctx.Err().Error())
		return s
	}
	sc := scanProc(proc.Host)
	s.Problems = append(s.Problems, sc.problems...)
	s.Seccomp = append(s.Seccomp, sc.seccomp...)
	for id, owners := range sc.owners {
		if p := progs[id]; p != nil {
			p.Owners = owners
		}
	}
	for id, where := range sc.perfAttach {
		if p := progs[id]; p != nil {
			p.Attach = mergeAttach(p.Attach, where)
		}
	}
	s.Problems = append(s.Problems, collectPinned(progs)...)
	if progs == nil {
		s.BPF = nil // not checked
	}
	for _, p := range progs {
		s.BPF = append(s.BPF, *p)
	}
	sort.Slice(s.BPF, func(i, j int) bool { return s.BPF[i].ID < s.BPF[j].ID })
	sort.Slice(s.Seccomp, func(i, j int) bool { return s.Seccomp[i].PID < s.Seccomp[j].PID })
	if ctx.Err() != nil {
		s.Problems = append(s.Problems, ctx.Err().Error())
		return s
	}
	collectTracefs(s)
	collectKernel(s)
	return s
}

// mergeAttach adds to have the attach points in more it lacks: a program
// attached through a perf event link shows up both in the link and in
// the perf event fd.
func mergeAttach(have, more []string) []string {
	for _, w := range more {
		if !slices.Contains(have, w) {
			have = append(have, w)
		}
	}
	return have
}
