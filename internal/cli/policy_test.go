package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	cases := []struct {
		desc     string
		args     []string
		code     int
		out, err string
	}{
		{"valid builtin", []string{"policy", "check", "builtin:baseline"}, 0, "builtin:baseline: 5 rules, valid", ""},
		{"needs are listed", []string{"policy", "check", "builtin:baseline"}, 0, "needs: deny on exec: lsm or fanotify", ""},
		{"bad file: every error with its position", []string{"policy", "check", "../policy/testdata/bad/empty-match.yaml"}, 1, "",
			"../policy/testdata/bad/empty-match.yaml:7:12: rules[1].match: empty match block"},
		{"two bad files at once", []string{"policy", "check", "../policy/testdata/bad/bad-action.yaml", "../policy/testdata/bad/unknown-event.yaml"}, 1, "",
			"unknown-event.yaml:3:12: rules[0].event: unknown event type \"execve\""},
		{"missing file", []string{"policy", "check", "/nonexistent.yaml"}, 1, "", "no such file"},
		{"hooks are listed", []string{"policy", "check", "../dynhook/testdata/resolve.yaml"}, 0, "  hook     log   signals on tracepoint:signal/signal_generate (../dynhook/testdata/resolve.yaml:2)", ""},
		{"hook names are checked against the kernel's BTF", []string{"policy", "check", "../dynhook/testdata/misspelled.yaml"}, 1, "",
			`../dynhook/testdata/misspelled.yaml:3:17: hooks[0].tracepoint: no tracepoint "signal/signal_generat" in this kernel (did you mean signal/signal_generate`},
		{"no file is a usage error", []string{"policy", "check"}, 2, "", "requires at least 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil && strings.Contains(c.desc, "BTF") {
				t.Skipf("no kernel BTF to check hook names against: %v", err)
			}
			var out, errOut bytes.Buffer
			code := Run(context.Background(), c.args, strings.NewReader(""), &out, &errOut)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, errOut.String())
			}
			if !strings.Contains(out.String(), c.out) {
				t.Errorf("stdout lacks %q:\n%s", c.out, out.String())
			}
			if !strings.Contains(errOut.String(), c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, errOut.String())
			}
		})
	}
}
