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
