package cli

import (
	"strings"
	"testing"
)

// TestNumericFlags: bad values of the numeric list flags are usage
// errors naming the value, before anything is loaded.
func TestNumericFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"monitor", "--connect-port", "0"}, `"0" is not a port (1 to 65535)`},
		{[]string{"monitor", "--connect-port", "22,70000"}, `"70000" is not a port (1 to 65535)`},
		{[]string{"monitor", "--open-pid", "12,x"}, `"x" is not a uint32`},
	} {
		code, _, errOut := run(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	var ports []uint16
	f := newPortSlice(&ports)
	if err := f.Set("22, 443"); err != nil || f.String() != "22,443" {
		t.Errorf("ports %v (%q), err %v", ports, f.String(), err)
	}
}
