package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestKernelPaths checks how in-kernel rules resolve their path and
// path_prefix matchers: found files get the rule's bit, missing ones a
// warning, and the rest an error at the matcher.
func TestKernelPaths(t *testing.T) {
	set := mustLoad(t, "testdata/kernel/paths.yaml")
	plan, err := set.Plan(Available{Kill: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]FileID{"/usr/bin/present": {Dev: 1, Ino: 1}, "/opt/present": {Dev: 1, Ino: 2}, "/": {Dev: 1, Ino: 3}}
	stat := func(p string) (FileID, bool, error) {
		if strings.HasPrefix(p, "/broken") {
			return FileID{}, false, errors.New("permission denied")
		}
		id, ok := ids[p]
		return id, ok, nil
	}
	k, err := set.Kernel(plan, stat)
	for _, tt := range []struct{ desc, want string }{
		{"a path that cannot be resolved, at its matcher",
			"testdata/kernel/paths.yaml:6:13: rules[0].match.path[2]: resolving /broken/file: permission denied"},
		{"a prefix that cannot be resolved, at its matcher",
			"testdata/kernel/paths.yaml:11:20: rules[1].match.path_prefix[2]: resolving /broken/dir: permission denied"},
		{"a prefix that is not a directory",
			`testdata/kernel/paths.yaml:11:20: rules[1].match.path_prefix[3]: kill is matched in the kernel by directory, so its path_prefix must name a directory and end in "/" (got "/no-slash")`},
	} {
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v\nlacks %q", tt.desc, err, tt.want)
		}
	}
	if k != nil {
		t.Fatalf("Kernel returned rules with its errors")
	}
	if got := len(strings.Split(err.Error(), "\n")); got != 3 {
		t.Errorf("got %d errors, want 3:\n%v", got, err)
	}

	// Without the unresolvable paths: bits and warnings.
	ok := func(p string) (FileID, bool, error) { id, ok := ids[p]; return id, ok, nil }
	set.Rules[0].Match.Path = set.Rules[0].Match.Path[:2]
	set.Rules[1].Match.PathPrefix = []string{"/opt/present/", "/opt/missing/", "/"}
	k, err = set.Kernel(plan, ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc string
		got  uint64
		want uint64
	}{
		{"present file", k.Paths[ids["/usr/bin/present"]], 1 << 0},
		{"present directory", k.Dirs[ids["/opt/present"]], 1 << 1},
		{"root directory", k.Dirs[ids["/"]], 1 << 1},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: bits %#x, want %#x", tt.desc, tt.got, tt.want)
		}
	}
	want := []string{
		"rule exec-paths: /usr/bin/missing does not exist; it cannot match until vigil restarts after it is created",
		"rule exec-prefixes: directory /opt/missing does not exist; it cannot match until vigil restarts after it is created",
	}
	if strings.Join(k.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(k.Warnings, "\n"), strings.Join(want, "\n"))
	}
}
