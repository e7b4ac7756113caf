package seccomp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/seccomp/seccomptest"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestRunDenySecondName checks that a deny rule names a file, not a
// string: every other name for a denied file or directory (a hard link,
// a bind mount, a symlink, a name the file gets after vigil started) is
// denied too, for reading and for writing, while an unrelated file still
// opens. Each case runs a real process; the secret must never be read
// or changed.
func TestRunDenySecondName(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	vmtest.RequireRoot(t) // mount --bind
	h := seccomptest.RunHelper(t)
	root := t.TempDir()
	os.Chmod(root, 0o755)
	secretDir, other := filepath.Join(root, "secret"), filepath.Join(root, "other")
	for _, d := range []string{secretDir, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, content string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(other, "secret-file") // denied by --deny
	write(secret, "s3cr3t")
	write(filepath.Join(secretDir, "key"), "k3y") // denied by --deny-prefix
	write(filepath.Join(other, "fine"), "fine")
	later := filepath.Join(other, "later") // denied, does not exist yet

	// Second names, made before the run.
	mustDo(t, os.Link(secret, filepath.Join(other, "hardlink")))
	mustDo(t, os.Symlink(secret, filepath.Join(other, "symlink")))
	mustDo(t, os.Link(filepath.Join(secretDir, "key"), filepath.Join(other, "key-hardlink")))
	bind := filepath.Join(other, "bind")
	mustDo(t, os.Mkdir(bind, 0o755))
	mustDo(t, unix.Mount(secretDir, bind, "", unix.MS_BIND, ""))
	t.Cleanup(func() {
		if err := unix.Unmount(bind, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", bind, err)
		}
	})
	fileBind := filepath.Join(other, "file-bind")
	write(fileBind, "placeholder")
	mustDo(t, unix.Mount(secret, fileBind, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(fileBind, unix.MNT_DETACH) })

	rules := seccomp.Rules{Paths: []seccomp.PathRule{deny(secret, false), deny(later, false), deny(secretDir, true)}}
	tests := []struct {
		desc, script, want string
	}{
		{"an unrelated file", h + " open fine", "ok fine cloexec\n"},
		{"the denied file", h + " open secret-file", "err EACCES\n"},
		{"a hard link", h + " open hardlink", "err EACCES\n"},
		{"a hard link, openat2", h + " openat2 hardlink", "err EACCES\n"},
		{"a symlink", h + " open symlink", "err EACCES\n"},
		{"a bind mount of the file", h + " open file-bind", "err EACCES\n"},
		{"a file in a bind mount of the denied directory", h + " open bind/key", "err EACCES\n"},
		{"the bind mount itself", "ls bind >/dev/null 2>&1; echo $?", "2\n||1\n"},
		{"creating in the bind mount", "(echo x > bind/new) 2>/dev/null; echo $?; test -e " + secretDir + "/new; echo $?", "2\n1\n||1\n1\n"},
		{"truncating through a hard link", "(echo x > hardlink) 2>/dev/null; echo $?; cat " + secret + " 2>/dev/null || echo denied", "2\ndenied\n||1\ndenied\n"},
		{"a path that exists only later", "echo new > made; ln made later; " + h + " open later; " + h + " open made; ln made again; " + h + " open again",
			"err EACCES\nerr EACCES\nerr EACCES\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, code := run(t, rules, other, tt.script)
			if !containsAlt(tt.want, out) || strings.Contains(out, "s3cr3t") || strings.Contains(out, "k3y") {
				t.Errorf("%q printed %q (status %d), want %q", tt.script, out, code, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "s3cr3t\n" {
		t.Errorf("the secret is now %q (%v)", b, err)
	}
	// A hard link to a file below a denied directory, made elsewhere, is
	// a name outside the directory: not caught (docs/run.md).
	if out, _ := run(t, rules, other, h+" open key-hardlink"); out != "ok k3y cloexec\n" {
		t.Errorf("key-hardlink: %q; if this is now denied, update docs/run.md", out)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// containsAlt reports whether got is one of the "||"-separated wants.
func containsAlt(wants, got string) bool {
	for _, w := range strings.Split(wants, "||") {
		if w == got {
			return true
		}
	}
	return false
}

// TestRunDenyIdentityOrder checks that the first matching rule still
// wins: a rule that names the hard link by its own path and comes first
// decides, one that comes after the deny rule does not.
func TestRunDenyIdentityOrder(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "secret", "s3cr3t")
	secret, link := filepath.Join(dir, "secret"), filepath.Join(dir, "link")
	mustDo(t, os.Link(secret, link))
	allow := seccomp.PathRule{Name: "allow-link", Path: link, Action: seccomp.ActionAllow}
	for _, tt := range []struct {
		desc  string
		rules []seccomp.PathRule
		want  string
	}{
		{"allow first", []seccomp.PathRule{allow, deny(secret, false)}, "ok s3cr3t cloexec\n"},
		{"deny first", []seccomp.PathRule{deny(secret, false), allow}, "err EACCES\n"},
	} {
		out, _, _ := runArgs(t, seccomp.Rules{Paths: tt.rules}, dir, h, "open", "link")
		if out != tt.want {
			t.Errorf("%s: got %q, want %q", tt.desc, out, tt.want)
		}
	}
}
