package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// boundingSet returns the unit's CapabilityBoundingSet in setpriv's
// form: -all,+bpf,+perfmon,...
func boundingSet(t *testing.T) string {
	t.Helper()
	f, err := os.Open("vigil.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		caps, ok := strings.CutPrefix(sc.Text(), "CapabilityBoundingSet=")
		if !ok {
			continue
		}
		set := []string{"-all"}
		for _, c := range strings.Fields(caps) {
			set = append(set, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
		}
		return strings.Join(set, ",")
	}
	t.Fatal("vigil.service has no CapabilityBoundingSet")
	return ""
}

// TestUnitCapabilitiesSuffice runs vigil monitor with exactly the unit's
// capability bounding set and no_new_privs (what systemd applies), and
// checks that it attaches its sensors and reports an exec.
func TestUnitCapabilitiesSuffice(t *testing.T) {
	vmtest.RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed (Debian package util-linux)")
	}
	dir := t.TempDir()
	vigil := filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", vigil, "../cmd/vigil").CombinedOutput(); err != nil {
		t.Fatalf("building vigil: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keep execs coming
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				_ = exec.Command("true").Run()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	out, err := exec.CommandContext(ctx, setpriv, "--bounding-set", boundingSet(t), "--nnp",
		vigil, "monitor", "--events", "exec", "--count", "3", "-o", "json", "--output-file", filepath.Join(dir, "log", "vigil.ndjson")).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("vigil with the unit's capabilities: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var ev struct{ Type string }
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Type != "exec" {
		t.Fatalf("output %q", out)
	}
}
