package cli

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestParseTypes: --events takes type names and all, once each, and
// names the choices on a bad one.
func TestParseTypes(t *testing.T) {
	got, err := parseTypes([]string{"mount", " bpf", "mount"})
	if err != nil || !slices.Equal(got, []event.Type{event.TypeMount, event.TypeBPF}) {
		t.Errorf("mount,bpf,mount: %v, %v", got, err)
	}
	got, err = parseTypes([]string{"exec", "all"})
	if err != nil || len(got) != len(event.KernelTypes) || got[0] != event.TypeExec {
		t.Errorf("exec,all: %v, %v; want every kernel type once, exec first", got, err)
	}
	if _, err := parseTypes([]string{"mounts"}); err == nil {
		t.Error("mounts: accepted")
	}
}
