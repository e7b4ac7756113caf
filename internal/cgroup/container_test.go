package cgroup

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestParseContainer(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name, path      string
		wantID, runtime string // "" for a host cgroup
	}{
		{"root", "/", "", ""},
		{"empty", "", "", ""},
		{"host service", "/system.slice/sshd.service", "", ""},
		{"user session", "/user.slice/user-1000.slice/session-2.scope", "", ""},
		{"docker systemd driver", "/system.slice/docker-" + id + ".scope", id, event.RuntimeDocker},
		{"docker cgroupfs driver", "/docker/" + id, id, event.RuntimeDocker},
		{"docker cgroupfs, systemd inside", "/docker/" + id + "/init.scope", id, event.RuntimeDocker},
		{"docker, short id is not one", "/system.slice/docker-0123456789ab.scope", "", ""},
		{"docker, upper-case hex is not one", "/system.slice/docker-" + strings.ToUpper(id) + ".scope", "", ""},
		{"docker.service itself", "/system.slice/docker.service", "", ""},
		{"cri-containerd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-" + id + ".scope", id, event.RuntimeContainerd},
		{"kubepods cgroupfs", "/kubepods/burstable/pod12345678-aaaa-bbbb-cccc-1234567890ab/" + id, id, event.RuntimeKubepods},
		{"kubepods besteffort, docker scope", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/docker-" + id + ".scope", id, event.RuntimeDocker},
		{"kubepods pod cgroup, no container", "/kubepods/burstable/pod12345678", "", ""},
		{"crio", "/kubepods.slice/kubepods-pod1.slice/crio-" + id + ".scope", id, event.RuntimeCRIO},
		{"crio conmon is the monitor", "/system.slice/crio-conmon-" + id + ".scope", "", ""},
		{"podman", "/machine.slice/libpod-" + id + ".scope", id, event.RuntimePodman},
		{"podman cgroupfs", "/libpod_parent/libpod-" + id, id, event.RuntimePodman},
		{"podman container's own sub-cgroup", "/machine.slice/libpod-" + id + ".scope/container", id, event.RuntimePodman},
		{"podman conmon is the monitor", "/machine.slice/libpod-conmon-" + id + ".scope", "", ""},
		{"nspawn", "/machine.slice/machine-web.scope", "web", event.RuntimeNspawn},
		{"nspawn escaped name", `/machine.slice/machine-my\x2dbox.scope/payload`, "my-box", event.RuntimeNspawn},
		{"libvirt vm is no container", `/machine.slice/machine-qemu\x2d1\x2dvm1.scope`, "", ""},
		{"lxc payload", "/lxc.payload.c1", "c1", event.RuntimeLXC},
		{"lxc payload, inner cgroup", "/lxc.payload.c1/system.slice/cron.service", "c1", event.RuntimeLXC},
		{"lxc monitor", "/lxc.monitor.c1", "", ""},
		{"lxc legacy", "/lxc/c2", "c2", event.RuntimeLXC},
		{"lxc payload dir", "/lxc.payload/c3", "c3", event.RuntimeLXC},
		{"docker in lxc: innermost", "/lxc.payload.c1/docker/" + id, id, event.RuntimeDocker},
		{"trailing slash", "/docker/" + id + "/", id, event.RuntimeDocker},
		{"bad escape kept", `/machine.slice/machine-a\xzz.scope`, `a\xzz`, event.RuntimeNspawn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseContainer(c.path)
			if c.wantID == "" {
				if got != nil {
					t.Fatalf("ParseContainer(%q) = %+v, want host (nil)", c.path, got)
				}
				return
			}
			if got == nil || got.ID != c.wantID || got.Runtime != c.runtime {
				t.Fatalf("ParseContainer(%q) = %+v, want {%s %s}", c.path, got, c.wantID, c.runtime)
			}
		})
	}
}

func FuzzParseContainer(f *testing.F) {
	f.Add("/system.slice/docker-" + strings.Repeat("ab", 32) + ".scope")
	f.Add(`/machine.slice/machine-a\x2`)
	f.Fuzz(func(t *testing.T, p string) {
		if c := ParseContainer(p); c != nil && c.ID == "" {
			t.Fatalf("ParseContainer(%q): container with no id", p)
		}
	})
}
