package doctor

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestBTFFieldPoint: btf-field points find struct members, those inside
// anonymous unions too (io_kiocb.cmd), and say no for a missing one.
func TestBTFFieldPoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"task_struct.comm", true},
		{"io_kiocb.cmd", !vmtest.Lacks("io_kiocb.cmd")}, // in an anonymous union, since 6.0
		{"task_struct.no_such_member", false},
		{"no_such_struct_vigil.x", false},
	} {
		got, err := PointExists(Point{BTFField, tc.name, false})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: exists = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := PointExists(Point{BTFField, "nodot", false}); err == nil {
		t.Error("a field name without a dot: no error")
	}
}
