package monitor

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestDefaultTypesModules(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		hasModules bool
		module     bool
	}{
		{"a kernel with modules keeps module events", true, true},
		{"a kernel without modules leaves them to --events", false, false},
	} {
		got, why := defaultTypes(tc.hasModules)
		if slices.Contains(got, event.TypeModule) != tc.module || (why == "") != tc.module {
			t.Errorf("%s: types %v, reason %q", tc.desc, got, why)
		}
		if !slices.Contains(got, event.TypeMprotect) || !slices.Contains(got, event.TypeExec) {
			t.Errorf("%s: types %v lost more than module", tc.desc, got)
		}
	}
	if !slices.Contains(DefaultTypes, event.TypeModule) {
		t.Error("defaultTypes changed DefaultTypes")
	}
}
