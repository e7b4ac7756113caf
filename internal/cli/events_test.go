package cli

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestParseTypesAll: --events all selects every kernel event type once,
// the privilege types included; an unknown name is a usage error.
func TestParseTypesAll(t *testing.T) {
	got, err := parseTypes([]string{"exec", "all", "cred"})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]event.Type{event.TypeExec}, slices.DeleteFunc(slices.Clone(event.KernelTypes), func(t event.Type) bool { return t == event.TypeExec })...)
	if !slices.Equal(got, want) {
		t.Errorf("parseTypes = %v, want %v", got, want)
	}
	for _, typ := range []event.Type{event.TypeCred, event.TypePtrace, event.TypeNamespace} {
		if ts, err := parseTypes([]string{string(typ)}); err != nil || !slices.Equal(ts, []event.Type{typ}) {
			t.Errorf("parseTypes(%s) = %v, %v", typ, ts, err)
		}
	}
	if _, err := parseTypes([]string{"creds"}); err == nil {
		t.Error("parseTypes(creds) succeeded")
	}
}

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
