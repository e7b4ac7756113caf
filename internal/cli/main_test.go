package cli

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
)

// The test binary doubles as vigil itself: with VIGIL_CLI_HELPER=1 it runs
// cli.Run on its arguments, so tests can run vigil as another user.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_CLI_HELPER") == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs vigil in-process and returns its exit code and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	code := Run(context.Background(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown flag", []string{"monitor", "--bogus"}, "unknown flag: --bogus"},
		{"unknown event type", []string{"monitor", "--events", "exec,bogus"}, `unknown event type "bogus"`},
		{"bad output", []string{"monitor", "--output", "xml"}, `--output "xml": want json or text`},
		{"bad ring size", []string{"monitor", "--ring-mb", "3"}, "--ring-mb 3: want a power of two"},
		{"bad duration", []string{"monitor", "--duration", "soon"}, `invalid argument "soon"`},
		{"extra argument", []string{"monitor", "now"}, `unknown command "now"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, errOut)
			}
			if !bytes.Contains([]byte(errOut), []byte(c.want)) {
				t.Errorf("stderr %q does not say %q", errOut, c.want)
			}
		})
	}
}

func TestHelpIsSuccess(t *testing.T) {
	code, out, _ := run(t, "monitor", "--help")
	if code != 0 || !bytes.Contains([]byte(out), []byte("--events")) {
		t.Fatalf("monitor --help: code %d, output %q", code, out)
	}
}
