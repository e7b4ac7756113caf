package cli

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown flag", []string{"monitor", "--bogus"}, "unknown flag: --bogus"},
		{"unknown event type", []string{"monitor", "--events", "exec,bogus"}, `unknown event type "bogus"`},
		{"bad output", []string{"monitor", "--output", "xml"}, `--output "xml": want json, text or none`},
		{"bad ring size", []string{"monitor", "--ring-mb", "3"}, "--ring-mb 3: want a power of two"},
		{"bad duration", []string{"monitor", "--duration", "soon"}, `invalid argument "soon"`},
		{"extra argument", []string{"monitor", "now"}, `unknown command "now"`},
		{"ui beyond loopback", []string{"monitor", "--ui", "0.0.0.0:9465"}, "not a loopback address"},
		{"ui bad address", []string{"monitor", "--ui", "a:b:c"}, `--ui: ui address "a:b:c"`},
		{"tree bad pid", []string{"tree", "--pid", "x"}, `invalid argument "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not say %q", errOut, c.want)
			}
		})
	}
}

func TestHelpIsSuccess(t *testing.T) {
	code, out, _ := run(t, "monitor", "--help")
	if code != 0 || !strings.Contains(out, "--events") {
		t.Fatalf("monitor --help: code %d, output %q", code, out)
	}
}

// TestTreeFromProc: vigil tree without an agent reads /proc; --pid
// narrows it to this test's branch.
func TestTreeFromProc(t *testing.T) {
	code, out, errOut := run(t, "tree", "--pid", strconv.Itoa(os.Getpid()))
	if code != 0 || !strings.Contains(out, strconv.Itoa(os.Getpid())+" ") || !strings.HasPrefix(out, "1 ") {
		t.Fatalf("tree --pid self: code %d, stderr %q, output:\n%s", code, errOut, out)
	}
	if code, _, errOut := run(t, "tree", "--pid", "4294967295"); code != 1 || !strings.Contains(errOut, "no such process") {
		t.Errorf("tree --pid of no process: code %d, stderr %q", code, errOut)
	}
}
