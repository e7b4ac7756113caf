package runpolicy

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad checks that no input makes Load panic, and that what it
// accepts is valid: absolute clean paths, known actions, and a target
// exactly on redirects. The seeds are the testdata policies; inputs that
// fail are kept under testdata/fuzz/FuzzLoad by go test -fuzz.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/good.yaml", "testdata/bad.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("rules:\n  - {path: /a, action: redirect, target: /b}\n"))
	f.Add([]byte("rules: [[]]\n"))
	f.Add([]byte("rules:\n  - path: !!binary aGVsbG8=\n    action: deny\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		for _, r := range p.Paths {
			if !strings.HasPrefix(r.Path, "/") || (r.Action.String() == "redirect") != (r.Target != "") {
				t.Errorf("accepted a bad rule %+v", r)
			}
		}
		for _, r := range p.Syscalls {
			if r.Action.String() == "redirect" || r.Errno == 0 {
				t.Errorf("accepted a bad syscall rule %+v", r)
			}
		}
	})
}
