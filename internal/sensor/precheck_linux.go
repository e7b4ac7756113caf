package sensor

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/doctor"
)

// precheck refuses a rung cheaply, before its object is loaded, when a
// probe already shows the kernel cannot take it: a helper or map type its
// object uses (doctor.CompatProbes), a tracepoint missing from tracefs,
// or a kind of program the kernel refuses outright.
func precheck(spec *ebpf.CollectionSpec, r rung) error {
	if r.precond != nil {
		if err := r.precond(); err != nil {
			return err
		}
	}
	for _, n := range r.needs {
		if _, err := doctor.Check(n); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	for _, p := range r.progs {
		if err := precheckProg(spec.Programs[p]); err != nil {
			return err
		}
	}
	for _, sec := range r.sections(spec) {
		group, name, err := tracepointName(sec)
		if err != nil {
			continue // not a tracepoint
		}
		ok, err := doctor.PointExists(doctor.Point{Kind: doctor.Tracepoint, Name: group + "/" + name})
		if err != nil {
			return fmt.Errorf("looking for tracepoint %s/%s: %w", group, name, err)
		}
		if !ok {
			return fmt.Errorf("tracepoint %s/%s does not exist in this kernel", group, name)
		}
	}
	return nil
}

// precheckProg refuses fentry/fexit programs when the fentry probe fails.
func precheckProg(ps *ebpf.ProgramSpec) error {
	if ps == nil {
		return errors.New("program not in object")
	}
	if ps.Type != ebpf.Tracing {
		return nil
	}
	switch ps.AttachType {
	case ebpf.AttachTraceFEntry:
		_, err := doctor.Check("fentry")
		return err
	case ebpf.AttachTraceFExit:
		_, err := doctor.Check("fexit")
		return err
	}
	return nil
}
