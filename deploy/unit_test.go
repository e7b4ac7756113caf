// Package deploy holds what installs vigil on a host: the systemd unit
// and the example configuration. Its tests check both files.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitVerifies runs systemd-analyze verify on vigil.service, with
// ExecStart pointed at an executable that exists (verify checks it). Any
// warning (an unknown key, a bad value) fails the test.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	unit, err := os.ReadFile("vigil.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(unit), "/usr/local/bin/vigil", self, 1)
	path := filepath.Join(t.TempDir(), "vigil.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score of systemd-analyze security is 3.8 ("OK") today;
	// fail if a change loosens the sandbox past 4.5.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=45", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 4.5 (%v):\n%s", err, out)
	}
}

// TestUnitEssentials guards the settings the service cannot work without.
func TestUnitEssentials(t *testing.T) {
	unit, err := os.ReadFile("vigil.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
		"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH",
		"ProtectSystem=strict", "NoNewPrivileges=yes", "--config /etc/vigil/vigil.yaml",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("vigil.service lacks %q", want)
		}
	}
	for _, bad := range []string{"\nProtectProc=invisible", "\nProcSubset=pid", "@debug\n"} {
		if strings.Contains(string(unit), bad) {
			t.Errorf("vigil.service has %q, which hides what vigil must see", bad)
		}
	}
}
